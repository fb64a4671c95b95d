"""Tests for harness.parse.oops on console excerpts in the kernel's real formats."""

# The console excerpts are verbatim: long lines, and the trailing space printk
# leaves on empty lines ("[   11.833841] ") is part of the format under test.
# ruff: noqa: E501, W291

from __future__ import annotations

from pathlib import Path

import pytest

from harness.parse.oops import (
    HEADERS,
    PREFILTER,
    OopsScanner,
    Report,
    clean_line,
    dedup,
    is_generic_frame,
    is_panic_title,
    normalize_title,
    scan,
    scan_bytes,
    title_aliases,
)

# --------------------------------------------------------------------------
# Console excerpts (x86-64, 6.x).  Line numbers in comments are 1-based.

# The LAM repro BUG_ON with oops=panic (6.12 format: "Oops: " prefix, UID in
# the CPU line), then the executive summary, then the panic.
LAM_BUG_PANIC = """\
[   41.801002] Run /init as init process
[   41.822519] ------------[ cut here ]------------
[   41.822771] kernel BUG at arch/x86/mm/tlb.c:593!
[   41.823087] Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
[   41.823374] CPU: 1 UID: 0 PID: 97 Comm: lam_64 Not tainted 6.12.0-lam-repro #1
[   41.823785] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.3-debian-1.16.3-2 04/01/2014
[   41.824237] RIP: 0010:switch_mm_irqs_off+0x3a5/0x4b0
[   41.824510] Code: 48 8b 45 c8 65 48 8b 15 7f 2b f4 7e 48 39 d0 0f 84 9c fd ff ff 0f 0b 48 89 de 4c 89 f7 e8 <0f> 0b 65 48 8b 05 61 2b f4 7e 48 85 c0 0f 85 25 fe ff ff e9 2c fe ff
[   41.825612] RSP: 0018:ffffb0e3c01b7d78 EFLAGS: 00010002
[   41.825863] RAX: 6000000000000000 RBX: ffff9a1e41a3c000 RCX: 0000000000000000
[   41.826207] RDX: 0000000000000000 RSI: ffff9a1e41a3c000 RDI: ffff9a1e4197e000
[   41.826545] RBP: ffffb0e3c01b7dc8 R08: 0000000000000000 R09: 0000000000000000
[   41.826883] R10: 0000000000000000 R11: 0000000000000000 R12: ffff9a1e4197e000
[   41.827221] R13: 0000000000000001 R14: ffff9a1e41a3c000 R15: 0000000000000000
[   41.827560] FS:  00007f3c0a8e8740(0000) GS:ffff9a1e7bd00000(0000) knlGS:0000000000000000
[   41.827943] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[   41.828213] CR2: 00007f3c0a6d3000 CR3: 6000000001a3c000 CR4: 00000000100006f0
[   41.828555] Call Trace:
[   41.828682]  <TASK>
[   41.828792]  ? die+0x36/0x90
[   41.828955]  ? do_trap+0xda/0x100
[   41.829134]  ? switch_mm_irqs_off+0x3a5/0x4b0
[   41.829361]  ? do_error_trap+0x6a/0x90
[   41.829558]  ? switch_mm_irqs_off+0x3a5/0x4b0
[   41.829785]  ? exc_invalid_op+0x50/0x70
[   41.829986]  ? switch_mm_irqs_off+0x3a5/0x4b0
[   41.830214]  ? asm_exc_invalid_op+0x1a/0x20
[   41.830428]  ? switch_mm_irqs_off+0x3a5/0x4b0
[   41.830655]  __schedule+0x2f1/0xb80
[   41.830838]  schedule+0x27/0xf0
[   41.831011]  do_nanosleep+0x69/0x180
[   41.831195]  hrtimer_nanosleep+0x96/0x170
[   41.831390]  ? __pfx_hrtimer_wakeup+0x10/0x10
[   41.831611]  __x64_sys_clock_nanosleep+0xc4/0x140
[   41.831843]  do_syscall_64+0x82/0x160
[   41.832025]  entry_SYSCALL_64_after_hwframe+0x76/0x7e
[   41.832262] RIP: 0033:0x41a0f5
[   41.832402] Code: 24 08 e8 2d 10 00 00 48 63 d0 48 89 54 24 08 48 83 fa 00 7d 08 48 f7 da b8 ff ff ff ff 64 89 10 48 8b 44 24 08 48 83 c4 10 c3
[   41.833023] RSP: 002b:00007ffc5b7e8cc8 EFLAGS: 00000246 ORIG_RAX: 00000000000000e6
[   41.833354] RAX: ffffffffffffffda RBX: 0000000000000000 RCX: 000000000041a0f5
[   41.833668] RDX: 00007ffc5b7e8ce0 RSI: 0000000000000000 RDI: 0000000000000000
[   41.833981] RBP: 00007ffc5b7e8d10 R08: 0000000000000000 R09: 0000000000000000
[   41.834294] R10: 00007ffc5b7e8ce0 R11: 0000000000000246 R12: 00007ffc5b7e8e48
[   41.834607] R13: 00007ffc5b7e8e58 R14: 00000000004c67f0 R15: 0000000000000001
[   41.834921]  </TASK>
[   41.835034] Modules linked in:
[   41.835181] ---[ end trace 0000000000000000 ]---
[   41.835398] RIP: 0010:switch_mm_irqs_off+0x3a5/0x4b0
[   41.835622] Code: 48 8b 45 c8 65 48 8b 15 7f 2b f4 7e 48 39 d0 0f 84 9c fd ff ff 0f 0b 48 89 de 4c 89 f7 e8 <0f> 0b 65 48 8b 05 61 2b f4 7e 48 85 c0 0f 85 25 fe ff ff e9 2c fe ff
[   41.836502] RSP: 0018:ffffb0e3c01b7d78 EFLAGS: 00010002
[   41.836752] RAX: 6000000000000000 RBX: ffff9a1e41a3c000 RCX: 0000000000000000
[   41.837098] RDX: 0000000000000000 RSI: ffff9a1e41a3c000 RDI: ffff9a1e4197e000
[   41.837436] RBP: ffffb0e3c01b7dc8 R08: 0000000000000000 R09: 0000000000000000
[   41.837774] R10: 0000000000000000 R11: 0000000000000000 R12: ffff9a1e4197e000
[   41.838112] R13: 0000000000000001 R14: ffff9a1e41a3c000 R15: 0000000000000000
[   41.838450] FS:  00007f3c0a8e8740(0000) GS:ffff9a1e7bd00000(0000) knlGS:0000000000000000
[   41.838835] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[   41.839104] CR2: 00007f3c0a6d3000 CR3: 6000000001a3c000 CR4: 00000000100006f0
[   41.839447] Kernel panic - not syncing: Fatal exception
[   41.839842] Kernel Offset: 0x1c00000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
[   41.840401] ---[ end Kernel panic - not syncing: Fatal exception ]---
"""
LAM_CUT_HERE = 2
LAM_BUG = 3
LAM_END_TRACE = 47
LAM_PANIC = 59
LAM_END_PANIC = 61

# echo c > /proc/sysrq-trigger on Debian's 6.12 cloud kernel.
SYSRQ_CRASH = """\
[   23.101734] sysrq: Trigger a crash
[   23.102031] Kernel panic - not syncing: sysrq triggered crash
[   23.102412] CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.9+bpo-cloud-amd64 #1  Debian 6.12.9-1~bpo12+1
[   23.102951] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.3-debian-1.16.3-2 04/01/2014
[   23.103436] Call Trace:
[   23.103571]  <TASK>
[   23.103688]  dump_stack_lvl+0x5d/0x80
[   23.103883]  panic+0x118/0x2f0
[   23.104051]  sysrq_handle_crash+0x1a/0x20
[   23.104259]  __handle_sysrq.cold+0x9b/0x102
[   23.104470]  write_sysrq_trigger+0x59/0x70
[   23.104678]  proc_reg_write+0x59/0xa0
[   23.104871]  vfs_write+0xf9/0x440
[   23.105046]  ksys_write+0x6d/0xf0
[   23.105221]  do_syscall_64+0x82/0x190
[   23.105413]  entry_SYSCALL_64_after_hwframe+0x76/0x7e
[   23.105664] RIP: 0033:0x7f6a1c6d4a37
[   23.105846] Code: 10 00 f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 f3 0f 1e fa 64 8b 04 25 18 00 00 00 85 c0 75 10 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 51 c3 48 83 ec 28 48 89 54 24 18 48 89 74 24
[   23.106756] RSP: 002b:00007ffd0c8b2d78 EFLAGS: 00000246 ORIG_RAX: 0000000000000001
[   23.107115] RAX: ffffffffffffffda RBX: 0000000000000002 RCX: 00007f6a1c6d4a37
[   23.107456] RDX: 0000000000000002 RSI: 000055d3d8a1e2a0 RDI: 0000000000000001
[   23.107797] RBP: 000055d3d8a1e2a0 R08: 0000000000000000 R09: 0000000000000000
[   23.108138] R10: 0000000000000000 R11: 0000000000000246 R12: 0000000000000002
[   23.108479] R13: 00007f6a1c7b1780 R14: 0000000000000002 R15: 00007f6a1c7ac9e0
[   23.108820]  </TASK>
[   23.108937] Kernel Offset: 0x2a400000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
[   23.109499] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---
"""

# echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT (6.6, printk caller ids).
WARNING_LKDTM = """\
[   15.002184][   T88] lkdtm: Performing direct entry WARNING
[   15.002691][   T88] ------------[ cut here ]------------
[   15.003015][   T88] WARNING: CPU: 1 PID: 88 at drivers/misc/lkdtm/bugs.c:111 lkdtm_WARNING+0x21/0x30
[   15.003530][   T88] Modules linked in:
[   15.003747][   T88] CPU: 1 PID: 88 Comm: sh Not tainted 6.6.58 #1
[   15.004090][   T88] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.3-debian-1.16.3-2 04/01/2014
[   15.004598][   T88] RIP: 0010:lkdtm_WARNING+0x21/0x30
[   15.004881][   T88] Code: 0f 1f 44 00 00 c3 cc cc cc cc 66 0f 1f 44 00 00 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 f3 0f 1e fa 0f 1f 44 00 00 <0f> 0b c3 cc cc cc cc 66 0f 1f 44 00 00 90 90 90 90 90 90 90 90 90
[   15.005786][   T88] RSP: 0018:ffffc900001efe28 EFLAGS: 00010246
[   15.006070][   T88] RAX: 0000000000000000 RBX: ffffffff82a7a420 RCX: 0000000000000000
[   15.006450][   T88] RDX: 0000000000000000 RSI: 0000000000000000 RDI: ffffffff82a7a420
[   15.006830][   T88] RBP: 0000000000000008 R08: 0000000000000000 R09: 0000000000000000
[   15.007210][   T88] R10: 0000000000000000 R11: 0000000000000000 R12: ffff888102d53000
[   15.007590][   T88] R13: ffffc900001eff08 R14: 0000000000000008 R15: 0000000000000000
[   15.007970][   T88] FS:  00007f1b2c3f2740(0000) GS:ffff88813bd00000(0000) knlGS:0000000000000000
[   15.008396][   T88] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[   15.008697][   T88] CR2: 000055d3d8a1f000 CR3: 0000000102e44000 CR4: 00000000000006e0
[   15.009076][   T88] Call Trace:
[   15.009231][   T88]  <TASK>
[   15.009362][   T88]  ? __warn+0x81/0x130
[   15.009567][   T88]  ? lkdtm_WARNING+0x21/0x30
[   15.009793][   T88]  ? report_bug+0x171/0x1a0
[   15.010014][   T88]  ? handle_bug+0x3c/0x80
[   15.010227][   T88]  ? exc_invalid_op+0x17/0x70
[   15.010454][   T88]  ? asm_exc_invalid_op+0x1a/0x20
[   15.010701][   T88]  ? lkdtm_WARNING+0x21/0x30
[   15.010925][   T88]  lkdtm_do_action+0x15/0x30
[   15.011152][   T88]  direct_entry+0x9b/0xe0
[   15.011365][   T88]  full_proxy_write+0x54/0x80
[   15.011593][   T88]  vfs_write+0xf9/0x440
[   15.011797][   T88]  ksys_write+0x6d/0xf0
[   15.012001][   T88]  do_syscall_64+0x5d/0x90
[   15.012219][   T88]  entry_SYSCALL_64_after_hwframe+0x6e/0xd8
[   15.012506][   T88] RIP: 0033:0x7f1b2c4f9a37
[   15.012727][   T88] RSP: 002b:00007ffd0c8b2d78 EFLAGS: 00000246 ORIG_RAX: 0000000000000001
[   15.013119][   T88]  </TASK>
[   15.013252][   T88] ---[ end trace 0000000000000000 ]---
[   15.013560][   T88] lkdtm: Performing direct entry WARNING done
"""

# echo ACCESS_NULL > .../provoke-crash/DIRECT (6.6, no timestamps: printk.time=0).
NULL_DEREF = """\
lkdtm: Performing direct entry ACCESS_NULL
lkdtm: attempting bad read at 0000000000000000
BUG: kernel NULL pointer dereference, address: 0000000000000000
#PF: supervisor read access in kernel mode
#PF: error_code(0x0000) - not-present page
PGD 0 P4D 0
Oops: 0000 [#1] PREEMPT SMP NOPTI
CPU: 0 PID: 85 Comm: sh Not tainted 6.6.58 #1
Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.3-debian-1.16.3-2 04/01/2014
RIP: 0010:lkdtm_ACCESS_NULL+0x1e/0x40
Code: 00 00 00 00 66 0f 1f 44 00 00 f3 0f 1e fa 0f 1f 44 00 00 48 c7 c6 00 00 00 00 48 c7 c7 e8 86 0a 82 e8 5e 3b 8c ff 31 c0 <48> 8b 34 25 00 00 00 00 48 c7 c7 08 87 0a 82 e9 48 3b 8c ff 66 0f
RSP: 0018:ffffc900001e7e18 EFLAGS: 00010246
RAX: 0000000000000000 RBX: ffffffff82a7a540 RCX: 0000000000000000
RDX: 0000000000000000 RSI: 0000000000000000 RDI: 0000000000000000
RBP: 000000000000000c R08: 0000000000000000 R09: 0000000000000000
R10: 0000000000000000 R11: 0000000000000000 R12: ffff888102d52000
R13: ffffc900001e7f08 R14: 000000000000000c R15: 0000000000000000
FS:  00007f0c6f0b8740(0000) GS:ffff88813bc00000(0000) knlGS:0000000000000000
CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
CR2: 0000000000000000 CR3: 0000000102e36000 CR4: 00000000000006f0
Call Trace:
 <TASK>
 ? __die+0x1f/0x70
 ? page_fault_oops+0x171/0x4e0
 ? exc_page_fault+0x7a/0x180
 ? asm_exc_page_fault+0x26/0x30
 ? lkdtm_ACCESS_NULL+0x1e/0x40
 lkdtm_do_action+0x15/0x30
 direct_entry+0x9b/0xe0
 full_proxy_write+0x54/0x80
 vfs_write+0xf9/0x440
 ksys_write+0x6d/0xf0
 do_syscall_64+0x5d/0x90
 entry_SYSCALL_64_after_hwframe+0x6e/0xd8
RIP: 0033:0x7f0c6f1bfa37
RSP: 002b:00007ffd7a5b6d98 EFLAGS: 00000246 ORIG_RAX: 0000000000000001
 </TASK>
Modules linked in:
CR2: 0000000000000000
---[ end trace 0000000000000000 ]---
RIP: 0010:lkdtm_ACCESS_NULL+0x1e/0x40
RSP: 0018:ffffc900001e7e18 EFLAGS: 00010246
note: sh[85] exited with irqs disabled
"""
NULL_HEADER = 3
NULL_END = 40

# KASAN KUnit test kmalloc_oob_right (6.12), with the blank lines KASAN prints.
KASAN_OOB = """\
[   11.830514]     # Subtest: kasan
[   11.832093] ==================================================================
[   11.832731] BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x6be/0x7b0
[   11.833277] Write of size 1 at addr ffff888103e1b173 by task kunit_try_catch/184
[   11.833841] 
[   11.833967] CPU: 0 UID: 0 PID: 184 Comm: kunit_try_catch Tainted: G    B            N 6.12.0 #1
[   11.834590] Tainted: [B]=BAD_PAGE, [N]=TEST
[   11.834902] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.3-debian-1.16.3-2 04/01/2014
[   11.835601] Call Trace:
[   11.835760]  <TASK>
[   11.835893]  dump_stack_lvl+0x5d/0x80
[   11.836126]  print_report+0x174/0x505
[   11.836356]  ? __virt_addr_valid+0x1fb/0x3a0
[   11.836622]  ? kmalloc_oob_right+0x6be/0x7b0
[   11.836888]  kasan_report+0xc8/0x100
[   11.837113]  ? kmalloc_oob_right+0x6be/0x7b0
[   11.837379]  kmalloc_oob_right+0x6be/0x7b0
[   11.837637]  ? __pfx_kmalloc_oob_right+0x10/0x10
[   11.837921]  kunit_try_run_case+0x1b3/0x490
[   11.838181]  kunit_generic_run_threadfn_adapter+0x7d/0xe0
[   11.838512]  kthread+0x2d2/0x3a0
[   11.838718]  ret_from_fork+0x34/0x70
[   11.838940]  ret_from_fork_asm+0x1a/0x30
[   11.839177]  </TASK>
[   11.839311] 
[   11.839421] Allocated by task 184:
[   11.839630]  kasan_save_stack+0x30/0x50
[   11.839862]  kasan_save_track+0x14/0x30
[   11.840093]  __kasan_kmalloc+0x8f/0xa0
[   11.840321]  kmalloc_oob_right+0xa8/0x7b0
[   11.840563]  kunit_try_run_case+0x1b3/0x490
[   11.840812]  kthread+0x2d2/0x3a0
[   11.841015]  ret_from_fork+0x34/0x70
[   11.841234]  ret_from_fork_asm+0x1a/0x30
[   11.841467] 
[   11.841577] The buggy address belongs to the object at ffff888103e1b100
[   11.841577]  which belongs to the cache kmalloc-128 of size 128
[   11.842585] The buggy address is located 0 bytes to the right of
[   11.842585]  allocated 115-byte region [ffff888103e1b100, ffff888103e1b173)
[   11.843667] 
[   11.843777] The buggy address belongs to the physical page:
[   11.844156] page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x103e1b
[   11.844702] flags: 0x200000000000000(node=0|zone=2)
[   11.845021] page_type: f5(slab)
[   11.845233] raw: 0200000000000000 ffff888100042a00 dead000000000122 0000000000000000
[   11.845752] raw: 0000000000000000 0000000080100010 00000001f5000000 0000000000000000
[   11.846271] page dumped because: kasan: bad access detected
[   11.846640] 
[   11.846750] Memory state around the buggy address:
[   11.847059]  ffff888103e1b000: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 fc
[   11.847559]  ffff888103e1b080: fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc
[   11.848059] >ffff888103e1b100: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 fc
[   11.848557]                                                              ^
[   11.849025]  ffff888103e1b180: fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc
[   11.849525]  ffff888103e1b200: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 fc
[   11.850024] ==================================================================
[   11.850702]     ok 1 kmalloc_oob_right
"""
KASAN_OPEN_RULER = 2
KASAN_HEADER = 3
KASAN_CLOSE_RULER = 56

SEGFAULTS = """\
[   20.123456] lam_64[97]: segfault at 7f3c0a6d3000 ip 0000000000401d2e sp 00007ffc5b7e8d40 error 6 in lam_64[1d2e,401000+95000] likely on CPU 1 (core 1, socket 0)
[   20.123789] Code: 48 89 c7 e8 5b fd ff ff 48 8b 45 e8 48 89 c7 e8 2f ff ff ff 90 c9 c3 55 48 89 e5 48 83 ec 20 89 7d ec 48 89 75 e0 <c6> 00 01 b8 00 00 00 00 c9 c3 55 48 89 e5 48 83 ec 30 89 7d dc 48
[   20.130011] traps: lam_64[98] general protection fault ip:401d40 sp:7ffc5b7e8d40 error:0 in lam_64[1d40,401000+95000]
[   20.131001] traps: lam_64[99] trap invalid opcode ip:401d52 sp:7ffc5b7e8d40 error:0 in lam_64[1d52,401000+95000]
[   20.132002] ODEBUG: Out of memory. ODEBUG disabled
[   20.133003] INFO: lockdep is turned off.
[   20.134004] RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!
[   20.135005] Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 BHB attacks!
[   20.136006] ACPI BIOS Error (bug): Could not resolve symbol [\\_SB.PCI0.S08.PCI0], AE_NOT_FOUND (20240827/dswload2-162)
[   20.137007] [Firmware Bug]: TSC_DEADLINE disabled due to Errata; please update microcode to version: 0x3a (or later)
"""


def _lines(text: str) -> list[str]:
    return text.splitlines()


# --------------------------------------------------------------------------
# The LAM repro: kernel BUG + Oops, then the panic


def test_kernel_bug_then_panic() -> None:
    reports = scan(LAM_BUG_PANIC)
    assert [r.kind for r in reports] == ["kernel BUG", "panic"]
    bug, panic = reports

    assert bug.title == "kernel BUG in switch_mm_irqs_off"
    assert bug.header == "kernel BUG at arch/x86/mm/tlb.c:593!"
    assert bug.first_line == LAM_BUG
    assert bug.start_line == LAM_CUT_HERE
    assert bug.last_line == LAM_END_TRACE
    assert bug.lines[0].endswith("------------[ cut here ]------------")
    header = bug.lines[bug.first_line - bug.start_line]
    assert header.endswith("kernel BUG at arch/x86/mm/tlb.c:593!")
    assert "Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI" in bug.text
    assert bug.lines[-1].endswith("---[ end trace 0000000000000000 ]---")
    assert len(bug.lines) == bug.last_line - bug.start_line + 1
    assert bug.guilty_frame == "switch_mm_irqs_off"
    assert not bug.corrupted
    assert bug.end_reason == "end marker"
    assert bug.text == "\n".join(_lines(LAM_BUG_PANIC)[LAM_CUT_HERE - 1 : LAM_END_TRACE]) + "\n"

    # the executive summary after "end trace" is in no report
    assert panic.title == "kernel panic: Fatal exception"
    assert panic.header == "Kernel panic - not syncing: Fatal exception"
    assert panic.first_line == panic.start_line == LAM_PANIC
    assert panic.last_line == LAM_END_PANIC
    assert panic.lines[-1].endswith("---[ end Kernel panic - not syncing: Fatal exception ]---")
    assert not panic.corrupted
    assert panic.guilty_frame is None  # after an oops, panic() prints no stack


def test_reports_are_returned_by_the_line_that_completes_them() -> None:
    scanner = OopsScanner()
    seen: list[tuple[int, str]] = []
    for line in _lines(LAM_BUG_PANIC):
        for r in scanner.feed(line):
            seen.append((scanner.lineno, r.kind))
        if scanner.lineno == LAM_BUG:
            assert scanner.in_report
        if scanner.lineno == LAM_END_TRACE + 1:
            assert not scanner.in_report  # the executive summary starts no report
    assert seen == [(LAM_END_TRACE, "kernel BUG"), (LAM_END_PANIC, "panic")]
    assert scanner.flush() == []
    assert scanner.lineno == len(_lines(LAM_BUG_PANIC))


def test_pre_610_oops_line_without_prefix() -> None:
    text = LAM_BUG_PANIC.replace("Oops: invalid opcode:", "invalid opcode:")
    reports = scan(text)
    assert [(r.kind, r.first_line, r.last_line) for r in reports] == [
        ("kernel BUG", LAM_BUG, LAM_END_TRACE),
        ("panic", LAM_PANIC, LAM_END_PANIC),
    ]


def test_panic_without_end_marker_is_not_corrupted() -> None:
    # panic=-1 reboots right after the notifiers: no "---[ end Kernel panic" line
    text = "\n".join(_lines(LAM_BUG_PANIC)[: LAM_END_PANIC - 1]) + "\n"
    bug, panic = scan(text)
    assert panic.last_line == LAM_END_PANIC - 1
    assert panic.lines[-1].endswith("(relocation range: 0xffffffff80000000-0xffffffffbfffffff)")
    assert not panic.corrupted
    assert panic.end_reason == "panic end"


def test_panic_ends_after_kernel_offset_when_the_machine_reboots() -> None:
    head = _lines(LAM_BUG_PANIC)[: LAM_END_PANIC - 1]
    reboot = ["SeaBIOS (version 1.16.3-debian-1.16.3-2)", "Booting from ROM..."]
    scanner = OopsScanner()
    got: list[Report] = []
    for line in head + reboot:
        got += scanner.feed(line)
    assert [r.kind for r in got] == ["kernel BUG", "panic"]
    assert got[1].last_line == LAM_END_PANIC - 1
    assert not scanner.in_report


def test_max_report_lines_truncates_and_drops_the_rest() -> None:
    scanner = OopsScanner(max_report_lines=10)
    got: list[Report] = []
    for line in _lines(LAM_BUG_PANIC):
        got += scanner.feed(line)
    got += scanner.flush()
    assert [r.kind for r in got] == ["kernel BUG", "panic"]
    bug = got[0]
    assert len(bug.lines) == 10
    assert (bug.start_line, bug.first_line, bug.last_line) == (LAM_CUT_HERE, LAM_BUG, 11)
    assert bug.end_reason == "max lines"
    assert bug.guilty_frame == "switch_mm_irqs_off"  # the RIP line was within the limit


# --------------------------------------------------------------------------
# Other report types


def test_sysrq_crash() -> None:
    (panic,) = scan(SYSRQ_CRASH)
    assert panic.kind == "panic"
    assert panic.title == "kernel panic: sysrq triggered crash"
    assert (panic.first_line, panic.last_line) == (2, 27)
    assert panic.lines[0].endswith("Kernel panic - not syncing: sysrq triggered crash")
    assert "sysrq: Trigger a crash" not in panic.text
    assert panic.guilty_frame == "sysrq_handle_crash"
    assert not panic.corrupted


def test_warning_with_cut_here_and_caller_ids() -> None:
    (warn,) = scan(WARNING_LKDTM)
    assert warn.kind == "WARNING"
    assert warn.title == "WARNING in lkdtm_WARNING"
    assert warn.context == "T88"
    assert (warn.start_line, warn.first_line, warn.last_line) == (2, 3, 37)
    assert "[ cut here ]" in warn.lines[0]
    assert warn.lines[-1].endswith("---[ end trace 0000000000000000 ]---")
    assert warn.guilty_frame == "lkdtm_WARNING"
    assert "Performing direct entry" not in warn.text


def test_warn_message_between_cut_here_and_header_is_kept() -> None:
    text = """\
------------[ cut here ]------------
ODEBUG: free active (active state 0) object: ffff888104a5c0a0 object type: timer_list hint: foo_timer_fn+0x0/0x20
WARNING: CPU: 0 PID: 1 at lib/debugobjects.c:514 debug_print_object+0x93/0xc0
Modules linked in:
CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.6.58 #1
RIP: 0010:debug_print_object+0x93/0xc0
Call Trace:
 <TASK>
 ? __warn+0x81/0x130
 ? debug_print_object+0x93/0xc0
 debug_check_no_obj_freed+0x1f5/0x220
 kfree+0xd1/0x180
 foo_release+0x2a/0x40
 </TASK>
---[ end trace 0000000000000000 ]---
"""
    (warn,) = scan(text)
    assert warn.title == "WARNING: ODEBUG bug in foo_release"
    assert warn.guilty_frame == "foo_release"
    assert (warn.start_line, warn.first_line, warn.last_line) == (1, 3, 15)
    assert "ODEBUG: free active" in warn.lines[1]


def test_null_pointer_dereference() -> None:
    (bug,) = scan(NULL_DEREF)
    assert bug.kind == "BUG"
    assert bug.title == "BUG: unable to handle kernel NULL pointer dereference in lkdtm_ACCESS_NULL"
    assert bug.header == "BUG: kernel NULL pointer dereference, address: 0000000000000000"
    assert (bug.start_line, bug.first_line, bug.last_line) == (NULL_HEADER, NULL_HEADER, NULL_END)
    assert "#PF: supervisor read access in kernel mode" in bug.text
    assert "Oops: 0000 [#1] PREEMPT SMP NOPTI" in bug.text  # the die() line continues it
    assert bug.guilty_frame == "lkdtm_ACCESS_NULL"
    assert bug.end_reason == "end marker"
    assert "note: sh[85]" not in bug.text


def test_kasan_slab_out_of_bounds() -> None:
    (kasan,) = scan(KASAN_OOB)
    assert kasan.kind == "KASAN"
    assert kasan.title == "KASAN: slab-out-of-bounds Write in kmalloc_oob_right"
    assert kasan.header == "BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x6be/0x7b0"
    assert kasan.start_line == KASAN_OPEN_RULER
    assert kasan.first_line == KASAN_HEADER
    assert kasan.last_line == KASAN_CLOSE_RULER  # not the </TASK> of its stack dump
    assert kasan.lines[0].endswith("=" * 66)
    assert kasan.lines[-1].endswith("=" * 66)
    assert kasan.end_reason == "ruler"
    assert kasan.guilty_frame == "kmalloc_oob_right"
    assert kasan.signature == kasan.title


def test_user_space_faults_and_boot_notices_are_not_reports() -> None:
    scanner = OopsScanner()
    for line in _lines(SEGFAULTS):
        assert scanner.feed(line) == []
        assert not scanner.in_report
    assert scanner.flush() == []


def test_look_alike_user_lines_are_not_reports() -> None:
    text = """\
Oops: something went wrong, retrying
general protection fault handler test: skipped
WARNING
BUG
"""
    assert scan(text) == []


def test_truncated_report_is_corrupted() -> None:
    cut = _lines(NULL_DEREF)[:30]  # the stream stops in the middle of the call trace
    scanner = OopsScanner()
    for line in cut:
        assert scanner.feed(line) == []
    assert scanner.in_report
    (bug,) = scanner.flush()
    assert bug.corrupted
    assert bug.end_reason == "eof"
    assert (bug.first_line, bug.last_line) == (NULL_HEADER, 30)
    assert bug.guilty_frame == "lkdtm_ACCESS_NULL"
    assert not scanner.in_report
    assert scanner.flush() == []


def test_lockdep_report_ends_at_its_stack_dump() -> None:
    text = """\
[   30.101010] 
[   30.101100] ======================================================
[   30.101200] WARNING: possible circular locking dependency detected
[   30.101300] 6.6.58 #1 Not tainted
[   30.101400] ------------------------------------------------------
[   30.101500] kworker/0:1/12 is trying to acquire lock:
[   30.101600] ffff888103a4c0b8 (&dev->lock){+.+.}-{3:3}, at: foo_work+0x2c/0x90
[   30.101700] 
[   30.101800] but task is already holding lock:
[   30.101900] ffff888103a4c0f0 (&dev->mutex){+.+.}-{3:3}, at: foo_work+0x18/0x90
[   30.102000] 
[   30.102100] which lock already depends on the new lock.
[   30.102200] 
[   30.102300]  *** DEADLOCK ***
[   30.102400] 
[   30.102500] stack backtrace:
[   30.102600] CPU: 0 PID: 12 Comm: kworker/0:1 Not tainted 6.6.58 #1
[   30.102700] Call Trace:
[   30.102800]  <TASK>
[   30.102900]  dump_stack_lvl+0x4b/0x80
[   30.103000]  check_noncircular+0x13a/0x150
[   30.103100]  __lock_acquire+0x14a3/0x2460
[   30.103200]  lock_acquire+0xc4/0x2b0
[   30.103300]  __mutex_lock+0x95/0x920
[   30.103400]  foo_work+0x2c/0x90
[   30.103500]  process_one_work+0x1e1/0x4f0
[   30.103600]  </TASK>
[   30.103700] foo: done
"""
    (rep,) = scan(text)
    assert rep.kind == "lockdep"
    assert rep.title == "possible deadlock in foo_work"
    assert (rep.start_line, rep.first_line, rep.last_line) == (2, 3, 27)
    assert rep.end_reason == "stack end"
    assert rep.guilty_frame == "foo_work"


def test_hung_task() -> None:
    text = """\
[  246.012345] INFO: task sh:85 blocked for more than 122 seconds.
[  246.012789]       Not tainted 6.12.0 #1
[  246.013001] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
[  246.013345] task:sh              state:D stack:0     pid:85    tgid:85    ppid:1      flags:0x00004002
[  246.013789] Call Trace:
[  246.013901]  <TASK>
[  246.014001]  __schedule+0x3f1/0xb80
[  246.014101]  schedule+0x27/0xf0
[  246.014201]  schedule_preempt_disabled+0x15/0x30
[  246.014301]  __mutex_lock.constprop.0+0x3d0/0x6f0
[  246.014401]  lkdtm_HUNG_TASK+0x1c/0x30
[  246.014501]  lkdtm_do_action+0x15/0x30
[  246.014601]  </TASK>
[  246.014701] Showing all locks held in the system:
"""
    (rep,) = scan(text)
    assert rep.kind == "hung task"
    assert rep.title == "INFO: task hung in lkdtm_HUNG_TASK"
    assert (rep.first_line, rep.last_line) == (1, 13)
    assert rep.guilty_frame == "lkdtm_HUNG_TASK"
    assert rep.end_reason == "stack end"


def test_ubsan_with_rulers() -> None:
    text = """\
[    3.510001] ================================================================================
[    3.510102] UBSAN: array-index-out-of-bounds in drivers/misc/lkdtm/bugs.c:401:16
[    3.510203] index 8 is out of range for type 'char [8]'
[    3.510304] CPU: 1 PID: 88 Comm: sh Not tainted 6.1.112 #1
[    3.510405] Call Trace:
[    3.510506]  <TASK>
[    3.510607]  dump_stack_lvl+0x44/0x5c
[    3.510708]  ubsan_epilogue+0x5/0x40
[    3.510809]  __ubsan_handle_out_of_bounds.cold+0x44/0x49
[    3.510910]  lkdtm_ARRAY_BOUNDS+0x1a8/0x1e0
[    3.511011]  </TASK>
[    3.511112] ================================================================================
"""
    (rep,) = scan(text)
    assert rep.kind == "UBSAN"
    assert rep.title == "UBSAN: array-index-out-of-bounds in lkdtm_ARRAY_BOUNDS"
    assert (rep.start_line, rep.first_line, rep.last_line) == (1, 2, 12)
    assert rep.guilty_frame == "lkdtm_ARRAY_BOUNDS"


def test_soft_lockup_then_panic() -> None:
    text = """\
[   52.100001] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [sh:85]
[   52.100102] Modules linked in:
[   52.100203] CPU: 1 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
[   52.100304] RIP: 0010:lkdtm_SOFTLOCKUP+0x8/0x10
[   52.100405] Call Trace:
[   52.100506]  <IRQ>
[   52.100607]  ? watchdog_timer_fn+0x21b/0x2a0
[   52.100708]  </IRQ>
[   52.100809]  <TASK>
[   52.100910]  lkdtm_do_action+0x15/0x30
[   52.101011]  </TASK>
[   52.101112] Kernel panic - not syncing: softlockup: hung tasks
[   52.101213] CPU: 1 UID: 0 PID: 85 Comm: sh Tainted: G             L     6.12.0 #1
[   52.101314] Kernel Offset: disabled
[   52.101415] ---[ end Kernel panic - not syncing: softlockup: hung tasks ]---
"""
    lockup, panic = scan(text)
    assert lockup.kind == "soft lockup"
    assert lockup.title == "BUG: soft lockup in lkdtm_SOFTLOCKUP"
    assert (lockup.first_line, lockup.last_line) == (1, 11)
    assert lockup.guilty_frame == "lkdtm_SOFTLOCKUP"
    assert (panic.kind, panic.first_line, panic.last_line) == ("panic", 12, 15)


def test_rcu_stall() -> None:
    text = """\
[   80.000001] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[   80.000102] rcu: 	1-...!: (1 GPs behind) idle=8e4c/1/0x4000000000000000 softirq=2012/2013 fqs=0
[   80.000203] rcu: 	(detected by 0, t=21002 jiffies, g=3369, q=12 ncpus=2)
[   80.000304] Sending NMI from CPU 0 to CPUs 1:
[   80.000405] NMI backtrace for cpu 1
[   80.000506] CPU: 1 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
[   80.000607] RIP: 0010:spin_forever+0x4/0x10
[   80.000708] Call Trace:
[   80.000809]  <NMI>
[   80.000910]  </NMI>
[   80.001011]  <TASK>
[   80.001112]  spin_forever+0x4/0x10
[   80.001213]  </TASK>
"""
    (rep,) = scan(text)
    assert rep.kind == "RCU stall"
    assert rep.title == "INFO: rcu detected stall in spin_forever"
    assert (rep.first_line, rep.last_line) == (1, 13)
    assert rep.guilty_frame == "spin_forever"


def test_gpf_with_kasan_hint_is_one_report() -> None:
    text = """\
Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN NOPTI
KASAN: null-ptr-deref in range [0x0000000000000008-0x000000000000000f]
CPU: 0 UID: 0 PID: 1 Comm: swapper/0 Not tainted 6.12.0 #1
RIP: 0010:bar_probe+0x4c/0x120
Call Trace:
 <TASK>
 really_probe+0x1d1/0x8c0
 </TASK>
Modules linked in:
---[ end trace 0000000000000000 ]---
"""
    (rep,) = scan(text)
    assert rep.kind == "general protection fault"
    assert rep.title == "general protection fault in bar_probe"
    assert rep.header.startswith("Oops: general protection fault, probably for non-canonical")
    assert (rep.first_line, rep.last_line) == (1, 10)
    assert rep.guilty_frame == "bar_probe"


# --------------------------------------------------------------------------
# Report boundaries


def test_plain_bug_is_cut_by_the_next_header() -> None:
    text = """\
BUG: workqueue leaked atomic, lock or RCU: kworker/0:1[12]
     preempt=0x00000001 lock=0->0 RCU=0->0 workfn=bad_work_fn
------------[ cut here ]------------
WARNING: CPU: 0 PID: 12 at kernel/workqueue.c:2700 process_one_work+0x3a1/0x4f0
Modules linked in:
---[ end trace 0000000000000000 ]---
"""
    bug, warn = scan(text)
    assert (bug.kind, bug.first_line, bug.last_line) == ("BUG", 1, 2)
    assert bug.title == "BUG: workqueue leaked atomic, lock or RCU in bad_work_fn"
    assert bug.guilty_frame == "bad_work_fn"
    assert bug.end_reason == "next report"
    assert (warn.start_line, warn.first_line, warn.last_line) == (3, 4, 6)
    assert warn.title == "WARNING in process_one_work"
    assert "[ cut here ]" in warn.lines[0]


def test_one_line_bug_without_stack_dump() -> None:
    lines = ["BUG: Bad rss-counter state mm:00000000b2e5ad0d type:MM_ANONPAGES val:1"]
    lines += [f"virtio_net virtio0 eth0: link up {i}" for i in range(30)]
    scanner = OopsScanner()
    got: list[Report] = []
    for line in lines:
        got += scanner.feed(line)
    assert len(got) == 1
    assert got[0].title == "BUG: Bad rss-counter state"
    assert got[0].guilty_frame is None
    assert (got[0].first_line, got[0].last_line) == (1, 1)
    assert got[0].lines == lines[:1]
    assert got[0].end_reason == "no stack"
    assert not scanner.in_report


def test_bug_with_dump_stack_ends_at_task_end() -> None:
    text = """\
BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580
in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 85, name: sh
preempt_count: 1, expected: 0
RCU nest depth: 0, expected: 0
CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 __might_resched.cold+0xfa/0x135
 __mutex_lock+0x63/0x970
 bad_driver_ioctl+0x30/0x60
 </TASK>
sh: done
"""
    (rep,) = scan(text)
    assert (rep.kind, rep.first_line, rep.last_line) == ("BUG", 1, 12)
    assert rep.end_reason == "stack end"
    assert rep.title == "BUG: sleeping function called from invalid context in bad_driver_ioctl"
    assert rep.guilty_frame == "bad_driver_ioctl"


def test_second_oops_inside_a_report_starts_a_new_one() -> None:
    text = """\
BUG: unable to handle page fault for address: ffffffffff600000
#PF: supervisor read access in kernel mode
Oops: 0000 [#1] PREEMPT SMP NOPTI
RIP: 0010:first_fn+0x1/0x2
Oops: 0002 [#2] PREEMPT SMP NOPTI
RIP: 0010:second_fn+0x1/0x2
---[ end trace 0000000000000000 ]---
"""
    first, second = scan(text)
    assert (first.kind, first.first_line, first.last_line) == ("BUG", 1, 4)
    assert first.title == "BUG: unable to handle kernel paging request in first_fn"
    assert first.guilty_frame == "first_fn"
    assert (second.kind, second.first_line, second.last_line) == ("Oops", 5, 7)
    assert second.title == "Oops in second_fn"
    assert second.guilty_frame == "second_fn"


def test_warning_then_panic_on_warn() -> None:
    text = """\
------------[ cut here ]------------
WARNING: CPU: 1 PID: 88 at drivers/misc/lkdtm/bugs.c:111 lkdtm_WARNING+0x21/0x30
Modules linked in:
RIP: 0010:lkdtm_WARNING+0x21/0x30
Kernel panic - not syncing: kernel: panic_on_warn set ...
Kernel Offset: disabled
---[ end Kernel panic - not syncing: kernel: panic_on_warn set ... ]---
"""
    # the panic is inside the WARNING (whose end marker it prints), and a report too
    warn, panic = scan(text)
    assert (warn.first_line, warn.last_line, warn.end_reason) == (2, 7, "end marker")
    assert (warn.title, warn.guilty_frame) == ("WARNING in lkdtm_WARNING", "lkdtm_WARNING")
    assert (panic.first_line, panic.last_line) == (5, 7)
    assert panic.title == "kernel panic: kernel: panic_on_warn set ..."


def test_panic_on_warn_before_the_call_trace() -> None:
    # 4.x kernels: __warn() panics before its dump_stack(): the call trace after
    # the panic line is the WARNING's, and names the guilty frame
    text = """WARNING: CPU: 0 PID: 28200 at lib/refcount.c:152 refcount_inc+0x47/0x50
Kernel panic - not syncing: panic_on_warn set ...

CPU: 0 PID: 28200 Comm: syz-executor7 Not tainted 4.13.0-rc7+ #60
Call Trace:
 dump_stack+0x194/0x257
 panic+0x1e4/0x417
 __warn+0x1c4/0x1d9
 report_bug+0x211/0x2d0
 do_invalid_op+0x1b/0x20
 invalid_op+0x18/0x20
RIP: 0010:refcount_inc+0x47/0x50
 dev_activate+0x8c/0x100
 __dev_open+0x1f7/0x300
Kernel Offset: disabled
Rebooting in 86400 seconds..
"""
    warn, panic = scan(text)
    assert (warn.title, warn.guilty_frame) == ("WARNING: refcount bug in dev_activate",
                                               "dev_activate")
    assert (warn.first_line, warn.last_line) == (1, 16)
    assert (panic.kind, panic.first_line) == ("panic", 2)


def test_lines_outside_reports_are_not_kept() -> None:
    scanner = OopsScanner()
    for i in range(1000):
        scanner.feed(f"[{i:5d}.000000] ------------[ cut here ]------------")
        scanner.feed("some message")
    assert not scanner.in_report
    assert scanner.flush() == []


# --------------------------------------------------------------------------
# Prefixes


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "[   15.003015] ",
        "[    T1] ",
        "[  C0] ",
        "[   15.003015][    T1] ",
        "[   15.003015] [T1] ",
        "<4>",
        "<4>[   15.003015] ",
    ],
)
def test_printk_prefixes(prefix: str) -> None:
    body = [
        "------------[ cut here ]------------",
        "WARNING: CPU: 0 PID: 1 at lib/foo.c:12 foo+0x1/0x2",
        "Call Trace:",
        " <TASK>",
        " ? __warn+0x81/0x130",
        " bar+0x10/0x20",
        " </TASK>",
        "---[ end trace 0000000000000000 ]---",
    ]
    text = "".join(f"{prefix}{line}\r\n" for line in body)
    (rep,) = scan(text)
    assert rep.title == "WARNING in foo"
    assert (rep.start_line, rep.first_line, rep.last_line) == (1, 2, 8)
    assert rep.lines == [prefix + line for line in body]  # raw, without "\r"
    assert rep.guilty_frame == "foo"


def test_clean_line_keeps_frame_indentation() -> None:
    assert clean_line("[   41.830655]  __schedule+0x2f1/0xb80") == " __schedule+0x2f1/0xb80"
    assert clean_line("[   41.830655][  T97]  </TASK>") == " </TASK>"
    assert clean_line("<0>Kernel panic") == "Kernel panic"
    assert clean_line("[ cut here ]") == "[ cut here ]"


def test_kernel_message_glued_to_shell_output() -> None:
    text = "# [   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
    (rep,) = scan(text)
    assert rep.title == "BUG: unable to handle kernel NULL pointer dereference in corrupted"
    assert rep.header == "BUG: kernel NULL pointer dereference, address: 0000000000000008"
    assert rep.corrupted


# --------------------------------------------------------------------------
# The header table: one header line alone (the stream ends right after it)

# header line, kind, title when nothing follows it (no frame to blame)
HEADER_LINES = [
    ("WARNING: CPU: 1 PID: 4433 at mm/slab_common.c:971 kmalloc_slab+0x6b/0x80", "WARNING",
     "WARNING: kmalloc bug in kmalloc_slab"),
    ("WARNING: CPU: 1 PID: 15973 at mm/vmalloc.c:3108 __vmalloc_node_range+0x1036/0x1300",
     "WARNING", "WARNING: zero-size vmalloc in __vmalloc_node_range"),
    ("Internal error: synchronous external abort: 96000010 [#1] PREEMPT SMP", "Oops",
     "Internal error in corrupted"),
    ("Unable to handle kernel paging request at virtual address dfff800000000004", "BUG",
     "BUG: unable to handle kernel paging request in corrupted"),
    ("Unhandled fault: page domain fault (0x01b) at 0x00000e30", "Oops",
     "Unhandled fault in corrupted"),
    ("WARNING: kernel stack regs at ffff8801d100fea8 in syz-executor1:16059 has bad 'bp' value "
     "ffff8801d100ff28", "WARNING", "WARNING: kernel stack regs has bad 'bp' value"),
    ("WARNING: kernel stack frame pointer at ffff8801d100fea8 in sh:4492 has bad value "
     "0000000000000000", "WARNING", "WARNING: kernel stack regs has bad value"),
    ("WARNING: kernel stack regs at         (ptrval) in sh:4493 has bad 'bp' value         (ptrval)",
     "WARNING", "WARNING: kernel stack regs has bad value"),
    ("unregister_netdevice: waiting for lo to become free. Usage count = 5", "DoS",
     "unregister_netdevice: waiting for DEV to become free"),
    ("VFS: Busy inodes after unmount of sda1. Self-destruct in 5 seconds.  Have a nice day...",
     "DoS", "VFS: Busy inodes after unmount (use-after-free)"),
    ("VFS: Close: file count is 0", "DoS", "VFS: Close: file count is zero (use-after-free)"),
    ("WARNING: net/mac80211/tx.c:5024 at __ieee80211_beacon_get+0x125d/0x1630, CPU#1: "
     "syz.9.803/11907", "WARNING", "WARNING in __ieee80211_beacon_get"),
    ("WARNING: [time_after(jiffies, timeout)] io_uring/io_uring.c:3026 at "
     "io_ring_exit_work+0x44c/0xbc0, CPU#0: kworker/u8:0/10040", "WARNING",
     "WARNING in io_ring_exit_work"),
    ("WARNING: lib/refcount.c:19 at 0x0, CPU#1: syz.3.20/6051", "WARNING",
     "WARNING: refcount bug in corrupted"),
    ("kernel BUG at mm/slub.c:4520!", "kernel BUG", "kernel BUG at mm/slub.c"),
    ("Kernel BUG at kfree+0x12/0x30 [verbose debug info unavailable]", "kernel BUG",
     "kernel BUG in kfree"),
    ("BUG: unable to handle page fault for address: ffffc90000a0f000", "BUG",
     "BUG: unable to handle kernel paging request in corrupted"),
    ("BUG: unable to handle kernel paging request at ffffc90000a0f000", "BUG",
     "BUG: unable to handle kernel paging request in corrupted"),
    ("BUG: unable to handle kernel NULL pointer dereference at 0000000000000010", "BUG",
     "BUG: unable to handle kernel NULL pointer dereference in corrupted"),
    ("BUG: kernel NULL pointer dereference, address: 0000000000000010", "BUG",
     "BUG: unable to handle kernel NULL pointer dereference in corrupted"),
    ("BUG: scheduling while atomic: swapper/0/0/0x00000002", "BUG",
     "BUG: scheduling while atomic in corrupted"),
    ("BUG: sleeping function called from invalid context at mm/slab.h:742", "BUG",
     "BUG: sleeping function called from invalid context in corrupted"),
    ("BUG: using smp_processor_id() in preemptible [00000000] code: sh/85", "BUG",
     "BUG: using smp_processor_id() in preemptible code in corrupted"),
    ("BUG: using __this_cpu_read() in preemptible [00000000] code: kworker/0:1/12", "BUG",
     "BUG: using __this_cpu_read() in preemptible code in corrupted"),
    ("BUG: spinlock bad magic on CPU#0, swapper/0/1", "BUG", "BUG: spinlock bad magic in corrupted"),
    ("BUG: spinlock already unlocked on CPU#1, sh/85", "BUG", "BUG: spinlock already unlocked in corrupted"),
    ("BUG: spinlock lockup suspected on CPU#1, sh/85", "BUG", "BUG: spinlock lockup suspected in corrupted"),
    ("BUG: rwlock wrong owner on CPU#0, sh/85, ffffffff82a0c0c0", "BUG", "BUG: rwlock wrong owner in corrupted"),
    ("BUG: Bad page state in process sh  pfn:1a2b3", "BUG", "BUG: Bad page state in corrupted"),
    ("BUG: Bad page map in process sh  pte:8000000102c3f067 pmd:102c5c067", "BUG",
     "BUG: Bad page map in corrupted"),
    ("BUG: TASK stack guard page was hit at ffffc90000b7ff78 (stack is "
     "ffffc90000b80000..ffffc90000b84000)", "BUG", "BUG: stack guard page was hit in corrupted"),
    ("BUG: IRQ stack guard page was hit at 00000000c5d0b6d1 (stack is "
     "00000000d1fc26a0..000000004e2a1f1b)", "BUG", "BUG: stack guard page was hit in corrupted"),
    ("BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 33s!", "BUG",
     "BUG: workqueue lockup"),
    ("BUG: non-zero pgtables_bytes on freeing mm: -4096", "BUG",
     "BUG: non-zero pgtables_bytes on freeing mm"),
    ("BUG: Dentry ffff888102c4b240{i=2c6,n=lo}  still in use (1) [unmount of tmpfs tmpfs]",
     "BUG", "BUG: Dentry still in use [unmount of tmpfs tmpfs]"),
    ("BUG: key ffff888100b5a1e0 has not been registered!", "BUG",
     "BUG: key ADDR has not been registered!"),
    ("BUG kmalloc-64 (Not tainted): Object already free", "BUG", "BUG: Object already free in corrupted"),
    ("BUG: workqueue leaked atomic, lock or RCU: kworker/0:1[12]", "BUG",
     "BUG: workqueue leaked atomic, lock or RCU in corrupted"),
    ("BUG: Bad rss-counter state mm:00000000b2e5ad0d type:MM_ANONPAGES val:1", "BUG",
     "BUG: Bad rss-counter state"),
    ("BUG: memory leak", "memory leak", "memory leak in corrupted"),
    ("kernel BUG at lib/list_debug.c:62!", "kernel BUG", "BUG: corrupted list in corrupted"),
    ("kernel BUG at mm/usercopy.c:102!", "kernel BUG", "BUG: bad usercopy in corrupted"),
    ("Oops: 0000 [#1] PREEMPT SMP NOPTI", "Oops", "Oops in corrupted"),
    ("Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI", "Oops", "Oops in corrupted"),
    ("Oops[#1]:", "Oops", "Oops in corrupted"),
    ("Oops: int3: 0000 [#1] PREEMPT SMP NOPTI", "Oops", "int3 in corrupted"),
    ("int3: 0000 [#1] SMP", "Oops", "int3 in corrupted"),
    ("Oops: stack guard page: 0000 [#1] PREEMPT SMP NOPTI", "Oops",
     "BUG: stack guard page was hit in corrupted"),
    ("kernel stack overflow (double-fault): 0000 [#1] SMP", "Oops",
     "BUG: stack guard page was hit in corrupted"),
    ("Internal error: Oops: 0000000096000005 [#1] PREEMPT SMP", "Oops", "Oops in corrupted"),
    ("general protection fault: 0000 [#1] SMP PTI", "general protection fault",
     "general protection fault in corrupted"),
    ("Oops: general protection fault, maybe for address 0xffff888100000000: 0000 [#1] SMP",
     "general protection fault", "general protection fault in corrupted"),
    ("Oops: divide error: 0000 [#1] PREEMPT SMP NOPTI", "divide error", "divide error in corrupted"),
    ("divide error: 0000 [#1] SMP", "divide error", "divide error in corrupted"),
    ("invalid opcode: 0000 [#1] PREEMPT SMP DEBUG_PAGEALLOC NOPTI", "invalid opcode",
     "invalid opcode in corrupted"),
    ("Oops: stack segment: 0000 [#1] PREEMPT SMP KASAN NOPTI", "stack segment",
     "stack segment fault in corrupted"),
    ("Oops: double fault: 0000 [#1] PREEMPT SMP NOPTI", "double fault", "PANIC: double fault in corrupted"),
    ("PANIC: double fault, error_code: 0x0", "double fault", "PANIC: double fault in corrupted"),
    ("WARNING: CPU: 0 PID: 1 at lib/foo.c:12 foo+0x1/0x2", "WARNING", "WARNING in foo"),
    ("WARNING: CPU: 0 PID: 1 at net/core/dev.c:10 bar.constprop.0+0x1/0x2 [mymod]", "WARNING",
     "WARNING in bar"),
    ("WARNING: CPU: 3 PID: 0 at kernel/foo.c:7", "WARNING", "WARNING at kernel/foo.c"),
    ("WARNING: CPU: 1 PID: 7 at foo_probe+0x1/0x2", "WARNING", "WARNING in foo_probe"),
    ("WARNING: at kernel/sched/core.c:1234 resched_cpu()", "WARNING", "WARNING in resched_cpu"),
    ("WARNING: CPU: 0 PID: 1 at lib/refcount.c:25 refcount_warn_saturate+0x13e/0x1a0",
     "WARNING", "WARNING: refcount bug in refcount_warn_saturate"),
    ("WARNING: CPU: 0 PID: 12 at drivers/usb/core/urb.c:477 usb_submit_urb+0x119a/0x13c0",
     "WARNING", "WARNING in corrupted/usb_submit_urb"),
    ("INFO: Freed in fasync_free_rcu+0x14/0x20 age=57 cpu=0 pid=18338", "BUG",
     "INFO: Freed in fasync_free_rcu age=NUM cpu=NUM pid=NUM"),
    ("SYZFAIL: negative running", "SYZFAIL", "SYZFAIL: negative running"),
    ("BUG: KASAN: null-ptr-deref on address           (null)", "KASAN", "KASAN: null-ptr-deref"),
    ("rust_kernel: panicked at rust/kernel/page_size_compat.rs:60:5:", "kernel BUG",
     "Rust panic in corrupted"),
    ("WARNING: CPU: 1 PID: 9 at lib/debugobjects.c:514 debug_print_object+0x93/0xc0",
     "WARNING", "WARNING: ODEBUG bug in debug_print_object"),
    ("WARNING: CPU: 0 PID: 0 at kernel/locking/lockdep.c:232 hlock_class+0x4a/0x60", "WARNING",
     "WARNING: locking bug in hlock_class"),
    ("WARNING: CPU: 1 PID: 85 at mm/usercopy.c:83 usercopy_warn+0x7e/0xa0", "WARNING",
     "WARNING: bad usercopy in usercopy_warn"),
    ("WARNING: CPU: 1 PID: 1 at lib/kobject.c:736 kobject_put+0x1d0/0x230", "WARNING",
     "WARNING: kobject bug in kobject_put"),
    ("WARNING: CPU: 0 PID: 1 at fs/proc/generic.c:381 proc_register+0x2a9/0x3e0", "WARNING",
     "WARNING: proc registration bug in proc_register"),
    ("WARNING: CPU: 0 PID: 85 at lib/list_debug.c:62 __list_del_entry_valid_or_report+0xba/0xd0",
     "WARNING", "BUG: corrupted list in __list_del_entry_valid_or_report"),
    ("WARNING: chain_key collision", "lockdep", "WARNING: chain_key collision in corrupted"),
    ("WARNING: inconsistent lock state", "lockdep", "inconsistent lock state in corrupted"),
    ("WARNING: possible recursive locking detected", "lockdep", "possible deadlock in corrupted"),
    ("WARNING: possible circular locking dependency detected", "lockdep", "possible deadlock in corrupted"),
    ("WARNING: possible irq lock inversion dependency detected", "lockdep", "possible deadlock in corrupted"),
    ("WARNING: suspicious RCU usage", "lockdep", "WARNING: suspicious RCU usage in corrupted"),
    ("WARNING: bad unlock balance detected!", "lockdep", "WARNING: bad unlock balance in corrupted"),
    ("WARNING: held lock freed!", "lockdep", "WARNING: held lock freed in corrupted"),
    ("WARNING: sh/85 still has locks held!", "lockdep", "WARNING: still has locks held in corrupted"),
    ("WARNING: lock held when returning to user space!", "lockdep",
     "WARNING: lock held when returning to user space in corrupted"),
    ("WARNING: Nested lock was not taken", "lockdep", "WARNING: nested lock was not taken in corrupted"),
    ("WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected", "lockdep",
     "possible deadlock in corrupted"),
    ("[ BUG: Invalid wait context ]", "lockdep", "WARNING: locking bug in corrupted"),
    ("[ INFO: possible circular locking dependency detected ]", "lockdep", "possible deadlock in corrupted"),
    ("INFO: trying to register non-static key.", "lockdep",
     "INFO: trying to register non-static key in corrupted"),
    ("BUG: looking up invalid subclass: 8", "lockdep", "BUG: looking up invalid subclass in corrupted"),
    ("BUG: MAX_LOCKDEP_KEYS too low!", "lockdep", "BUG: MAX_LOCKDEP_KEYS too low!"),
    ("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
     "panic", "kernel panic: VFS: Unable to mount root fs on unknown-block(NUM,NUM)"),
    ("Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b", "panic",
     "kernel panic: Attempted to kill init!"),
    ("Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: "
     "foo_ioctl+0x1c5/0x1d0", "panic", "kernel panic: stack is corrupted in foo_ioctl"),
    ("Kernel panic - not syncing: corrupted stack end detected inside scheduler", "panic",
     "kernel panic: corrupted stack end in corrupted"),
    ("Kernel panic - not syncing: Fatal exception in interrupt", "panic",
     "kernel panic: Fatal exception in interrupt"),
    ("Kernel panic - not syncing: hung_task: blocked tasks", "panic",
     "kernel panic: hung_task: blocked tasks"),
    ("UBSAN: shift-out-of-bounds in lib/foo.c:3:9", "UBSAN",
     "UBSAN: shift-out-of-bounds in lib/foo.c"),
    ("UBSAN: Undefined behaviour in mm/foo.c:12:5", "UBSAN",
     "UBSAN: undefined-behaviour in mm/foo.c"),
    ("INFO: rcu_sched detected stalls on CPUs/tasks:", "RCU stall", "INFO: rcu detected stall in corrupted"),
    ("rcu: INFO: rcu_preempt self-detected stall on CPU", "RCU stall",
     "INFO: rcu detected stall in corrupted"),
    ("rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-.... } 21002 jiffies "
     "s: 173 root: 0x2/.", "RCU stall", "INFO: rcu detected stall in corrupted"),
    ("INFO: task kworker/u4:1:12 blocked for more than 143 seconds.", "hung task",
     "INFO: task hung in corrupted"),
    ("INFO: task syz-executor.0:8174 can't die for more than 143 seconds.", "hung task",
     "INFO: task can't die in corrupted"),
    ("watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]", "soft lockup",
     "BUG: soft lockup in corrupted"),
    ("NMI watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [sh:85]", "soft lockup",
     "BUG: soft lockup in corrupted"),
    ("watchdog: Watchdog detected hard LOCKUP on cpu 1", "hard lockup",
     "Watchdog detected hard LOCKUP in corrupted"),
    ("BUG: KFENCE: out-of-bounds read in test_oob+0x1/0x2", "KFENCE",
     "KFENCE: out-of-bounds read in test_oob"),
    ("BUG: KFENCE: use-after-free write in test_uaf+0x1/0x2", "KFENCE",
     "KFENCE: use-after-free write in test_uaf"),
    ("BUG: KASAN: use-after-free in ext4_find_extent+0x1f/0x2a0", "KASAN",
     "KASAN: use-after-free in ext4_find_extent"),
    ("BUG: KASAN: invalid-access", "KASAN", "KASAN: invalid-access in corrupted"),
    ("BUG: KMSAN: uninit-value in test_uninit_kmalloc+0xc4/0x1e0", "KMSAN",
     "KMSAN: uninit-value in test_uninit_kmalloc"),
    ("BUG: KCSAN: data-race in test_kernel_read / test_kernel_write", "KCSAN",
     "KCSAN: data-race in test_kernel_read / test_kernel_write"),
]


@pytest.mark.parametrize(("line", "kind", "title"), HEADER_LINES)
def test_header_table(line: str, kind: str, title: str) -> None:
    (rep,) = scan(f"[    1.000000] {line}\n")
    assert rep.kind == kind
    assert rep.title == title
    assert rep.header == line
    assert rep.first_line == rep.last_line == 1
    assert rep.corrupted


@pytest.mark.parametrize(("line", "kind", "title"), HEADER_LINES)
def test_every_header_line_passes_the_prefilter(line: str, kind: str, title: str) -> None:
    assert any(lit in line for lit in PREFILTER)


def test_every_header_is_in_the_table() -> None:
    from harness.parse.oops import End, _match_header

    hit = set()
    for line, _kind, _title in HEADER_LINES:
        found = _match_header(line)
        assert found is not None, line
        hit.add(id(found[0]))
    for h in HEADERS:
        if h.need_stack or h.end is End.LINE:
            continue  # see test_unknown_warning_needs_a_stack, test_unexpected_reboot
        assert id(h) in hit, f"no line of HEADER_LINES for {h.kind}: {h.regex.pattern}"


def test_normalize_title() -> None:
    assert normalize_title("kernel BUG at arch/x86/mm/tlb.c:593!") == (
        "kernel BUG at arch/x86/mm/tlb.c:NUM!"
    )
    assert normalize_title(
        "BUG: kernel NULL pointer dereference, address: 0000000000000000"
    ) == "BUG: kernel NULL pointer dereference, address: ADDR"
    assert normalize_title("WARNING in switch_mm_irqs_off") == "WARNING in switch_mm_irqs_off"
    assert normalize_title("KCSAN: data-race in f1+0x1d/0x30 / f2+0x10/0x20") == (
        "KCSAN: data-race in f1 / f2"
    )
    assert normalize_title("kernel panic: Fatal exception") == "kernel panic: Fatal exception"
    assert normalize_title("x at 0xffff888100000000 by task sh/85") == "x at ADDR by task sh/NUM"
    # function names with digits and ext4-like words survive; idempotent
    t = "WARNING in cfg80211_rx_mlme_mgmt in fs/ext4/inode.c"
    assert normalize_title(t) == t
    for title in (r[2] for r in HEADER_LINES):
        assert normalize_title(title) == title


def test_to_dict_matches_the_cli_contract() -> None:
    (rep,) = scan(NULL_DEREF)
    d = rep.to_dict()
    assert set(d) == {
        "title", "kind", "guilty_frame", "first_line", "last_line", "corrupted", "header", "text",
    }
    assert d["text"] == rep.text
    assert d["header"] == "BUG: kernel NULL pointer dereference, address: 0000000000000000"


# --------------------------------------------------------------------------
# A long clean boot log


def test_100k_line_clean_log() -> None:
    boot = [
        "Command line: console=ttyS0 oops=panic panic=-1 loglevel=7",
        "x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'",
        "RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!",
        "Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 BHB attacks!",
        "[Firmware Bug]: TSC_DEADLINE disabled due to Errata; please update microcode",
        "ACPI: PM-Timer IO Port: 0x608",
        "Freeing unused kernel image (initmem) memory: 2000K",
        "virtio_net virtio0 eth0: renamed from eth0",
        "random: crng init done",
        "INFO: lockdep is turned off.",
        "sh[77]: segfault at 0 ip 0000000000401000 sp 00007ffd00000000 error 4 in sh[1000,401000+1000]",
        "Out of memory: Killed process 123 (stress) total-vm:1234kB, anon-rss:1000kB, file-rss:0kB",
        "=== LAM-HARNESS READY ===",
    ]
    banner = "Linux version 6.12.0 (root@build) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC"
    lines = [f"[    0.000000] {banner}"]
    lines += [f"[{i / 1000:12.6f}] {boot[i % len(boot)]}" for i in range(1, 100_000)]
    scanner = OopsScanner()
    for line in lines:
        assert not scanner.feed(line)
    assert scanner.flush() == []
    assert scanner.lineno == 100_000
    assert scan("\n".join(lines)) == []
    assert scan_bytes("\n".join(lines).encode()) == []


# --------------------------------------------------------------------------
# Golden real console logs (tests/data/console): every log states its reports


CONSOLE = Path(__file__).resolve().parents[1] / "data" / "console"

# lkdtm-warn-hung-softlockup-null-6.12-tcg.log: LKDTM through
# /sys/kernel/debug/provoke-crash/DIRECT on the tinyconfig-based 6.12 guest
# (panic_on_oops off, no frame pointers nor ORC: the guess unwinder prints
# every call-trace frame with a "?"; CRLF line ends).  WARNING, then
# HUNG_TASK (task sh:72 reported every 3 s until the kernel stops, line 607),
# then SOFTLOCKUP on CPU#1 (reported every 3 s, one RCU stall among them)
# interleaved with the hung-task reports, then ACCESS_NULL.
_LK_WARN = ("WARNING", "WARNING in lkdtm_WARNING", "lkdtm_WARNING")  # line 229
_LK_HUNG = ("hung task", "INFO: task hung in lkdtm_HUNG_TASK", "lkdtm_HUNG_TASK")  # "?" frames
_LK_SOFT = ("soft lockup", "BUG: soft lockup in lkdtm_SOFTLOCKUP", "lkdtm_SOFTLOCKUP")  # RIP
_LK_RCU = ("RCU stall", "INFO: rcu detected stall in lkdtm_SOFTLOCKUP", "lkdtm_SOFTLOCKUP")
_LK_NULL = ("BUG", "BUG: unable to handle kernel NULL pointer dereference in lkdtm_ACCESS_NULL",
            "lkdtm_ACCESS_NULL")  # line 977, RIP

# log file -> [(kind, title, guilty frame)], in console order
GOLDEN: dict[str, list[tuple[str, str, str | None]]] = {
    "demo-bug-6.12-tcg.log": [
        ("kernel BUG", "kernel BUG in demo_bug_fire", "demo_bug_fire"),
        ("panic", "kernel panic: Fatal exception", None),
    ],
    "sysrq-crash-debian-cloud-6.12-tcg.log": [
        ("panic", "kernel panic: sysrq triggered crash", "sysrq_handle_crash"),
    ],
    "lkdtm-warn-hung-softlockup-null-6.12-tcg.log": [
        _LK_WARN,
        *[_LK_HUNG] * 4,  # 258, 277, 296, 318
        *[_LK_SOFT, _LK_HUNG] * 6,  # 337/363 ... 562/588
        _LK_SOFT,  # 608
        _LK_RCU,  # 634
        *[_LK_SOFT] * 12,  # 662 ... 948
        _LK_NULL,
    ],
}


def test_every_golden_log_states_its_reports() -> None:
    logs = sorted(p.name for p in CONSOLE.glob("*.log"))
    assert logs and set(logs) <= set(GOLDEN), f"add the expected reports of {logs} to GOLDEN"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_console_logs(name: str) -> None:
    path = CONSOLE / name
    assert path.exists(), f"{name} is in GOLDEN but not in {CONSOLE}"
    data = path.read_bytes()
    reports = scan_bytes(data)
    assert [(r.kind, r.title, r.guilty_frame) for r in reports] == GOLDEN[name]
    assert not any(r.corrupted for r in reports)
    assert scan(data.decode("utf-8", "replace")) == reports


def test_golden_lkdtm_log_lines_headers_and_dedup() -> None:
    data = (CONSOLE / "lkdtm-warn-hung-softlockup-null-6.12-tcg.log").read_bytes()
    reports = scan_bytes(data)
    firsts = [r.first_line for r in reports]
    assert firsts[:6] == [229, 258, 277, 296, 318, 337]
    assert firsts[-3:] == [922, 948, 977]
    assert reports[0].start_line == 228  # the cut-here line
    assert reports[1].header == "INFO: task sh:72 blocked for more than 3 seconds."
    assert reports[5].header == "watchdog: BUG: soft lockup - CPU#1 stuck for 3s! [sh:77]"
    assert reports[-1].header == "BUG: kernel NULL pointer dereference, address: 0000000000000000"
    assert [r.end_reason for r in reports[1:-1]] == ["stack end"] * 30
    assert (reports[-1].last_line, reports[-1].end_reason) == (1008, "end marker")
    assert not any(line.endswith("\r") for r in reports for line in r.lines)
    assert [(t, n) for t, n, _ in dedup(reports)] == [
        (_LK_WARN[1], 1), (_LK_HUNG[1], 10), (_LK_SOFT[1], 19), (_LK_RCU[1], 1), (_LK_NULL[1], 1),
    ]


# --------------------------------------------------------------------------
# Every report kind, in the formats of the kernel's own printk calls (6.12
# unless said otherwise): expected title and guilty frame for each.


def _one(text: str) -> Report:
    reports = scan(text)
    assert len(reports) == 1, [(r.kind, r.title, r.first_line) for r in reports]
    assert scan_bytes(text.encode()) == reports
    return reports[0]


def test_kasan_use_after_free_in_a_string_function_blames_the_caller() -> None:
    rep = _one("""\
[   12.100000] ==================================================================
[   12.100001] BUG: KASAN: slab-out-of-bounds in memcmp+0x1b0/0x1c0
[   12.100002] Read of size 1 at addr ffff888103e1b518 by task kunit_try_catch/190
[   12.100003] 
[   12.100004] CPU: 1 UID: 0 PID: 190 Comm: kunit_try_catch Tainted: G    B            N 6.12.0 #1
[   12.100005] Call Trace:
[   12.100006]  <TASK>
[   12.100007]  dump_stack_lvl+0x5d/0x80
[   12.100008]  print_report+0x174/0x505
[   12.100009]  kasan_report+0xc8/0x100
[   12.100010]  memcmp+0x1b0/0x1c0
[   12.100011]  kasan_memcmp+0x1a5/0x2b0
[   12.100012]  kunit_try_run_case+0x1b3/0x490
[   12.100013]  kthread+0x2d2/0x3a0
[   12.100014]  ret_from_fork+0x34/0x70
[   12.100015]  </TASK>
[   12.100016] 
[   12.100017] Allocated by task 190:
[   12.100018]  kasan_save_stack+0x30/0x50
[   12.100019]  __kasan_kmalloc+0x8f/0xa0
[   12.100020]  kasan_memcmp+0xa8/0x2b0
[   12.100021] ==================================================================
""")
    assert (rep.kind, rep.title) == ("KASAN", "KASAN: slab-out-of-bounds Read in kasan_memcmp")
    assert rep.guilty_frame == "kasan_memcmp"
    assert (rep.start_line, rep.first_line, rep.last_line, rep.end_reason) == (1, 2, 22, "ruler")


def test_kasan_double_free_blames_the_freeing_caller() -> None:
    rep = _one("""\
==================================================================
BUG: KASAN: double-free in kfree+0x10d/0x3b0
Free of addr ffff888104c9a000 by task sh/85

CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 print_report+0x174/0x505
 kasan_report_invalid_free+0xc0/0xf0
 check_slab_allocation+0x10a/0x130
 __kasan_slab_pre_free+0x10/0x20
 kfree+0x10d/0x3b0
 foo_release+0x4c/0x70 [foo]
 __fput+0x1b6/0x430
 </TASK>
==================================================================
""")
    assert rep.title == "KASAN: double-free in foo_release"
    assert rep.guilty_frame == "foo_release"


def test_kfence_out_of_bounds() -> None:
    rep = _one("""\
==================================================================
BUG: KFENCE: out-of-bounds read in test_out_of_bounds_read+0xa6/0x234

Out-of-bounds read at 0xffff8c3f2e291fff (1B left of kfence-#72):
 test_out_of_bounds_read+0xa6/0x234
 kunit_try_run_case+0x61/0xa0
 kthread+0x176/0x1b0
 ret_from_fork+0x22/0x30

kfence-#72: 0xffff8c3f2e292000-0xffff8c3f2e29201f, size=32, cache=kmalloc-32

allocated by task 484 on cpu 0 at 32.919330s:
 test_alloc+0xfe/0x738
 test_out_of_bounds_read+0x9b/0x234

CPU: 0 PID: 484 Comm: kunit_try_catch Not tainted 5.13.0-rc3+ #7
Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.14.0-2 04/01/2014
==================================================================
""")
    assert rep.title == "KFENCE: out-of-bounds read in test_out_of_bounds_read"
    assert rep.guilty_frame == "test_out_of_bounds_read"
    assert rep.end_reason == "ruler"


def test_kcsan_data_race() -> None:
    rep = _one("""\
==================================================================
BUG: KCSAN: data-race in test_kernel_read / test_kernel_write

write to 0xffffffffc009a628 of 8 bytes by task 487 on cpu 0:
 test_kernel_write+0x1d/0x30
 access_thread+0x89/0xd0
 kthread+0x23e/0x260
 ret_from_fork+0x22/0x30

read to 0xffffffffc009a628 of 8 bytes by task 488 on cpu 6:
 test_kernel_read+0x10/0x20
 access_thread+0x89/0xd0
 kthread+0x23e/0x260
 ret_from_fork+0x22/0x30

value changed: 0x00000000000009a6 -> 0x00000000000009b2

Reported by Kernel Concurrency Sanitizer on:
CPU: 6 PID: 488 Comm: access_thread Not tainted 5.12.0-rc2+ #1
==================================================================
""")
    assert (rep.kind, rep.title) == (
        "KCSAN", "KCSAN: data-race in test_kernel_read / test_kernel_write")
    assert rep.guilty_frame == "test_kernel_read"


def test_kmsan_uninit_value() -> None:
    rep = _one("""\
=====================================================
BUG: KMSAN: uninit-value in test_uninit_kmalloc+0xc4/0x1e0
 test_uninit_kmalloc+0xc4/0x1e0
 kunit_run_case_internal+0x1a0/0x2e0

Uninit was created at:
 __kmalloc+0x17b/0x2c0
 test_uninit_kmalloc+0x6e/0x1e0

CPU: 0 PID: 6731 Comm: kunit_try_catch Tainted: G    B       E     5.16.0-rc3+ #104
=====================================================
""")
    assert rep.title == "KMSAN: uninit-value in test_uninit_kmalloc"
    assert rep.guilty_frame == "test_uninit_kmalloc"


def test_ubsan_612_between_cut_here_and_end_trace() -> None:
    rep = _one("""\
[    9.100000] ------------[ cut here ]------------
[    9.100001] UBSAN: shift-out-of-bounds in drivers/misc/lkdtm/bugs.c:389:13
[    9.100002] shift exponent 64 is too large for 64-bit type 'long unsigned int'
[    9.100003] CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
[    9.100004] Call Trace:
[    9.100005]  <TASK>
[    9.100006]  dump_stack_lvl+0x5d/0x80
[    9.100007]  __ubsan_handle_shift_out_of_bounds+0x11a/0x2b0
[    9.100008]  lkdtm_SHIFT_OVERFLOW.cold+0x19/0x2c
[    9.100009]  lkdtm_do_action+0x15/0x30
[    9.100010]  </TASK>
[    9.100011] ---[ end trace ]---
""")
    assert (rep.kind, rep.title) == ("UBSAN", "UBSAN: shift-out-of-bounds in lkdtm_SHIFT_OVERFLOW")
    assert rep.guilty_frame == "lkdtm_SHIFT_OVERFLOW"
    assert (rep.start_line, rep.first_line, rep.last_line) == (1, 2, 12)
    assert rep.end_reason == "end marker"


def test_refcount_warning_blames_the_caller() -> None:
    rep = _one("""\
------------[ cut here ]------------
refcount_t: underflow; use-after-free.
WARNING: CPU: 1 PID: 85 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110
Modules linked in:
CPU: 1 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
RIP: 0010:refcount_warn_saturate+0xba/0x110
Call Trace:
 <TASK>
 ? __warn+0x81/0x130
 ? refcount_warn_saturate+0xba/0x110
 ? report_bug+0x171/0x1a0
 ? handle_bug+0x3c/0x80
 ? exc_invalid_op+0x17/0x70
 ? asm_exc_invalid_op+0x1a/0x20
 ? refcount_warn_saturate+0xba/0x110
 foo_put+0x3a/0x50
 foo_release+0x17/0x30
 </TASK>
---[ end trace 0000000000000000 ]---
""")
    assert (rep.kind, rep.title) == ("WARNING", "WARNING: refcount bug in foo_put")
    assert rep.guilty_frame == "foo_put"
    assert rep.start_line == 1 and rep.first_line == 3


def test_warning_in_an_allocator_blames_its_caller() -> None:
    rep = _one("""\
WARNING: CPU: 0 PID: 85 at mm/page_alloc.c:4674 __alloc_pages_noprof+0x31c/0x370
Modules linked in:
RIP: 0010:__alloc_pages_noprof+0x31c/0x370
Call Trace:
 <TASK>
 ? __warn+0x81/0x130
 ___kmalloc_large_node+0x6e/0x130
 __kmalloc_large_node_noprof+0x1d/0xb0
 __kmalloc_noprof+0x2c1/0x3a0
 foo_ioctl+0x88/0x120
 __x64_sys_ioctl+0x91/0xd0
 </TASK>
---[ end trace 0000000000000000 ]---
""")
    assert rep.title == "WARNING in foo_ioctl"
    assert rep.guilty_frame == "foo_ioctl"


def test_corrupted_list_with_bug_on_data_corruption() -> None:
    text = """\
[   20.000000] list_del corruption, ffff888103c4a0e8->next is LIST_POISON1 (dead000000000100)
[   20.000001] ------------[ cut here ]------------
[   20.000002] kernel BUG at lib/list_debug.c:56!
[   20.000003] Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
[   20.000004] CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
[   20.000005] RIP: 0010:__list_del_entry_valid_or_report+0x7f/0xd0
[   20.000006] Call Trace:
[   20.000007]  <TASK>
[   20.000008]  ? die+0x36/0x90
[   20.000009]  ? __list_del_entry_valid_or_report+0x7f/0xd0
[   20.000010]  foo_remove_item+0x1c/0x60
[   20.000011]  foo_ioctl+0x9a/0x120
[   20.000012]  </TASK>
[   20.000013] ---[ end trace 0000000000000000 ]---
"""
    rep = _one(text)
    assert (rep.kind, rep.title) == ("kernel BUG", "BUG: corrupted list in foo_remove_item")
    assert rep.guilty_frame == "foo_remove_item"
    # without BUG_ON_DATA_CORRUPTION the same corruption is a WARN: same title
    warn = text.replace("kernel BUG at lib/list_debug.c:56!",
                        "WARNING: CPU: 0 PID: 85 at lib/list_debug.c:56 "
                        "__list_del_entry_valid_or_report+0x7f/0xd0")
    warn = warn.replace("Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI", "Modules linked in:")
    (w,) = scan(warn)
    assert (w.kind, w.title, w.guilty_frame) == (
        "WARNING", "BUG: corrupted list in foo_remove_item", "foo_remove_item")


def test_kernel_bug_in_an_skb_helper_blames_the_caller() -> None:
    rep = _one("""\
skbuff: skb_over_panic: text:ffffffff8190c1e4 len:4096 put:4096 head:ffff888101a3c000 data:ffff888101a3c0c0 tail:0x10c0 end:0x6c0 dev:<NULL>
------------[ cut here ]------------
kernel BUG at net/core/skbuff.c:206!
Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
RIP: 0010:skb_panic+0x4c/0x50
Call Trace:
 <TASK>
 skb_put+0x4e/0x50
 foo_build_frame+0x1e4/0x2a0
 foo_xmit+0x6a/0x110
 </TASK>
---[ end trace 0000000000000000 ]---
""")
    assert rep.title == "kernel BUG in foo_build_frame"
    assert rep.guilty_frame == "foo_build_frame"


def test_paging_request_612() -> None:
    rep = _one("""\
BUG: unable to handle page fault for address: ffffc90000a0f000
#PF: supervisor write access in kernel mode
#PF: error_code(0x0002) - not-present page
PGD 100000067 P4D 100000067 PUD 1001c9067 PMD 1022f8067 PTE 0
Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI
CPU: 1 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
RIP: 0010:memset_orig+0x72/0xb0
Call Trace:
 <TASK>
 ? __die+0x1f/0x70
 ? page_fault_oops+0x15a/0x2d0
 ? exc_page_fault+0x7a/0x180
 ? asm_exc_page_fault+0x26/0x30
 ? memset_orig+0x72/0xb0
 foo_clear_buffer+0x2f/0x60
 foo_ioctl+0x9a/0x120
 </TASK>
Modules linked in:
CR2: ffffc90000a0f000
---[ end trace 0000000000000000 ]---
""")
    assert rep.title == "BUG: unable to handle kernel paging request in foo_clear_buffer"
    assert rep.guilty_frame == "foo_clear_buffer"
    assert (rep.first_line, rep.last_line, rep.end_reason) == (1, 20, "end marker")


def test_null_dereference_4x_format() -> None:
    rep = _one("""\
[  100.123456] BUG: unable to handle kernel NULL pointer dereference at 0000000000000010
[  100.123457] IP: foo_open+0x1a/0x60
[  100.123458] PGD 0 P4D 0 
[  100.123459] Oops: 0000 [#1] SMP PTI
[  100.123460] Modules linked in:
[  100.123461] CPU: 0 PID: 85 Comm: sh Not tainted 4.19.0 #1
[  100.123462] RIP: 0010:foo_open+0x1a/0x60
[  100.123463] Call Trace:
[  100.123464]  chrdev_open+0xa0/0x1d0
[  100.123465]  do_dentry_open+0x143/0x3a0
[  100.123466]  path_openat+0x2d1/0x1630
[  100.123467]  do_syscall_64+0x55/0x110
[  100.123468]  entry_SYSCALL_64_after_hwframe+0x44/0xa9
[  100.123469] ---[ end trace 1a2b3c4d5e6f7a8b ]---
""")
    assert rep.title == "BUG: unable to handle kernel NULL pointer dereference in foo_open"
    assert rep.guilty_frame == "foo_open"


def test_divide_error_and_invalid_opcode_alone() -> None:
    text = """\
Oops: divide error: 0000 [#1] PREEMPT SMP NOPTI
CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
RIP: 0010:foo_average+0x14/0x30
Call Trace:
 <TASK>
 foo_stats_show+0x3c/0x80
 </TASK>
---[ end trace 0000000000000000 ]---
Oops: invalid opcode: 0000 [#2] PREEMPT SMP NOPTI
RIP: 0010:bar_unreachable+0x5/0x10
---[ end trace 0000000000000000 ]---
"""
    div, ud = scan(text)
    assert (div.kind, div.title, div.guilty_frame) == (
        "divide error", "divide error in foo_average", "foo_average")
    assert (ud.kind, ud.title, ud.guilty_frame) == (
        "invalid opcode", "invalid opcode in bar_unreachable", "bar_unreachable")


def test_stack_guard_page() -> None:
    rep = _one("""\
BUG: TASK stack guard page was hit at ffffc90000287ff8 (stack is ffffc90000288000..ffffc9000028c000)
Oops: stack guard page: 0000 [#1] PREEMPT SMP NOPTI
CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
RIP: 0010:recurse_forever+0x10/0x30
Call Trace:
 <#DF>
 ? die+0x36/0x90
 </#DF>
 <TASK>
 recurse_forever+0x1b/0x30
 recurse_forever+0x1b/0x30
 </TASK>
---[ end trace 0000000000000000 ]---
""")
    assert (rep.kind, rep.title) == ("BUG", "BUG: stack guard page was hit in recurse_forever")
    assert rep.guilty_frame == "recurse_forever"


def test_double_fault() -> None:
    rep = _one("""\
PANIC: double fault, error_code: 0x0
Oops: double fault: 0000 [#1] PREEMPT SMP NOPTI
CPU: 1 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
RIP: 0010:bad_stack_switch+0x8/0x20
---[ end trace 0000000000000000 ]---
""")
    assert (rep.kind, rep.title, rep.guilty_frame) == (
        "double fault", "PANIC: double fault in bad_stack_switch", "bad_stack_switch")


def test_scheduling_while_atomic() -> None:
    rep = _one("""\
BUG: scheduling while atomic: sh/85/0x00000002
Modules linked in:
Preemption disabled at:
[<ffffffff81234567>] foo_lock_all+0x1c/0x80
CPU: 0 UID: 0 PID: 85 Comm: sh Tainted: G        W          6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 __schedule_bug+0x6a/0x80
 __schedule+0x9e3/0xb80
 schedule+0x27/0xf0
 schedule_timeout+0x9e/0x160
 msleep+0x2d/0x40
 foo_wait_ready+0x30/0x50
 foo_ioctl+0x9a/0x120
 </TASK>
""")
    assert rep.title == "BUG: scheduling while atomic in foo_wait_ready"
    assert rep.guilty_frame == "foo_wait_ready"
    assert rep.end_reason == "stack end"


def test_smp_processor_id_in_preemptible_code() -> None:
    rep = _one("""\
BUG: using smp_processor_id() in preemptible [00000000] code: sh/85
caller is debug_smp_processor_id+0x17/0x20
CPU: 1 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 check_preemption_disabled+0xd8/0xe0
 foo_pick_queue+0x12/0x40
 foo_xmit+0x6a/0x110
 </TASK>
""")
    assert rep.title == "BUG: using smp_processor_id() in preemptible code in foo_pick_queue"
    assert rep.guilty_frame == "foo_pick_queue"


def test_spinlock_already_unlocked() -> None:
    rep = _one("""\
BUG: spinlock already unlocked on CPU#1, sh/85
 lock: foo_lock+0x0/0x20, .magic: dead4ead, .owner: <none>/-1, .owner_cpu: -1
CPU: 1 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 do_raw_spin_unlock+0x6e/0xa0
 _raw_spin_unlock+0x19/0x40
 foo_stop+0x44/0x70
 </TASK>
""")
    assert rep.title == "BUG: spinlock already unlocked in foo_stop"
    assert rep.guilty_frame == "foo_stop"


def test_bad_page_state() -> None:
    rep = _one("""\
BUG: Bad page state in process sh  pfn:1a2b3
page: refcount:0 mapcount:1 mapping:0000000000000000 index:0x0 pfn:0x1a2b3
flags: 0x200000000000000(node=0|zone=2)
page_type: 0x0()
raw: 0200000000000000 dead000000000100 dead000000000122 0000000000000000
page dumped because: nonzero mapcount
Modules linked in:
CPU: 0 UID: 0 PID: 85 Comm: sh Tainted: G    B              6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 bad_page+0x6c/0x100
 free_page_is_bad_report+0x83/0x90
 __free_pages_ok+0x3a4/0x4a0
 foo_free_buffers+0x4a/0x90
 foo_release+0x17/0x30
 </TASK>
""")
    assert rep.title == "BUG: Bad page state in foo_free_buffers"
    assert rep.guilty_frame == "foo_free_buffers"


def test_slub_object_already_free() -> None:
    rep = _one("""\
=============================================================================
BUG kmalloc-64 (Tainted: G    B             ): Object already free
-----------------------------------------------------------------------------

Allocated in foo_alloc+0x2a/0x60 age=12 cpu=0 pid=85
 __kmalloc_cache_noprof+0x1f0/0x2a0
 foo_alloc+0x2a/0x60
Freed in foo_free+0x1c/0x30 age=3 cpu=0 pid=85
 kfree+0x10d/0x3b0
 foo_free+0x1c/0x30
Slab 0xffffea00040f2a80 objects=32 used=31 fp=0xffff888103caa040 flags=0x200000000000200(slab|node=0|zone=2)
Object 0xffff888103caa040 @offset=64 fp=0x0000000000000000
CPU: 0 UID: 0 PID: 85 Comm: sh Tainted: G    B              6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 free_to_partial_list+0x23a/0x5b0
 kfree+0x10d/0x3b0
 foo_free+0x1c/0x30
 foo_release+0x17/0x30
 </TASK>
""")
    assert (rep.kind, rep.title) == ("BUG", "BUG: Object already free in foo_free")
    assert rep.guilty_frame == "foo_free"
    assert rep.start_line == 1 and rep.first_line == 2


def test_hung_task_4x_without_task_markers_ends_at_the_next_line() -> None:
    text = """\
[  246.012345] INFO: task kworker/0:1:12 blocked for more than 120 seconds.
[  246.012346]       Not tainted 4.19.0 #1
[  246.012347] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
[  246.012348] kworker/0:1     D    0    12      2 0x80000000
[  246.012349] Workqueue: events foo_work_fn
[  246.012350] Call Trace:
[  246.012351]  __schedule+0x3f1/0xb80
[  246.012352]  schedule+0x27/0xf0
[  246.012353]  schedule_preempt_disabled+0x15/0x30
[  246.012354]  __mutex_lock.isra.0+0x3d0/0x6f0
[  246.012355]  rtnl_lock+0x12/0x20
[  246.012356]  foo_work_fn+0x2c/0x90
[  246.012357]  process_one_work+0x1e1/0x4f0
[  246.012358]  worker_thread+0x4d/0x3e0
[  246.012359]  kthread+0x113/0x130
[  246.012360]  ret_from_fork+0x35/0x40
[  246.012361] e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex
"""
    rep = _one(text)
    assert rep.title == "INFO: task hung in rtnl_lock"
    assert rep.guilty_frame == "rtnl_lock"
    assert (rep.first_line, rep.last_line, rep.end_reason) == (1, 16, "stack end")
    assert not rep.corrupted


# Without frame pointers or ORC (CONFIG_UNWINDER_GUESS) every frame is "?".
_HUNG_HEAD = """\
[    6.892816] INFO: task sh:72 blocked for more than 3 seconds.
[    6.893392]       Not tainted 6.12.0 #13
[    6.893537] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
[    6.893751] task:sh              state:D stack:0     pid:72    tgid:72    ppid:1      flags:0x00000000
[    6.898757] Call Trace:
[    6.898963]  <TASK>
"""


def test_all_question_mark_trace_falls_back_to_the_question_mark_frames() -> None:
    rep = _one(_HUNG_HEAD + """\
[    6.899015]  ? __schedule+0x40b/0x445
[    6.899138]  ? schedule+0x23/0x34
[    6.899150]  ? schedule_timeout+0x8b/0xf0
[    6.899212]  ? lkdtm_HUNG_TASK+0x15/0x17
[    6.899293]  ? lkdtm_do_action+0x18/0x1b
[    6.902995]  ? entry_SYSCALL_64_after_hwframe+0x4b/0x53
[    6.903114]  </TASK>
""")
    # the skip tables still apply to the "?" frames: the scheduler is not to blame
    assert (rep.title, rep.guilty_frame) == ("INFO: task hung in lkdtm_HUNG_TASK", "lkdtm_HUNG_TASK")


def test_all_question_mark_trace_of_generic_frames_names_no_function() -> None:
    rep = _one(_HUNG_HEAD + """\
[    6.899015]  ? __schedule+0x40b/0x445
[    6.899138]  ? schedule+0x23/0x34
[    6.902995]  ? entry_SYSCALL_64_after_hwframe+0x4b/0x53
[    6.903114]  </TASK>
""")
    assert (rep.title, rep.guilty_frame) == ("INFO: task hung in corrupted", None)


def test_reliable_frames_win_over_question_mark_frames() -> None:
    rep = _one(_HUNG_HEAD + """\
[    6.899000]  ? stale_caller+0x10/0x20
[    6.899015]  __schedule+0x40b/0x445
[    6.899100]  ? lkdtm_HUNG_TASK+0x15/0x17
[    6.899138]  schedule+0x23/0x34
[    6.899212]  foo_wait_hw+0x15/0x17
[    6.899293]  foo_ioctl+0x18/0x1b
[    6.903114]  </TASK>
""")
    assert (rep.title, rep.guilty_frame) == ("INFO: task hung in foo_wait_hw", "foo_wait_hw")
    # reliable frames exist but are all skipped: the "?" frames stay ignored
    rep = _one(_HUNG_HEAD + """\
[    6.899015]  __schedule+0x40b/0x445
[    6.899100]  ? lkdtm_HUNG_TASK+0x15/0x17
[    6.899138]  schedule+0x23/0x34
[    6.903114]  </TASK>
""")
    assert (rep.title, rep.guilty_frame) == ("INFO: task hung in corrupted", None)


def test_generic_rip_then_all_question_mark_trace_blames_the_caller() -> None:
    rep = _one("""\
[   77.417402] BUG: kernel NULL pointer dereference, address: 0000000000000000
[   77.417611] #PF: supervisor write access in kernel mode
[   77.417728] #PF: error_code(0x0002) - not-present page
[   77.418791] Oops: Oops: 0002 [#1] SMP
[   77.418904] CPU: 0 UID: 0 PID: 82 Comm: sh Not tainted 6.12.0 #13
[   77.419215] RIP: 0010:memset_orig+0x33/0xb0
[   77.440023] Call Trace:
[   77.441418]  <TASK>
[   77.441500]  ? __die_body+0x1a/0x60
[   77.441550]  ? page_fault_oops+0x15e/0x2b0
[   77.441600]  ? exc_page_fault+0x74/0x160
[   77.441650]  ? asm_exc_page_fault+0x26/0x30
[   77.441660]  ? memset_orig+0x33/0xb0
[   77.441685]  ? foo_reset_ring+0x2e/0x90
[   77.442193]  ? foo_open+0xa5/0xc4
[   77.443946]  </TASK>
[   77.449676] ---[ end trace 0000000000000000 ]---
""")
    assert rep.title == "BUG: unable to handle kernel NULL pointer dereference in foo_reset_ring"
    assert rep.guilty_frame == "foo_reset_ring"


def test_soft_lockup_612_with_interrupted_registers() -> None:
    rep = _one("""\
[   52.100001] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [sh:85]
[   52.100002] Modules linked in:
[   52.100003] irq event stamp: 12345
[   52.100004] hardirqs last  enabled at (12344): [<ffffffff81a0c0c6>] _raw_spin_unlock_irq+0x26/0x40
[   52.100005] CPU: 1 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
[   52.100006] RIP: 0010:native_queued_spin_lock_slowpath+0x6a/0x2e0
[   52.100007] Code: 00 00 f0 0f ba 2f 08 0f 92 c2 0f b6 d2 c1 e2 08 89 d0
[   52.100008] RSP: 0018:ffffc900001e7e18 EFLAGS: 00000202
[   52.100009] Call Trace:
[   52.100010]  <IRQ>
[   52.100011]  ? watchdog_timer_fn+0x21b/0x2a0
[   52.100012]  ? __hrtimer_run_queues+0x10f/0x2a0
[   52.100013]  ? hrtimer_interrupt+0xfa/0x230
[   52.100014]  ? __sysvec_apic_timer_interrupt+0x55/0x150
[   52.100015]  ? sysvec_apic_timer_interrupt+0x6c/0x90
[   52.100016]  </IRQ>
[   52.100017]  <TASK>
[   52.100018]  ? asm_sysvec_apic_timer_interrupt+0x1a/0x20
[   52.100019]  ? native_queued_spin_lock_slowpath+0x6a/0x2e0
[   52.100020]  _raw_spin_lock+0x29/0x30
[   52.100021]  foo_poll_hw+0x33/0x80
[   52.100022]  foo_ioctl+0x9a/0x120
[   52.100023]  </TASK>
""")
    assert rep.title == "BUG: soft lockup in foo_poll_hw"
    assert rep.guilty_frame == "foo_poll_hw"


def test_hard_lockup() -> None:
    rep = _one("""\
NMI watchdog: Watchdog detected hard LOCKUP on cpu 1
Modules linked in:
CPU: 1 UID: 0 PID: 0 Comm: swapper/1 Not tainted 6.12.0 #1
RIP: 0010:foo_spin_irqs_off+0x12/0x30
Call Trace:
 <NMI>
 ? watchdog_hardlockup_check+0x1a0/0x2a0
 </NMI>
 <TASK>
 foo_spin_irqs_off+0x12/0x30
 </TASK>
""")
    assert (rep.kind, rep.title) == ("hard lockup", "Watchdog detected hard LOCKUP in foo_spin_irqs_off")
    assert rep.guilty_frame == "foo_spin_irqs_off"


def test_rcu_self_detected_stall() -> None:
    rep = _one("""\
rcu: INFO: rcu_preempt self-detected stall on CPU
rcu: 	0-....: (2099 ticks this GP) idle=b0ac/1/0x4000000000000000 softirq=2012/2013 fqs=1033
rcu: 	(t=2100 jiffies g=3369 q=12 ncpus=2)
CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
RIP: 0010:foo_busy_loop+0x9/0x20
Call Trace:
 <IRQ>
 ? rcu_dump_cpu_stacks+0xc8/0x100
 ? rcu_sched_clock_irq+0x3ab/0xb50
 ? update_process_times+0x6a/0xa0
 </IRQ>
 <TASK>
 ? asm_sysvec_apic_timer_interrupt+0x1a/0x20
 ? foo_busy_loop+0x9/0x20
 foo_ioctl+0x9a/0x120
 </TASK>
""")
    assert rep.title == "INFO: rcu detected stall in foo_busy_loop"
    assert rep.guilty_frame == "foo_busy_loop"


def test_inconsistent_lock_state() -> None:
    rep = _one("""\

================================
WARNING: inconsistent lock state
6.12.0 #1 Not tainted
--------------------------------
inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.
swapper/0/0 [HC1[1]:SC0[0]:HE0:SE1] takes:
ffff88807e036018 (&foo->lock){?.+.}-{2:2}, at: foo_irq+0x1c/0x60
{HARDIRQ-ON-W} state was registered at:
  lock_acquire+0xc4/0x2b0
  _raw_spin_lock+0x2a/0x40
  foo_init+0x4a/0x90
irq event stamp: 1234
hardirqs last  enabled at (1233): [<ffffffff81a0c0c6>] default_idle+0xf/0x20

other info that might help us debug this:
 Possible unsafe locking scenario:

       CPU0
       ----
  lock(&foo->lock);
  <Interrupt>
    lock(&foo->lock);

 *** DEADLOCK ***

no locks held by swapper/0/0.

stack backtrace:
CPU: 0 UID: 0 PID: 0 Comm: swapper/0 Not tainted 6.12.0 #1
Call Trace:
 <IRQ>
 dump_stack_lvl+0x5d/0x80
 mark_lock+0x8d1/0xf40
 __lock_acquire+0x6a1/0x2460
 lock_acquire+0xc4/0x2b0
 _raw_spin_lock+0x2a/0x40
 foo_irq+0x1c/0x60
 __handle_irq_event_percpu+0x8a/0x230
 </IRQ>
 <TASK>
 default_idle+0xf/0x20
 </TASK>
""")
    assert (rep.kind, rep.title) == ("lockdep", "inconsistent lock state in foo_irq")
    assert rep.guilty_frame == "foo_irq"
    assert (rep.start_line, rep.first_line) == (2, 3)


def test_bad_unlock_balance() -> None:
    rep = _one("""\
=====================================
WARNING: bad unlock balance detected!
6.12.0 #1 Not tainted
-------------------------------------
sh/85 is trying to release lock (&dev->mutex) at:
[<ffffffff81234567>] foo_close+0x3c/0x70
but there are no more locks to release!

other info that might help us debug this:
no locks held by sh/85.

stack backtrace:
CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 lock_release+0x1b6/0x2f0
 __mutex_unlock_slowpath+0x3c/0x2b0
 foo_close+0x3c/0x70
 </TASK>
""")
    assert rep.title == "WARNING: bad unlock balance in foo_close"
    assert rep.guilty_frame == "foo_close"


def test_suspicious_rcu_usage() -> None:
    rep = _one("""\
=============================
WARNING: suspicious RCU usage
6.12.0 #1 Not tainted
-----------------------------
drivers/foo/core.c:120 suspicious rcu_dereference_check() usage!

other info that might help us debug this:

rcu_scheduler_active = 2, debug_locks = 1
no locks held by sh/85.

stack backtrace:
CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 lockdep_rcu_suspicious+0x155/0x190
 foo_lookup+0x7a/0x90
 foo_ioctl+0x9a/0x120
 </TASK>
""")
    assert rep.title == "WARNING: suspicious RCU usage in foo_lookup"
    assert rep.guilty_frame == "foo_lookup"


def test_invalid_wait_context() -> None:
    rep = _one("""\
=============================
[ BUG: Invalid wait context ]
6.12.0 #1 Not tainted
-----------------------------
swapper/0/1 is trying to lock:
ffff888100b5a1e0 (&foo->mutex){+.+.}-{4:4}, at: foo_update+0x1c/0x60
other info that might help us debug this:
context-{5:5}
1 lock held by swapper/0/1:
 #0: ffffffff82a0c0c0 (foo_spinlock){....}-{3:3}, at: foo_init+0x22/0x90
stack backtrace:
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 __lock_acquire+0x9d8/0x2460
 </TASK>
""")
    assert (rep.kind, rep.title) == ("lockdep", "WARNING: locking bug in foo_update")


def test_kernel_panic_stack_protector() -> None:
    rep = _one("""\
Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: foo_parse+0x1c5/0x1d0
CPU: 0 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 panic+0x118/0x2f0
 __stack_chk_fail+0x14/0x20
 foo_parse+0x1c5/0x1d0
 </TASK>
Kernel Offset: disabled
---[ end Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: foo_parse+0x1c5/0x1d0 ]---
""")
    assert rep.title == "kernel panic: stack is corrupted in foo_parse"
    assert rep.guilty_frame == "foo_parse"


def test_unknown_warning_needs_a_stack() -> None:
    lines = ["WARNING: something odd happened in user space"]
    lines += [f"noise line {i}" for i in range(30)]
    assert scan("\n".join(lines)) == []
    with_stack = ["WARNING: chain_key collision", "CPU: 0 UID: 0 PID: 1 Comm: init", "Call Trace:",
                  " <TASK>", " dump_stack_lvl+0x5d/0x80", " foo_lock_all+0x1c/0x80", " </TASK>"]
    (rep,) = scan("\n".join(with_stack))
    assert rep.title == "WARNING: chain_key collision in foo_lock_all"


# --------------------------------------------------------------------------
# Titles: stable across runs and builds, and free of run-specific details


def test_same_bug_same_title_across_builds_and_runs() -> None:
    variants = [
        NULL_DEREF,
        NULL_DEREF.replace("lkdtm_ACCESS_NULL+0x1e/0x40", "lkdtm_ACCESS_NULL+0x2a/0x50")
        .replace("CPU: 0 PID: 85", "CPU: 1 PID: 4242").replace("0000000000000000", "0000000000000008"),
        "\n".join(f"[{i:5d}.{i:06d}][  T4242] {line}" for i, line in enumerate(
            NULL_DEREF.replace("lkdtm_ACCESS_NULL+0x1e/0x40",
                               "lkdtm_ACCESS_NULL.constprop.0+0x1e/0x40").splitlines())),
        NULL_DEREF.replace("BUG: kernel NULL pointer dereference, address: 0000000000000000",
                           "BUG: unable to handle kernel NULL pointer dereference at 0000000000000000"),
    ]
    titles = {scan(v)[0].title for v in variants}
    assert titles == {"BUG: unable to handle kernel NULL pointer dereference in lkdtm_ACCESS_NULL"}


def test_titles_carry_no_addresses_offsets_or_numbers() -> None:
    import re

    texts = [LAM_BUG_PANIC, SYSRQ_CRASH, WARNING_LKDTM, NULL_DEREF, KASAN_OOB]
    texts += [f"{line}\n" for line, _, _ in HEADER_LINES]
    for text in texts:
        for rep in scan(text):
            assert not re.search(r"\+0x|0x[0-9a-f]|\b[0-9a-f]{8,}\b|:\d|#\d|\b\d+\b", rep.title), \
                rep.title


def test_dedup_counts_titles() -> None:
    text = NULL_DEREF + WARNING_LKDTM + NULL_DEREF.replace("PID: 85", "PID: 90")
    reports = scan(text)
    assert len(reports) == 3
    unique = dedup(reports)
    assert [(t, n) for t, n, _ in unique] == [
        ("BUG: unable to handle kernel NULL pointer dereference in lkdtm_ACCESS_NULL", 2),
        ("WARNING in lkdtm_WARNING", 1),
    ]
    assert unique[0][2] is reports[0]
    assert dedup([]) == []


def test_panic_titles_in_either_spelling() -> None:
    new, old = "kernel panic: Fatal exception", "Kernel panic - not syncing: Fatal exception"
    assert is_panic_title(new) and is_panic_title(old)
    assert not is_panic_title("kernel BUG in demo_bug_fire")
    assert not is_panic_title("WARNING in panic_notifier")
    assert title_aliases(new) == (new, old) and title_aliases(old) == (old, new)
    assert title_aliases("kernel BUG in demo_bug_fire") == ("kernel BUG in demo_bug_fire",)
    # what the parser titles a panic is the current spelling
    (rep,) = scan("Kernel panic - not syncing: Fatal exception\n"
                  "---[ end Kernel panic - not syncing: Fatal exception ]---\n")
    assert rep.title == new and rep.header == old


def test_generic_frames() -> None:
    for name in ("dump_stack_lvl", "panic", "__warn", "asm_exc_page_fault", "kasan_report",
                 "__asan_load8", "memcpy", "strlen", "__kmalloc_noprof", "kfree",
                 "kmem_cache_alloc_noprof", "_raw_spin_lock_irqsave", "mutex_lock_nested",
                 "lock_acquire", "refcount_warn_saturate", "__list_add_valid_or_report",
                 "do_syscall_64", "entry_SYSCALL_64_after_hwframe", "ret_from_fork",
                 "__ubsan_handle_out_of_bounds", "copy_from_user", "rep_movs_alternative",
                 "kthread", "__might_resched", "print_report", "vsnprintf"):
        assert is_generic_frame(name), name
    # the sanitizers' own test cases and ordinary functions are culprits
    for name in ("kmalloc_oob_right", "kasan_memchr", "kmem_cache_double_free",
                 "copy_user_test_oob", "test_ubsan_add_overflow", "switch_mm_irqs_off",
                 "demo_bug_fire", "sysrq_handle_crash", "rtnl_lock", "lkdtm_WARNING",
                 "vmalloc_oob", "ext4_find_extent"):
        assert not is_generic_frame(name), name


# --------------------------------------------------------------------------
# Extraction: interleaving, caller ids, dropped messages, reboots


def test_interleaved_reports_of_two_tasks_are_told_apart_by_caller_id() -> None:
    a = WARNING_LKDTM.splitlines()[1:-1]  # cut here .. end trace, task T88
    b = [line.replace("T88", "T99").replace("lkdtm_WARNING", "foo_check")
         .replace("PID: 88", "PID: 99") for line in a]
    mixed: list[str] = []
    for x, y in zip(a, b, strict=True):
        mixed += [x, y]
    reports = scan("\n".join(mixed) + "\n")
    assert [(r.title, r.context) for r in reports] == [
        ("WARNING in lkdtm_WARNING", "T88"), ("WARNING in foo_check", "T99")]
    first, second = reports
    assert first.lines == a and second.lines == b
    assert (first.start_line, first.first_line, first.last_line) == (1, 3, len(mixed) - 1)
    assert (second.start_line, second.last_line) == (2, len(mixed))
    assert not first.corrupted and not second.corrupted
    assert scan_bytes(("\n".join(mixed) + "\n").encode()) == reports


def test_another_tasks_lines_are_not_part_of_a_report() -> None:
    lines = WARNING_LKDTM.splitlines()
    noisy = lines[:20] + ["[   15.006000][  T120] e1000: eth0 NIC Link is Up 1000 Mbps",
                          "[   15.006001][  T120]  unrelated_frame+0x1/0x2"] + lines[20:]
    (rep,) = scan("\n".join(noisy))
    assert all("T120" not in line for line in rep.lines)
    assert rep.title == "WARNING in lkdtm_WARNING"


def test_rcu_stall_keeps_the_nmi_backtrace_of_the_other_cpu() -> None:
    text = """\
[   80.000001][    C0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[   80.000102][    C0] rcu: 	1-...!: (1 GPs behind) idle=8e4c/1/0x4000000000000000 softirq=2012/2013 fqs=0
[   80.000203][    C0] rcu: 	(detected by 0, t=21002 jiffies, g=3369, q=12 ncpus=2)
[   80.000304][    C0] Sending NMI from CPU 0 to CPUs 1:
[   80.000350][   T77] systemd-journald[77]: Received SIGTERM
[   80.000405][    C1] NMI backtrace for cpu 1
[   80.000506][    C1] CPU: 1 UID: 0 PID: 85 Comm: sh Not tainted 6.12.0 #1
[   80.000607][    C1] RIP: 0010:foo_spin+0x4/0x10
[   80.000708][    C1] Call Trace:
[   80.000809][    C1]  <NMI>
[   80.000850][    C1]  ? nmi_cpu_backtrace+0xd5/0x110
[   80.000910][    C1]  </NMI>
[   80.001011][    C1]  <TASK>
[   80.001112][    C1]  foo_ioctl+0x9a/0x120
[   80.001213][    C1]  </TASK>
"""
    rep = _one(text)
    assert rep.title == "INFO: rcu detected stall in foo_spin"
    assert (rep.first_line, rep.last_line, rep.end_reason) == (1, 15, "stack end")
    assert len(rep.lines) == 14 and not any("T77" in line for line in rep.lines)


def test_unrelated_line_inside_a_report_without_caller_ids() -> None:
    lines = NULL_DEREF.splitlines()
    noisy = lines[:26] + ["virtio_net virtio0 eth0: link up"] + lines[26:]
    (rep,) = scan("\n".join(noisy))
    assert rep.title == "BUG: unable to handle kernel NULL pointer dereference in lkdtm_ACCESS_NULL"
    assert rep.end_reason == "end marker" and not rep.corrupted


def test_dropped_printk_messages_make_a_report_corrupted() -> None:
    lines = WARNING_LKDTM.splitlines()
    text = "\n".join(lines[:10] + ["[   15.005000][   T88] ** 12 printk messages dropped **"]
                     + lines[10:])
    (rep,) = scan(text)
    assert rep.corrupted and rep.end_reason == "end marker"


BANNER = "Linux version 6.12.0 (root@build) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC"


def test_unexpected_reboot() -> None:
    text = f"""\
SeaBIOS (version 1.16.3-debian-1.16.3-2)
[    0.000000] {BANNER}
[    0.000001] Command line: console=ttyS0
[    5.000000] lam-harness: start t.1
SeaBIOS (version 1.16.3-debian-1.16.3-2)
[    0.000000] {BANNER}
[    0.000001] Command line: console=ttyS0
"""
    (rep,) = scan(text)
    assert (rep.kind, rep.title, rep.first_line, rep.last_line) == (
        "reboot", "unexpected kernel reboot", 6, 6)
    assert rep.guilty_frame is None and not rep.corrupted
    assert scan_bytes(text.encode()) == [rep]


def test_reboot_without_earlier_banner_but_with_kernel_output() -> None:
    text = f"[   12.000000] random: crng init done\n[    0.000000] {BANNER}\n"
    (rep,) = scan(text)
    assert rep.kind == "reboot"


def test_first_boot_and_expected_reboots_are_not_reports() -> None:
    assert scan(f"SeaBIOS\n[    0.000000] {BANNER}\n[    0.1] x\n") == []
    # after a panic (panic=10 reboots), after "reboot" asked by the user
    after_panic = SYSRQ_CRASH + f"[    0.000000] {BANNER}\n"
    assert [r.kind for r in scan(after_panic)] == ["panic"]
    asked = (f"[    0.000000] {BANNER}\n[   20.000000] reboot: Restarting system\n"
             f"[    0.000000] {BANNER}\n")
    assert scan(asked) == []


def test_a_reboot_cuts_the_open_report() -> None:
    lines = WARNING_LKDTM.splitlines()[:20] + [f"[    0.000000][    T0] {BANNER}"]
    (warn,) = scan("\n".join(lines))
    assert warn.corrupted and warn.end_reason == "reboot"
    assert warn.last_line == 20


# --------------------------------------------------------------------------
# The fast whole-buffer path gives the same results as the line scanner


@pytest.mark.parametrize("name", ["LAM_BUG_PANIC", "SYSRQ_CRASH", "WARNING_LKDTM", "NULL_DEREF",
                                  "KASAN_OOB", "SEGFAULTS"])
def test_scan_bytes_equals_scan(name: str) -> None:
    text = globals()[name]
    noise = "".join(f"[{i:5d}.000000] random noise line {i}\n" for i in range(50))
    for variant in (text, noise + text + noise, text.rstrip("\n"), text.replace("\n", "\r\n"),
                    noise + text[: len(text) // 2]):
        assert scan_bytes(variant.encode()) == scan(variant), name


def test_scan_bytes_with_invalid_utf8() -> None:
    data = b"\xff\xfe garbage \xc3\n" + NULL_DEREF.encode() + b"\x80\x80BUG\xe2\x82\n"
    assert scan_bytes(data) == scan(data.decode("utf-8", "replace"))


def test_syzbot_style_warning_then_panic_on_warn_with_other_tasks_interleaved() -> None:
    text = """\
[   70.100000][ T5123] executing program
[   70.200000][ T5124] syz-executor.1[5124]: segfault at 0 ip 00007f0000000000 sp 00007ffd00000000 error 14 in syz-executor.1[7f0000000000+1000]
[   70.300000][ T5123] ------------[ cut here ]------------
[   70.300001][ T5123] WARNING: CPU: 1 PID: 5123 at net/core/dev.c:11000 unregister_netdevice_many_notify+0x1a2/0x1c50
[   70.300002][ T5123] Modules linked in:
[   70.300003][ T5125] FAULT_INJECTION: forcing a failure.
[   70.300004][ T5123] CPU: 1 UID: 0 PID: 5123 Comm: syz-executor.0 Not tainted 6.12.0-syzkaller #0
[   70.300005][ T5123] RIP: 0010:unregister_netdevice_many_notify+0x1a2/0x1c50
[   70.300006][ T5125] CPU: 0 UID: 0 PID: 5125 Comm: syz-executor.2 Not tainted 6.12.0-syzkaller #0
[   70.300007][ T5125] Call Trace:
[   70.300008][ T5125]  <TASK>
[   70.300009][ T5125]  should_fail_ex+0x3b0/0x4e0
[   70.300010][ T5123] Call Trace:
[   70.300011][ T5123]  <TASK>
[   70.300012][ T5123]  ? __warn+0x165/0x4d0
[   70.300013][ T5123]  unregister_netdevice_queue+0x29b/0x320
[   70.300014][ T5123]  __tun_detach+0x10a3/0x1460
[   70.300015][ T5123]  </TASK>
[   70.300016][ T5123] Kernel panic - not syncing: kernel: panic_on_warn set ...
[   70.300017][ T5123] CPU: 1 UID: 0 PID: 5123 Comm: syz-executor.0 Not tainted 6.12.0-syzkaller #0
[   70.300018][ T5123] Call Trace:
[   70.300019][ T5123]  <TASK>
[   70.300020][ T5123]  dump_stack_lvl+0x241/0x360
[   70.300021][ T5123]  panic+0x349/0x880
[   70.300022][ T5123]  check_panic_on_warn+0x86/0xb0
[   70.300023][ T5123]  __warn+0x281/0x4d0
[   70.300024][ T5123]  </TASK>
[   70.300025][ T5123] Kernel Offset: disabled
[   70.300026][ T5123] Rebooting in 86400 seconds..
"""
    warn, panic = scan(text)
    assert (warn.title, warn.guilty_frame) == (
        "WARNING in unregister_netdevice_many_notify", "unregister_netdevice_many_notify")
    assert (warn.start_line, warn.first_line, warn.last_line) == (3, 4, 18)
    assert not any("T5125" in line or "T5124" in line for line in warn.lines)
    assert (panic.title, panic.guilty_frame) == ("kernel panic: kernel: panic_on_warn set ...", None)
    assert (panic.first_line, panic.last_line, panic.end_reason) == (19, 29, "panic end")
    assert scan_bytes(text.encode()) == [warn, panic]


def test_rcu_stall_names_the_looping_function_not_the_detector() -> None:
    # the detector's frames (sched_show_task, check_cpu_stall...) and the
    # function the loop happened to be in (memcpy, mulaw_decode) are not the
    # title: the caller of the vfs entry is (STALL_ANCHORS)
    text = """\
INFO: rcu_sched detected stalls on CPUs/tasks:
syz-executor1   R  running task    24936 11943   3739 0x0000000c
Call Trace:
 <IRQ>
 sched_show_task+0x4a3/0x5e0
 print_other_cpu_stall+0x996/0x1090
 check_cpu_stall.isra.61+0x6e6/0x15b0
 rcu_check_callbacks+0x256/0xd00
 update_process_times+0x30/0x60
 smp_apic_timer_interrupt+0x14a/0x700
 apic_timer_interrupt+0xa9/0xb0
 </IRQ>
RIP: 0010:check_memory_region+0x38/0x190
 memcpy+0x37/0x50
 mulaw_decode+0x52f/0x770
 snd_pcm_oss_write+0x5fe/0x830
 __vfs_write+0xef/0x970
 vfs_write+0x189/0x510
 SyS_write+0xef/0x220
 entry_SYSCALL_64_fastpath+0x23/0x9a
"""
    (rep,) = scan(text)
    assert (rep.title, rep.guilty_frame) == ("INFO: rcu detected stall in snd_pcm_oss_write",
                                             "snd_pcm_oss_write")


def test_unwinder_warning_inside_a_report_is_part_of_it() -> None:
    text = """\
BUG: KASAN: use-after-free in foo+0x1/0x2
Read of size 8 at addr ffff888103e1b100 by task sh/85
Call Trace:
WARNING: kernel stack regs at ffff8801d100fea8 in sh:85 has bad 'bp' value ffff8801d100ff28
 foo+0x1/0x2
==================================================================
"""
    (rep,) = scan(text)
    assert rep.title == "KASAN: use-after-free Read in foo"
    assert len(rep.lines) == 6


def test_tool_timestamp_before_a_kernel_message() -> None:
    (rep,) = scan("2018/01/09 14:28:48 BUG: memory leak\nunreferenced object 0xffff (size 32):\n"
                  "  backtrace:\n    [<000000005cb5aa0e>] kmem_cache_alloc+0x1d3/0x3f0\n"
                  "    [<00000000c8234a88>] sget+0x38/0xc0\n")
    assert (rep.kind, rep.title) == ("memory leak", "memory leak in sget")


def test_normalize_title_folds_syzkaller_program_names() -> None:
    for name in ("syz-executor1", "syz-executor.3", "syz-executor209"):
        assert normalize_title(f"BUG: Bad page state in process {name}") == (
            "BUG: Bad page state in process syz-executor")
    assert normalize_title("WARNING at CPU#0: syz.9.803/NUM") == "WARNING at CPU#NUM: syz/NUM"
    t = normalize_title("x syz-executor.1 syz.0.17")
    assert normalize_title(t) == t == "x syz-executor syz"


# --------------------------------------------------------------------------
# Issue 16, second round: frame sources and formats of other architectures


def test_arm_backtrace_lines_are_frames_callee_then_caller() -> None:
    # arm prints "Backtrace:" then "[<pc>] (callee) from [<lr>] (caller+off/size)"
    text = """\
[   75.100000] Unable to handle kernel NULL pointer dereference at virtual address 00001044
[   75.100001] Internal error: Oops: 805 [#1] SMP ARM
[   75.100002] PC is at memset+0x30/0xa8
[   75.100003] Backtrace: 
[   75.100004] [<80b10c70>] (memset) from [<8062eec8>] (n_tty_set_termios+0x154/0x3c4)
[   75.100005] [<8062eec8>] (n_tty_set_termios) from [<80632588>] (tty_set_termios+0x1bc/0x230)
[   75.100006] ---[ end trace 0000000000000000 ]---
"""
    (rep,) = scan(text)
    assert rep.guilty_frame == "n_tty_set_termios"
    # the last line's caller is a frame too: an exception entry that is to blame
    text = """\
[ 9080.460000] 8<--- cut here ---
[ 9080.460001] Unhandled fault: page domain fault (0x01b) at 0x00000000
[ 9080.460002] Internal error: : 1b [#1] PREEMPT SMP ARM
[ 9080.467190] PC is at __sanitizer_cov_trace_pc+0x4c/0x78
[ 9080.468000] Backtrace: 
[ 9080.479068] [<802b3ffc>] (__sanitizer_cov_trace_pc) from [<802e1324>] (trace_hardirqs_off+0x6c/0x120)
[ 9080.480508] [<802e12b8>] (trace_hardirqs_off) from [<80100a74>] (__dabt_svc+0x54/0xa0)
[ 9080.481000] ---[ end trace 0000000000000000 ]---
"""
    (rep,) = scan(text)
    assert rep.title == "Unhandled fault in __dabt_svc"


def test_riscv_unindented_frames() -> None:
    text = """\
[   75.192486] WARNING: CPU: 1 PID: 4090 at arch/riscv/mm/physaddr.c:16 __virt_to_phys+0x44/0x5c
[   75.216759] Call Trace:
[   75.217460] [<ffffffe00020383c>] walk_stackframe+0x0/0xaa
[   75.219851] [<ffffffe002150a3a>] dump_stack+0x8e/0xb4
[   75.221402] [<ffffffe00020fd1e>] __warn+0x88/0x108
[   75.222008] [<ffffffe000203766>] do_trap_break+0x56/0xa2
[   75.222332] [<ffffffe000201bae>] ret_from_exception+0x0/0x10
[   75.223000] ---[ end trace 0000000000000000 ]---
"""
    (rep,) = scan(text)
    assert rep.guilty_frame == "ret_from_exception"


def test_stall_anchor_netif_receive_skb_blames_the_protocol_handler() -> None:
    text = """\
[  323.830017] INFO: rcu_sched detected stalls on CPUs/tasks:
[  323.861597] Call Trace:
[  323.864155]  <IRQ>
[  323.866280]  sched_show_task+0x4a3/0x5e0
[  324.082553]  update_process_times+0x30/0x60
[  324.134365]  hrtimer_interrupt+0x1c2/0x5e0
[  324.172031]  apic_timer_interrupt+0xa9/0xb0
[  324.176323] RIP: 0010:__sanitizer_cov_trace_pc+0x0/0x50
[  324.234345]  __xfrm_decode_session+0x68/0x110
[  324.425219]  ip6_input+0xe9/0x560
[  324.445039]  ip6_rcv_finish+0x1a9/0x7a0
[  324.460829]  ipv6_rcv+0xf37/0x1fa0
[  324.498351]  __netif_receive_skb_core+0x1a41/0x3460
[  324.596827]  process_backlog+0x203/0x740
[  324.711663]  __do_softirq+0x2d7/0xb85
[  324.767312]  </IRQ>
"""
    (rep,) = scan(text)
    assert rep.title == "INFO: rcu detected stall in ipv6_rcv"


def test_soft_lockup_in_smp_call_function_is_one_title_and_looks_at_the_first_trace() -> None:
    text = """\
[ 1098.601132][    C2] watchdog: BUG: soft lockup - CPU#2 stuck for 136s! [syz-executor4:4888]
[ 1098.616349][    C2] RIP: 0010:__sanitizer_cov_trace_const_cmp4+0xd/0x20
[ 1098.632107][    C2] Call Trace:
[ 1098.632573][    C2]  smp_call_function_many+0x8d5/0xb10
[ 1098.637451][    C2]  on_each_cpu+0x31/0x200
[ 1098.690774][    C2]  entry_SYSCALL_64_after_hwframe+0x49/0xbe
[ 1098.701358][    C2] Sending NMI from CPU 2 to CPUs 0-1,3:
[ 1098.702519][    C1] NMI backtrace for cpu 1
[ 1098.702570][    C1] Call Trace:
[ 1098.702571][    C1]  <IRQ>
[ 1098.702572][    C1]  apic_timer_interrupt+0xf/0x20
[ 1098.702573][    C1]  </IRQ>
[ 1098.702575][    C1]  vblank_disable_fn+0x1/0x2
[ 1098.702583][    C1]  call_timer_fn+0x1/0x2
"""
    (rep,) = scan(text)
    assert rep.title == "BUG: soft lockup in smp_call_function"


def test_circular_locking_blames_the_first_dependency_chain_after_workqueue_locks() -> None:
    text = """\
[ 1319.865875][   T43] WARNING: possible circular locking dependency detected
[ 1319.875308][   T43] kworker/u8:2/43 is trying to acquire lock:
[ 1319.879142][   T43] ffffc9000027fdf0 ((work_completion)(&peer->work)){+.+.}, at: process_one_work+0x8c0/0x17b0
[ 1319.886943][   T43] but task is already holding lock:
[ 1319.889733][   T43] ffff8880649b0d28 ((wq_completion)wg-kex){+.+.}, at: process_one_work+0x88b/0x17b0
[ 1319.898798][   T43] the existing dependency chain (in reverse order) is:
[ 1319.919496][   T43] -> #2 ((wq_completion)wg-kex){+.+.}:
[ 1319.921136][   T43]        flush_workqueue+0x115/0x1520
[ 1319.922126][   T43]        peer_remove_after_dead+0x16a/0x230
[ 1319.923180][   T43]        wg_peer_remove+0x23f/0x340
[ 1320.000000][   T43] stack backtrace:
[ 1320.000001][   T43] Call Trace:
[ 1320.000002][   T43]  dump_stack+0x1/0x2
[ 1320.000003][   T43]  worker_thread+0x1/0x2
[ 1320.000004][   T43]  </TASK>
"""
    (rep,) = scan(text)
    assert rep.title == "possible deadlock in peer_remove_after_dead"


def test_inconsistent_lock_state_blames_what_takes_the_lock() -> None:
    text = """\
[  860.100000][    C1] WARNING: inconsistent lock state
[  860.100001][    C1] inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.
[  860.100002][    C1] syz-executor/1 [HC0[0]:SC1[1]:HE1:SE0] takes:
[  860.146481][    C1] ffffffff8c9dd960 (fs_reclaim){+.?.}-{0:0}, at: kmem_cache_alloc_node+0x46/0x340
[  860.155717][    C1] {SOFTIRQ-ON-W} state was registered at:
[  860.161435][    C1]   lock_acquire+0x19f/0x4d0
[  860.166029][    C1]   fs_reclaim_acquire+0x77/0x110
[  860.200000][    C1] Call Trace:
[  860.200001][    C1]  tcp_v6_rcv+0x1/0x2
[  860.200002][    C1]  </TASK>
"""
    (rep,) = scan(text)
    assert rep.title == "inconsistent lock state in fs_reclaim_acquire"


def test_usb_submit_urb_warning_names_the_caller() -> None:
    text = """\
[   38.721146][   T12] WARNING: CPU: 0 PID: 12 at drivers/usb/core/urb.c:477 usb_submit_urb+0x119a/0x13c0
[   38.825726][   T12] RIP: 0010:usb_submit_urb+0x119a/0x13c0
[   38.765659][   T12] Call Trace:
[   38.835042][   T12]  ? usb_submit_urb+0x119a/0x13c0
[   38.835074][   T12]  submit_rx_urb+0x2e1/0x3e0
[   38.843545][   T12]  hfa384x_drvr_start+0x1cb/0x420
[   38.900000][   T12] ---[ end trace 0000000000000000 ]---
"""
    (rep,) = scan(text)
    assert (rep.title, rep.guilty_frame) == ("WARNING in submit_rx_urb/usb_submit_urb",
                                             "submit_rx_urb/usb_submit_urb")


def test_untimestamped_user_output_inside_a_timestamped_report_is_not_part_of_it() -> None:
    text = """\
[  709.689951] INFO: rcu_sched detected stalls on CPUs/tasks:
[  709.752766] Call Trace:
[  709.755323]  <IRQ>  [<ffffffff813a0886>] sched_show_task+0x2a6/0x4f0
[  709.843176]  [<ffffffff81011752>] smp_apic_timer_interrupt+0x20/0x2e
[  709.859295]  [<ffffffff81718c49>] free_percpu+0x1c9/0x360
[  709.881810]  [<ffffffff8160eed1>] bpf_map_free_deferred+0xb1/0xe0
executing program
[  709.888018]  [<ffffffff81363350>] process_one_work+0x8c0/0x15a0
[  709.894051]  [<ffffffff81364111>] worker_thread+0xe1/0xf70
[  709.900000] other output
"""
    (rep,) = scan(text)
    assert rep.title == "INFO: rcu detected stall in bpf_map_free_deferred"
    assert "executing program" not in rep.lines
    assert rep.end_reason == "stack end"


def test_cxx_frames_are_demangled() -> None:
    text = """\
[  492.200000][T24950] WARNING: possible recursive locking detected
[  492.200764][T24950] ffff888106a71958 (&q->elevator_lock){+.+.}-{4:4}, at: _Z8fakeNameiii+0x49a/0x1a10
[  492.200765][T24950] ffff888106a71958 (&q->elevator_lock){+.+.}-{4:4}, at: _ZN3foo3barEv+0x1/0x2
[  492.200766][T24950] </TASK>
"""
    (rep,) = scan(text)
    assert rep.title == "possible deadlock in fakeName"


def test_syzfail_is_a_report() -> None:
    (rep,) = scan("SYZFAIL: negative running\nrunning=-1 collide=0\n")
    assert (rep.kind, rep.title) == ("SYZFAIL", "SYZFAIL: negative running")


def test_soft_lockup_trace_without_the_detector_is_all_interrupted_code() -> None:
    # 5.10: show_regs() of the interrupted code; the timer interrupt in it is a
    # nested one (a softirq run on its way out), not the detector's
    text = """\
[  516.600000][    C1] watchdog: BUG: soft lockup - CPU#1 stuck for 123s! [syz-executor.4:1]
[  516.700000][    C1] RIP: 0010:jhash+0x1/0x2
[  516.846256][    C1] Call Trace:
[  516.852462][    C1]  __rhashtable_lookup+0x22b/0x780
[  516.954196][    C1]  ieee80211_tasklet_handler+0xd3/0x130
[  516.959733][    C1]  tasklet_action_common.constprop.0+0x22f/0x2d0
[  516.966051][    C1]  __do_softirq+0x2a0/0x9f6
[  516.987990][    C1]  sysvec_apic_timer_interrupt+0x4d/0x100
[  516.993697][    C1]  asm_sysvec_apic_timer_interrupt+0x12/0x20
[  517.232377][    C1]  inet_sendmsg+0x99/0xe0
[  517.241996][    C1]  sock_sendmsg+0xcf/0x120
[  517.250000][    C1]  </TASK>
"""
    (rep,) = scan(text)
    assert rep.title == "BUG: soft lockup in ieee80211_tasklet_handler"
    # 4.x: the detector's frames come first, in the timer interrupt
    text = """\
[  100.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [syz-executor0:1]
[  100.000001] Call Trace:
[  100.000002]  <IRQ>
[  100.000003]  watchdog_timer_fn+0x1/0x2
[  100.000004]  __hrtimer_run_queues+0x1/0x2
[  100.000005]  hrtimer_interrupt+0x1/0x2
[  100.000006]  apic_timer_interrupt+0x1/0x2
[  100.000007]  </IRQ>
[  100.000008]  foo_loop+0x1/0x2
[  100.000009]  foo_ioctl+0x1/0x2
[  100.000010]  do_vfs_ioctl+0x1/0x2
[  100.000011]  SyS_ioctl+0x1/0x2
[  100.000012] other
"""
    (rep,) = scan(text)
    assert rep.title == "BUG: soft lockup in foo_ioctl"


def test_rcu_stall_task_dumps_of_other_cpus_are_part_of_the_report() -> None:
    # "Task dump for CPU N:" between the traces does not end the report; the
    # trace with the timer interrupt (arm64: el1h_64_irq) is the stalled one
    text = """\
[  417.725670][    C1] rcu: INFO: rcu_sched self-detected stall on CPU
[  417.737083][    C1] rcu: RCU grace-period kthread stack dump:
[  417.741712][    C1] Call trace:
[  417.742580][    C1]  __switch_to+0x123/0x123
[  417.745979][    C1]  schedule_timeout+0x123/0x123
[  417.748498][    C1]  rcu_gp_kthread+0x123/0x123
[  417.753610][    C1] Task dump for CPU 1:
[  417.764661][    C1] Call trace:
[  417.774184][    C1]  rcu_sched_clock_irq+0x123/0x123
[  417.788820][    C1]  el1_interrupt+0x123/0x123
[  417.791312][    C1]  el1h_64_irq+0x123/0x123
[  417.792422][    C1]  lock_acquire+0x123/0x123
[  417.796127][    C1]  tcp_bpf_recvmsg_parser+0x123/0x123
[  417.801142][    C1]  __arm64_sys_recvmmsg+0x123/0x123
[  417.802546][    C1]  invoke_syscall+0x123/0x123
[  417.810000][    C1] other
"""
    (rep,) = scan(text)
    # the syscall by its name, not its wrapper's (as the bots title it)
    assert rep.title == "INFO: rcu detected stall in sys_recvmmsg"
    (rep,) = scan(text.replace("__arm64_sys_recvmmsg", "__do_sys_recvmmsg"))
    assert rep.title == "INFO: rcu detected stall in sys_recvmmsg"


def test_kernel_message_after_the_getty_prompt() -> None:
    text = """\
syzkaller login: Unable to handle kernel paging request at virtual address fc14ef08
Internal error: Oops: 5 [#1] SMP ARM
PC is at migrate_task_rq_fair+0x58/0xa8
---[ end trace 0000000000000000 ]---
"""
    (rep,) = scan(text)
    assert rep.title == "BUG: unable to handle kernel paging request in migrate_task_rq_fair"


def test_stack_dump_followed_only_by_user_output_ended() -> None:
    text = """\
[  100.000000] INFO: task sh:1 blocked for more than 120 seconds.
[  100.000001] Call Trace:
[  100.000002]  schedule+0x1/0x2
[  100.000003]  foo_wait+0x1/0x2
# echo done
done
"""
    for reps in (scan(text), scan_bytes(text.encode())):
        (rep,) = reps
        assert (rep.title, rep.end_reason, rep.corrupted) == (
            "INFO: task hung in foo_wait", "stack end", False)
        assert rep.last_line == 4


def test_rust_panic_is_titled_by_its_message_and_the_demangled_function() -> None:
    text = """\
[   60.002464][ T2148] rust_kernel: panicked at /src/kernel/rust/kernel/page_size_compat.rs:60:5:
[   60.002464][ T2148] attempt to add with overflow
[   60.029392][ T2148] ------------[ cut here ]------------
[   60.034979][ T2148] kernel BUG at rust/helpers/bug.c:7!
[   60.041680][ T2148] Oops: invalid opcode: 0000 [#1] PREEMPT SMP KASAN PTI
[   60.069552][ T2148] RIP: 0010:rust_helper_BUG+0x8/0x10
[   60.146289][ T2148] Call Trace:
[   60.146302][ T2148]  <TASK>
[   60.146312][ T2148]  _RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind+0x15b/0x160
[   60.189785][ T2148]  _RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt+0x84/0x90
[   60.426733][ T2148]  _RNvXs1_CscPPBqWtAqum_11ashmem_rustNtB5_6AshmemNtNtCs43vyB533jt3_6kernel10miscdevice10MiscDevice4mmap+0xe44/0xfb0
[   60.477260][ T2148]  mmap_region+0x1371/0x1bd0
[   60.500000][ T2148] ---[ end trace 0000000000000000 ]---
"""
    (rep,) = scan(text)
    assert rep.kind == "kernel BUG"
    assert rep.guilty_frame == "<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap"
    assert rep.title == ("attempt to add with overflow in "
                         "<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap")
    assert rep.end_reason == "end marker"


def test_rust_panic_without_its_message() -> None:
    text = """\
[   60.002464][ T2148] rust_kernel: panicked at /src/rust/kernel/lib.rs:1:1:
[   60.029392][ T2148] ------------[ cut here ]------------
[   60.034979][ T2148] kernel BUG at rust/helpers/bug.c:7!
[   60.041680][ T2148] Oops: invalid opcode: 0000 [#1] PREEMPT SMP KASAN PTI
[   60.069552][ T2148] RIP: 0010:rust_helper_BUG+0x8/0x10
[   60.146289][ T2148] Call Trace:
[   60.477260][ T2148]  _RNvNtCs1_4kern5thing4poke+0x1/0x2
[   60.500000][ T2148] ---[ end trace 0000000000000000 ]---
"""
    (rep,) = scan(text)
    assert rep.title == "Rust panic in kern::thing::poke"


def test_kasan_report_in_the_unwinder_blames_it() -> None:
    text = """\
[  244.852147] BUG: KASAN: use-after-free in __unwind_start+0x2d/0x330
[  244.858531] Write of size 88 at addr ffff8801cd04fe98 by task loop0/26991
[  244.884113] Call Trace:
[  247.901862]  ? kthread+0x37a/0x440
[  247.905374]  ? loop_get_status64+0x110/0x110
[  248.046081] ==================================================================
"""
    (rep,) = scan(text)
    assert rep.title == "KASAN: use-after-free Write in __unwind_start"
    # in a call trace the unwinder is dump machinery
    assert is_generic_frame("__unwind_start")


def test_firmware_banner_after_other_output_is_an_unexpected_reboot() -> None:
    boot = ("SeaBIOS (version 1.8.2-20171012_061934-google)\n"
            "Booting from Hard Disk 0...\n"
            "[    0.000000] Linux version 4.15.0 (syzkaller@ci) (gcc version 7.1.1) #54 SMP\n")
    for reps in (scan(boot), scan_bytes(boot.encode())):
        assert reps == []  # the first boot
    text = "\n\ntkill(r8, 0x13)\nmmap(&(0x7f0000000000/0x1000)=nil, 0x1000)\n" + boot
    for reps in (scan(text), scan_bytes(text.encode())):
        (rep,) = reps
        assert (rep.kind, rep.title) == ("reboot", "unexpected kernel reboot")
    # blank lines before the firmware are not output
    assert scan_bytes(b"\n\n" + boot.encode()) == []


def test_stack_overflow_is_named_by_the_recursion_entry() -> None:
    # a recursion: the callee of the first dispatcher below it, as for a stall
    lines = ["[ 2374.042591][    C0] BUG: TASK stack guard page was hit at ffffc9000e4aff58 "
             "(stack is ffffc9000e4b0000..ffffc9000e4b8000)",
             "[ 2374.042687][    C0] RIP: 0010:mark_lock+0x23/0x17b0",
             "[ 2374.042910][    C0] Call Trace:",
             "[ 2374.042916][    C0]  <TASK>"]
    for _ in range(20):
        lines += ["[ 2374.049399][    C0]  notifier_call_chain+0xb5/0x200",
                  "[ 2374.049603][    C0]  bond_netdev_event+0x755/0xae0"]
    lines += ["[ 2374.050829][    C0]  do_setlink+0x9f3/0x3970",
              "[ 2374.051285][    C0]  rtnl_newlink+0x64/0xa0",
              "[ 2374.051311][    C0]  rtnetlink_rcv_msg+0x413/0xb80",
              "[ 2374.051933][    C0]  </TASK>"]
    (rep,) = scan("\n".join(lines) + "\n")
    assert rep.title == "BUG: stack guard page was hit in rtnl_newlink"
