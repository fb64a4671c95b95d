"""Tests for harness.parse.oops on console excerpts in the kernel's real formats."""

# The console excerpts are verbatim: long lines, and the trailing space printk
# leaves on empty lines ("[   11.833841] ") is part of the format under test.
# ruff: noqa: E501, W291

from __future__ import annotations

import pytest

from harness.parse.oops import (
    HEADERS,
    PREFILTER,
    OopsScanner,
    Report,
    clean_line,
    normalize_title,
    scan,
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

    assert bug.title == "kernel BUG at arch/x86/mm/tlb.c:593!"
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
    assert panic.title == "Kernel panic - not syncing: Fatal exception"
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
    assert panic.title == "Kernel panic - not syncing: sysrq triggered crash"
    assert (panic.first_line, panic.last_line) == (2, 27)
    assert panic.lines[0].endswith("Kernel panic - not syncing: sysrq triggered crash")
    assert "sysrq: Trigger a crash" not in panic.text
    assert panic.guilty_frame == "sysrq_handle_crash"
    assert not panic.corrupted


def test_warning_with_cut_here_and_caller_ids() -> None:
    (warn,) = scan(WARNING_LKDTM)
    assert warn.kind == "WARNING"
    assert warn.title == "WARNING in lkdtm_WARNING"
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
Call Trace:
 <TASK>
 debug_check_no_obj_freed+0x1f5/0x220
 kfree+0xd1/0x180
 </TASK>
---[ end trace 0000000000000000 ]---
"""
    (warn,) = scan(text)
    assert warn.title == "WARNING in debug_print_object"
    assert (warn.start_line, warn.first_line, warn.last_line) == (1, 3, 11)
    assert "ODEBUG: free active" in warn.lines[1]


def test_null_pointer_dereference() -> None:
    (bug,) = scan(NULL_DEREF)
    assert bug.kind == "BUG"
    assert bug.title == "BUG: kernel NULL pointer dereference, address: 0000000000000000"
    assert (bug.start_line, bug.first_line, bug.last_line) == (NULL_HEADER, NULL_HEADER, NULL_END)
    assert "#PF: supervisor read access in kernel mode" in bug.text
    assert "Oops: 0000 [#1] PREEMPT SMP NOPTI" in bug.text  # the die() line continues it
    assert bug.guilty_frame == "lkdtm_ACCESS_NULL"
    assert bug.end_reason == "end marker"
    assert "note: sh[85]" not in bug.text


def test_kasan_slab_out_of_bounds() -> None:
    (kasan,) = scan(KASAN_OOB)
    assert kasan.kind == "KASAN"
    assert kasan.title == "BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x6be/0x7b0"
    assert kasan.start_line == KASAN_OPEN_RULER
    assert kasan.first_line == KASAN_HEADER
    assert kasan.last_line == KASAN_CLOSE_RULER  # not the </TASK> of its stack dump
    assert kasan.lines[0].endswith("=" * 66)
    assert kasan.lines[-1].endswith("=" * 66)
    assert kasan.end_reason == "ruler"
    assert kasan.guilty_frame == "kmalloc_oob_right"
    assert kasan.signature == "BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right"


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
    assert rep.title == "WARNING: possible circular locking dependency detected"
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
    assert rep.title == "INFO: task sh:85 blocked for more than 122 seconds."
    assert (rep.first_line, rep.last_line) == (1, 13)
    assert rep.guilty_frame == "lkdtm_HUNG_TASK"
    assert rep.signature == "INFO: task sh:NUM blocked for more than NUM seconds."


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
    assert rep.title == "UBSAN: array-index-out-of-bounds in drivers/misc/lkdtm/bugs.c:401:16"
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
    assert lockup.title == "watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [sh:85]"
    assert (lockup.first_line, lockup.last_line) == (1, 11)
    assert lockup.guilty_frame == "lkdtm_SOFTLOCKUP"
    assert lockup.signature == "watchdog: BUG: soft lockup - CPU#NUM stuck for 26s! [sh:NUM]"
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
    assert rep.title == "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"
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
    assert rep.title.startswith("Oops: general protection fault, probably for non-canonical")
    assert (rep.first_line, rep.last_line) == (1, 10)
    assert rep.guilty_frame == "bar_probe"
    assert rep.signature == (
        "Oops: general protection fault, probably for non-canonical address ADDR: "
        "NUM [#NUM] PREEMPT SMP KASAN NOPTI"
    )


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
    assert first.guilty_frame == "first_fn"
    assert (second.kind, second.first_line, second.last_line) == ("Oops", 5, 7)
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
    warn, panic = scan(text)
    assert (warn.first_line, warn.last_line, warn.end_reason) == (2, 4, "next report")
    assert (panic.first_line, panic.last_line) == (5, 7)


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
    assert rep.title == "BUG: kernel NULL pointer dereference, address: 0000000000000008"
    assert rep.corrupted


# --------------------------------------------------------------------------
# The header table


@pytest.mark.parametrize(
    ("line", "kind", "title"),
    [
        ("kernel BUG at mm/slub.c:4520!", "kernel BUG", None),
        ("BUG: unable to handle page fault for address: ffffc90000a0f000", "BUG", None),
        ("BUG: scheduling while atomic: swapper/0/0/0x00000002", "BUG", None),
        ("Oops: 0000 [#1] PREEMPT SMP NOPTI", "Oops", None),
        ("Oops[#1]:", "Oops", None),
        ("Oops: stack guard page: 0000 [#1] PREEMPT SMP NOPTI", "Oops", None),
        ("Internal error: Oops: 0000000096000005 [#1] PREEMPT SMP", "Oops", None),
        ("general protection fault: 0000 [#1] SMP PTI", "general protection fault", None),
        ("Oops: divide error: 0000 [#1] PREEMPT SMP NOPTI", "divide error", None),
        ("divide error: 0000 [#1] SMP", "divide error", None),
        ("invalid opcode: 0000 [#1] PREEMPT SMP DEBUG_PAGEALLOC NOPTI", "invalid opcode", None),
        ("Oops: stack segment: 0000 [#1] PREEMPT SMP KASAN NOPTI", "stack segment", None),
        ("Oops: double fault: 0000 [#1] PREEMPT SMP NOPTI", "double fault", None),
        ("PANIC: double fault, error_code: 0x0", "double fault", None),
        ("WARNING: CPU: 0 PID: 1 at lib/foo.c:12 foo+0x1/0x2", "WARNING", "WARNING in foo"),
        (
            "WARNING: CPU: 0 PID: 1 at net/core/dev.c:10 bar.constprop.0+0x1/0x2 [mymod]",
            "WARNING",
            "WARNING in bar",
        ),
        ("WARNING: CPU: 3 PID: 0 at kernel/foo.c:7", "WARNING", None),
        ("WARNING: inconsistent lock state", "lockdep", None),
        ("WARNING: possible recursive locking detected", "lockdep", None),
        ("WARNING: suspicious RCU usage", "lockdep", None),
        ("WARNING: bad unlock balance detected!", "lockdep", None),
        ("WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected", "lockdep", None),
        ("[ INFO: possible circular locking dependency detected ]", "lockdep", None),
        ("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
         "panic", None),
        ("UBSAN: shift-out-of-bounds in lib/foo.c:3:9", "UBSAN", None),
        ("INFO: rcu_sched detected stalls on CPUs/tasks:", "RCU stall", None),
        ("rcu: INFO: rcu_preempt self-detected stall on CPU", "RCU stall", None),
        ("INFO: task kworker/u4:1:12 blocked for more than 143 seconds.", "hung task", None),
        ("watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]", "soft lockup", None),
        ("watchdog: Watchdog detected hard LOCKUP on cpu 1", "hard lockup", None),
        ("BUG: KFENCE: out-of-bounds read in test_oob+0x1/0x2", "KFENCE", None),
    ],
)
def test_header_table(line: str, kind: str, title: str | None) -> None:
    (rep,) = scan(f"[    1.000000] {line}\n")
    assert rep.kind == kind
    assert rep.title == (title or line)
    assert rep.first_line == rep.last_line == 1
    assert rep.corrupted


def test_every_header_literal_passes_the_prefilter() -> None:
    for h in HEADERS:
        assert any(lit in h.literal for lit in PREFILTER), h


def test_normalize_title() -> None:
    assert normalize_title("kernel BUG at arch/x86/mm/tlb.c:593!") == (
        "kernel BUG at arch/x86/mm/tlb.c:NUM!"
    )
    assert normalize_title(
        "BUG: kernel NULL pointer dereference, address: 0000000000000000"
    ) == "BUG: kernel NULL pointer dereference, address: ADDR"
    assert normalize_title("WARNING in switch_mm_irqs_off") == "WARNING in switch_mm_irqs_off"


def test_to_dict_matches_the_cli_contract() -> None:
    (rep,) = scan(NULL_DEREF)
    d = rep.to_dict()
    assert set(d) == {
        "title", "kind", "guilty_frame", "first_line", "last_line", "corrupted", "text",
    }
    assert d["text"] == rep.text


# --------------------------------------------------------------------------
# A long clean boot log


def test_100k_line_clean_log() -> None:
    boot = [
        "Linux version 6.12.0 (root@build) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC",
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
        "=== LAM-HARNESS READY ===",
    ]
    lines = [f"[{i / 1000:12.6f}] {boot[i % len(boot)]}" for i in range(100_000)]
    scanner = OopsScanner()
    for line in lines:
        assert not scanner.feed(line)
    assert scanner.flush() == []
    assert scanner.lineno == 100_000
    assert scan("\n".join(lines)) == []
