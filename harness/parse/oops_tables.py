"""The oops knowledge, as data (after syzkaller's ``pkg/report/linux.go``):
what the kernel prints when something goes wrong, modelled on its own printk
formats (lib/bug.c, kernel/panic.c ``__warn``, arch/x86/kernel/dumpstack.c
and traps.c, arch/x86/mm/fault.c, kernel/hung_task.c, kernel/watchdog.c,
mm/kasan/report.c, mm/kmemleak.c, kernel/kcsan/report.c, lib/ubsan.c,
kernel/locking/lockdep.c, kernel/rcu/tree_stall.h, mm/page_alloc.c ...).
The engine that applies these tables is :mod:`harness.parse.oops`.

* ``HEADERS``: one :class:`Header` per report start: the kind, a literal that
  must occur in the line, a regex matched at the start of the cleaned line,
  how the report ends (:class:`End`), the title template, where the guilty
  frame comes from (:class:`Src`, in order) and which frames to skip for this
  kind on top of ``GENERIC_FRAMES``.  Order matters: the first match wins.
* ``SUPPRESSIONS``: lines that look like headers but are not kernel bugs
  (user-space segfaults and traps, ``ODEBUG: Out of memory``, ``lockdep is
  turned off``, boot-time mitigation notices...).
* ``GENERIC_FRAMES`` and the per-kind skip lists: call-trace frames that never
  carry the blame (report and dump helpers, the warn/BUG/die/panic machinery,
  exception and interrupt entry, sanitizer runtimes, allocators, string and
  user-copy helpers, locking primitives...).
* ``PREFILTER``: a line can only start, precede or mark a report if it
  contains one of these literals.

Pure data: no I/O, stdlib only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "End",
    "GENERIC_FRAMES",
    "GRACE_LINES",
    "HEADER_GUILTY",
    "HEADERS",
    "Header",
    "PREFILTER",
    "SUPPRESSIONS",
    "Src",
    "CUT_HERE",
    "FIRMWARE",
    "FUNC",
    "REBOOT",
    "RESTART",
    "RULER_LITERAL",
    "rx_any",
    "NO_FRAME",
    "STALL_ANCHORS",
    "STALL_DETECTOR",
    "STALL_IRQ",
    "TITLE_REWRITES",
]

class End(enum.Enum):
    """How a report of this kind ends (besides the universal end markers)."""

    TRACE = "trace"  # only at ---[ end trace ]--- / ---[ end Kernel panic ]---
    RULER = "ruler"  # at the ===== ruler closing a sanitizer report
    STACK = "stack"  # at </TASK> closing the dump_stack() (until a die() line is seen)
    PANIC = "panic"  # at ---[ end Kernel panic ]---, or after Kernel Offset:/Rebooting in
    LINE = "line"  # the header line is the whole report (the reboot banner)


class Src(enum.Enum):
    """Where guilty-frame candidates come from, tried in the header's order."""

    HEADER = "header"  # the function the header names ("in f+0x1/0x2", "at f.c:1 f+0x1/0x2")
    BODY = "body"  # Header.body_func found in the report ("workfn=f")
    RIP = "rip"  # the first "RIP: 0010:f+0x1/0x2" naming a kernel function
    TRACE = "trace"  # reliable frames (no "?") after "Call Trace:"
    AT = "at"  # lockdep's "(&lock){+.+.}, at: f+0x1/0x2" lines, in order
    ALLOC = "alloc"  # frames after "page last allocated" (bad page state)
    FRAMES = "frames"  # every reliable frame line of the report (KCSAN, KFENCE...)
    STALL = "stall"  # the looping function of a stall/lockup trace (see STALL_ANCHORS)
    CHAIN = "chain"  # lockdep's first two "at:" lines, then the frames after them (the
    # first dependency chain of a circular dependency, or the stack backtrace)
    MARK = "mark"  # the "at:" functions and frames after the first line Header.mark finds
    # TRACE, ALLOC and FRAMES fall back to their "? f+0x1/0x2" frames when they
    # have no reliable frame at all (see guilty_frame)


@dataclass(frozen=True)
class Header:
    kind: str
    literal: str  # must be a substring of the header line (and contain a PREFILTER literal)
    regex: re.Pattern[str]  # re.match()ed against the cleaned line; group "hf": header func
    end: End
    title: str  # template: {func}, {hdr}, the regex's named groups, the fields
    sources: tuple[Src, ...] = (Src.RIP, Src.TRACE)
    skip: re.Pattern[str] | None = None  # frames never guilty for this kind
    fallback: str | None = None  # title without a guilty frame (default: drop " in {func}")
    fields: tuple[tuple[str, re.Pattern[str]], ...] = ()  # group 1 of the first body match
    body_func: re.Pattern[str] | None = None  # group 1: a function named in the body
    defaults: tuple[tuple[str, str], ...] = ()  # values for groups that did not match
    die: bool = False  # a die() line ("Oops: ...: 0000 [#1]")
    pre_die: bool = False  # a die() line usually follows: it continues this report
    grace: int | None = None  # close as header-only when no stack dump starts in time
    need_stack: bool = False  # ... and then it is no report at all
    nested: bool = True  # False: inside an open report, the line is just part of it
    irq_block: bool = False  # Src.STALL: the call trace with the timer interrupt, not the first
    mark: re.Pattern[str] | None = None  # Src.MARK: the line after which its frames start
    frame_fmt: str | None = None  # the guilty frame as titled: "{func}/usb_submit_urb"
    absorb: re.Pattern[str] | None = None  # a header (match) that continues this report
    next_line: str | None = None  # a value: the line after the header (unless a cut-here line)


def rx_any(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _h(kind: str, literal: str, pattern: str, end: End, title: str, *,
       skip: Iterable[str] = (), fields: Iterable[tuple[str, str]] = (),
       body_func: str | None = None, mark: str | None = None, absorb: str | None = None,
       **kw: Any) -> Header:
    skip = tuple(skip)
    return Header(kind, literal, re.compile(pattern), end, title,
                  skip=rx_any(skip) if skip else None,
                  fields=tuple((k, re.compile(v)) for k, v in fields),
                  body_func=re.compile(body_func) if body_func else None,
                  mark=re.compile(mark) if mark else None,
                  absorb=re.compile(absorb) if absorb else None, **kw)


GRACE_LINES = 20

# Frames that never carry the blame, whatever the report (re.search on the
# function name, ".constprop.0"-like suffixes removed).
GENERIC_FRAMES: tuple[str, ...] = (
    # stack dumping, printing, the warn/BUG/die/panic machinery
    r"^(?:__)?dump_stack", r"^show_(?:stack|regs|trace|ip|opcodes|iret|fault)", r"^__show_regs$",
    r"^print_", r"^_*v?printk", r"^_*(?:dev|netdev)_(?:printk|emerg|alert|crit|err|warn"
    r"|notice|info|dbg)", r"^v?s?n?printf$", r"^v?scnprintf$", r"^kv?asprintf$",
    r"^(?:string|string_nocheck|pointer|format_decode|widen_string|symbol_string)$",
    r"panic", r"^__warn", r"^warn_slowpath", r"^warn_alloc", r"^warn_bogus", r"^report_bug$",
    r"^__report_bug", r"^handle_bug$", r"^fixup_bug", r"(?:^|_)trap$", r"^do_trap",
    r"^(?:do_)?invalid_op$", r"^(?:__)?die(?:_|$)", r"^oops_", r"^__bug$",
    r"^(?:__)?unwind_", r"^arch_stack_walk", r"^stack_trace_save",
    # exception, interrupt, softirq, timer and syscall entry
    r"^asm_", r"^exc_", r"^(?:__)?sysvec_", r"^(?:__)?common_interrupt", r"^irqentry_",
    r"^do_(?:user|kern)_addr_fault", r"^handle_page_fault$", r"^(?:__)?do_page_fault",
    r"^page_fault_oops$", r"^(?:async_)?page_fault$", r"^vmalloc_fault$",
    r"^kernelmode_fixup_or_oops", r"^no_context$", r"^spurious_kernel_fault",
    r"^fixup_exception$", r"^ex_handler_", r"^do_(?:divide_error|general_protection|int3)",
    r"^(?:__)?irq_exit", r"^irq_enter", r"^(?:__)?do_softirq", r"^handle_softirqs$",
    r"^run_ksoftirqd$", r"^(?:_|__)?local_bh_enable", r"hrtimer_interrupt$",
    r"^__hrtimer_run_queues$", r"^__run_hrtimer$", r"^call_timer_fn$",
    r"^expire_timers$", r"^default_do_nmi$", r"^(?:__)?nmi_",
    r"(?:^|_)nmi$",
    r"^do_syscall_", r"^x64_sys_call$", r"^entry_SYSCALL", r"^entry_INT80", r"^syscall_exit",
    r"^__syscall_exit", r"^syscall_trace_enter", r"^(?:__)?ret_from_fork", r"^kthread$",
    # sanitizer runtimes and checkers (not the sanitizers' own test cases: kasan_memchr...)
    r"^__kasan_", r"^kasan_(?:report|check_range|save_|set_track|poison|unpoison|slab_|kmalloc"
    r"|krealloc|kfree_large|mempool_|record_aux|quarantine|non_canonical|byte_accessible"
    r"|metadata|populate|cache_|complete_mode|print_|addr_to|shadow)",
    r"^check_region_inline$", r"^check_slab_allocation$", r"^__asan_", r"^__hwasan_",
    r"^__msan_", r"^_*kmsan_(?:report"
    r"|internal_|get_|set_|check_|poison|unpoison|copy_|instrument|memmove|in_runtime|metadata"
    r"|enter|leave|handle)", r"^_*kcsan_(?:setup_watchpoint|check_access|report|found_watchpoint)",
    r"^__tsan_", r"^_*ubsan_", r"^_*kfence_(?:report|handle_page_fault|guarded_|protect"
    r"|unprotect|check_canary|alloc|free|ksize|object_start|metadata)",
    r"^check_memory_region", r"^(?:__)?check_object_size$", r"^check_heap_object$",
    r"^read_word_at_a_time$", r"_nocheck$",
    # string, memory and user-copy helpers: the caller is to blame
    r"^_*mem(?:cpy|move|set|cmp|chr|scan|dup)", r"^kmemdup", r"^_*kstrn?dup",
    r"^_*str(?:n|l|s)?(?:cpy|cat|cmp|casecmp|len|chr|rchr|nchr|str|sep|dup)",
    r"^sized_strscpy$", r"^_*copy_(?:to|from)_user", r"_copy_(?:to|from)_user$",
    r"^copy_user_(?:generic|enhanced_fast_string|fast_string|short_string|handle_tail)",
    r"^rep_movs_alternative$",
    r"^_*(?:get|put)_user", r"^strn(?:cpy_from|len)_user$", r"^_*copy_(?:to|from)_iter",
    r"^copy(?:in|out)$", r"^_*clear_user", r"_indirect_thunk_", r"^__x86_return_thunk$",
    r"^__pfx_", r"^srso_", r"^retbleed_",
    # allocators
    r"^_*kv?[mzc]alloc(?:_(?:node|array|trace|large|order|track_caller|noprof|buckets|cache)"
    r"\w*)?$", r"^_*do_kmalloc", r"^_*kv?realloc(?:_\w*noprof)?$",
    r"^_*kmem_cache_(?:alloc|free|zalloc)\w*$", r"^_*kv?free(?:_sensitive|_rcu\w*|_bulk|_const"
    r"|_skb\w*|_call_rcu)?$", r"^_*consume_skb", r"^skb_release_", r"^skb_free_head$",
    r"^kfree_skbmem$", r"^_*v[mz]alloc(?:_(?:node|user|huge|32|noprof|array)\w*)?$",
    r"^vfree(?:_atomic)?$", r"^__vmalloc_area_node$", r"^_*get_vm_area\w*$",
    r"^alloc_vmap_area$", r"^vm_area_alloc_pages$", r"^vmap_(?:pages_range|small_pages_range)\w*$",
    r"^_*slab_", r"^___slab_alloc", r"^new_slab$",
    r"^allocate_slab$", r"^alloc_slab_page$", r"^setup_object$", r"^_*alloc_pages",
    r"^alloc_page", r"^__get_free_pages$", r"^get_zeroed_page", r"^_*free_pages",
    r"^__free_page", r"^free_unref_page", r"^_*folio_alloc", r"^post_alloc_hook$",
    r"^prep_new_page$", r"^get_page_from_freelist$", r"^__alloc_frozen", r"_noprof$",
    r"^_*should_fail", r"^kmemleak_",
    # locking, lockdep, might_sleep
    r"^_raw_", r"^__raw_", r"^do_raw_", r"^(?:native_)?queued_(?:spin|read|write)_lock",
    r"^_*(?:spin|read|write)_(?:un)?lock", r"^_*mutex_(?:un)?lock", r"^__mutex_", r"^rt_mutex_",
    r"^__rt_mutex", r"^_*rwsem_", r"^_*down(?:_|$)", r"^_*up(?:_read|_write)?$",
    r"^_*percpu_(?:down|up)_", r"^lock_(?:acquire|release|acquired|contended)",
    r"^__lock_(?:acquire|release)", r"^lockdep_", r"^mark_lock", r"^mark_usage",
    r"^_*lock_is_held", r"^validate_chain$",
    r"^check_(?:noncircular|prev_add|prevs_add|deadlock|irq_usage|usage_|flags)",
    r"^debug_check_no_locks", r"^valid_state$", r"^_*might_(?:sleep|resched|fault|alloc)",
    r"^rcu_lock_acquire", r"^_*rcu_read_(?:un)?lock", r"^preempt_count_(?:add|sub)$",
    # debug objects, list debugging, refcounts
    r"^debug_object", r"^debug_print_object$", r"^_*debug_check_no_obj_freed",
    r"^(?:timer|work|hrtimer)_(?:is_static_object|fixup_)", r"^__list_", r"^_*refcount_",
    r"^kref_(?:get|put)",
    # stack dumping and stall/lockup reporting (x86, arm64)
    r"^sched_show_task$", r"^dump_cpu_task$", r"^(?:__)?dump_backtrace", r"^show_trace",
    r"^(?:print_(?:other_)?cpu_stall|check_cpu_stall|rcu_dump_cpu_stacks)",
    r"^nmi_(?:cpu|trigger_cpumask)_backtrace", r"^stack_trace_", r"^console_(?:un)?lock$",
    r"^(?:__)?warn_printk$", r"^dump_header$",
    # entry, irq-flag tracing and scheduler glue of old kernels
    r"^retint_", r"^_*trace_hardirqs_", r"^___preempt_schedule", r"^__sched_text_start$",
    r"apic_timer_interrupt$", r"^error_(?:entry|exit)$", r"^restore_regs_and_return",
    # sanitizer and coverage instrumentation, KASAN/KMSAN internals
    r"^__sanitizer_", r"^_*msan_", r"^kasan_object_err$", r"^kasan_check_(?:read|write)$",
    r"^print_address_description", r"^describe_object", r"^object_err$", r"^qlist_",
    r"^quarantine_", r"^lockdep_rcu_suspicious$", r"^(?:__)?(?:read|write)_once",
    r"^_*usercopy_(?:warn|abort)$", r"^_*check_object_size$", r"^__virt_addr_valid$",
    # lockdep internals that WARN
    r"^register_lock_class$", r"^look_up_lock_class$", r"^print_usage_bug", r"^print_unlock",
    r"^_*lock_downgrade$", r"^lock_(?:pin|unpin|repin)_lock$",
    # atomics and small library helpers: their caller is to blame
    r"^_*(?:arch_|raw_)?atomic(?:64|_long)?_", r"^_*rb_(?:erase|insert|first|last|next|prev"
    r"|replace)", r"^_*rhashtable_", r"^rht_", r"^_*xas_", r"^_*xa_(?:load|store|erase)$",
    r"^crc(?:16|32\w*|_itu_t|_t10dif\w*|64\w*|_ccitt\w*)$", r"^_*bitmap_",
    r"^(?:number|hex_string|bitmap_string|mac_address_string|ip[46]_\w*string|escaped_string"
    r"|uuid_string|restricted_pointer|dentry_name|vsn?printf|bstr_printf|hex_dump_to_buffer"
    r"|print_hex_dump\w*)$",
    # driver-core and kobject helpers, workqueue and timer helpers, ref trackers
    r"^kobject_(?:put|get|del|add\w*|release|uevent\w*|cleanup|init_and_add|set_name\w*)$",
    r"^add_uevent_var$", r"^_*device_(?:add|del|register|unregister|release)$",
    r"^devres_release", r"^_*(?:queue|cancel|flush|mod)_(?:delayed_)?work(?:_on|_sync)?$",
    r"^_*flush_work", r"^_*(?:del|try_to_del|mod)_timer(?:_sync)?$", r"^_*timer_delete",
    r"^ref_tracker_", r"^usb_submit_urb$", r"^usb_start_wait_urb$",
    r"^(?:dev_)?v?printk_emit$", r"^va_format$", r"^dev_printk_emit$", r"^__dev_printk$",
    r"^__do_kernel_fault$", r"^do_(?:translation_fault|mem_abort|tag_check_fault|bad_area)$",
    r"^el1_(?:abort|da|sync\w*)$", r"^el[01]h?_64_(?:sync|irq|error)\w*$", r"^_stext$",
    r"^_*wake_up_common", r"^_*wake_up(?:_\w+)?$",
    r"^insert_work$", r"^__queue_work$", r"^copy_page_(?:to|from)_iter", r"^simple_copy_to_iter$",
    r"^_*lock_sock(?:_nested)?$", r"^mutex_optimistic_spin$", r"^osq_lock$", r"^__cancel_work",
    r"^__(?:virt_to_phys|phys_addr)\w*$", r"^kasan_(?:set|save)_free_info$", r"^__seqprop",
    r"^_*kasprintf", r"^kvasprintf", r"^_*dput$", r"^fast_dput$",
    # Rust's panic machinery (demangled names): the function that panicked is to blame
    r"(?:^|::)rust_begin_unwind$", r"^core::panicking::", r"^core::(?:result|option)::"
    r"(?:unwrap_failed|expect_failed)",
    # completions, tracepoint glue, unwinders of other architectures, rate limits
    r"^_*wait_for_completion", r"^_*wait_for_common", r"^_*ratelimit$", r"^dev_err_probe$",
    r"^perf_trace_", r"^trace_event_raw_event_", r"^walk_stackframe$",
    # page-cache and folio helpers: the file system that called them is to blame
    r"^_*filemap_get_(?:folio|page)", r"^pagecache_get_page$", r"^_*folio_(?:unlock|lock|put"
    r"|get|end_writeback|mark_dirty|wait\w*)$", r"^_*unlock_page$", r"^_*lock_page$",
    r"^find_(?:lock|get)_entries$", r"^_*put_page$", r"^mark_buffer_dirty$",
    r"^truncate_inode_pages", r"^_*iput$", r"^free_large_kmalloc$", r"^lock_timer_base$",
    # skb helpers: whoever builds or drops the packet is to blame
    r"^pskb_expand_head$",
    r"^_*skb_(?:clone|copy|put|push|pull|trim|unshare)\w*$", r"^sk_skb_reason_drop$",
    r"^_*kfree_skb\w*$", r"^_*sk_destruct$", r"^_*sk_free$", r"^skb_free_\w+$",
    # I/O accessors, driver-core glue
    r"^logic_(?:in|out)[bwlq]?$", r"^_*raw_(?:read|write)[bwlq]$", r"^get_device_parent$",
    # big locks of subsystems (reiserfs' write lock, the tty ldisc pair lock)
    r"^reiserfs_write_(?:un)?lock\w*$", r"^tty_ldisc_lock",
)

# Generic frames that are to blame when the header itself names them: the
# unwinder is dump machinery in a call trace, but a KASAN report "in
# __unwind_start" is the unwinder's own bad access.
HEADER_GUILTY = re.compile(r"^(?:__)?unwind_")

# Kind-specific frames (on top of GENERIC_FRAMES).
_WAITING = (  # a task waiting for something: the waiter is to blame, not the wait
    r"^_*schedule", r"^io_schedule", r"^preempt_schedule", r"^__switch_to", r"^context_switch$",
    r"^finish_task_switch", r"^_*wait_for_", r"^_*wait_(?:on|event|rcu_gp)", r"^__wait_",
    r"^do_wait_for_common$", r"^out_of_line_wait_on_bit", r"^bit_wait", r"^folio_wait",
    r"^__folio_lock", r"^__lock_page", r"^prepare_to_wait", r"^finish_wait$",
    r"^_*flush_work",
    r"^_*flush_workqueue", r"^__cancel_work", r"^cancel_(?:delayed_)?work_sync$",
    r"^kthread_stop", r"^_*refrigerator", r"^do_nanosleep$", r"^hrtimer_nanosleep$",
    r"^msleep", r"^usleep", r"^schedule_(?:hr)?timeout", r"^(?:rwbase|rtlock)_",
    r"^_*percpu_rwsem_", r"^_*cond_resched", r"^ldsem_down", r"^_*filemap_fdatawait",
    r"^usb_(?:control|bulk|interrupt)_msg$", r"^do_read_cache_", r"fdatawait",
)
_TIMER_IRQ = (  # the detector runs in the timer interrupt; a preempted task is in schedule()
    r"apic_timer_interrupt", r"^_*hrtimer", r"^tick_", r"^update_process_times$",
    r"^(?:sched|scheduler)_tick$", r"^watchdog", r"^softlockup", r"^irq_", r"^__irq_",
    r"^(?:__)?sysvec", r"^account_", r"^arch_trigger_cpumask_backtrace",
    r"^_*schedule", r"^preempt_schedule", r"^__switch_to", r"^context_switch$",
    r"^finish_task_switch",
)
_RCU = (r"rcu",)
_LOCKDEP_WQ = (  # locks that the workqueue code takes on behalf of work items
    r"^process_one_work$", r"^_*flush_workqueue$", r"^drain_workqueue$",
    r"^destroy_workqueue$", r"^_*flush_work$",
)
_SLAB = (r"slab", r"^_*check_", r"^free_debug_processing$", r"^on_freelist$", r"^object_err$",
         r"^_*kmem_cache", r"^_*do_slab_free$", r"^free_to_partial_list$")
_BAD_PAGE = (r"(?:free|put|get|update|release)_pages?(?:_|$)", r"^free_unref", r"^_*folio",
             r"^truncate_inode_pages", r"^page_frag_free", r"alloc", r"^vmap", r"page_owner",
             r"^bad_page$", r"^free_page_is_bad", r"^free_pages_prepare$", r"^free_tail_page",
             r"^check_new_page", r"^release_pages$", r"^__page_cache_release$",
             r"^destroy_large_folio$", r"^__put_page$")
_ODEBUG = (r"^debug_", r"rcu", r"^_*hrtimer_", r"timer", r"^_*(?:queue|cancel|flush|insert)_work",
           r"^percpu_", r"^_*kmem_", r"^_*kv?free", r"^vfree", r"^call_rcu",
           r"^_*free_object", r"^lookup_object")
_PREEMPT = (r"^debug_smp_processor_id$", r"^check_preemption_disabled$", r"preempt",
            r"processor_id", r"this_cpu_")
_SPIN = (r"^spin_", r"^do_raw_", r"_lock$", r"_unlock$", r"_trylock$", r"^spin_dump$",
         r"^spin_bug$", r"^rwlock_bug$")
_MEMLEAK = (  # after syzkaller: whatever allocates is not the leaker, its caller is
    r"kmemleak", r"kmem", r"slab", r"alloc", r"^create_object", r"^idr_get", r"list_lru_init",
    r"kv?asprintf", r"^pcpu_create", r"strn?dup", r"memdup",
)

_OOPS = r"(?:Oops: )?"  # 6.10+ prefixes every x86 die() line with "Oops: "
FUNC = r"[A-Za-z_.$][\w.$]*"  # a function name (a regex)
_F = FUNC
_HF = rf"(?P<hf>{_F})"
_DIE_TAIL = r": [0-9a-f]{4,} \[#\d+\]"  # "...: 0000 [#1]"
_LOCKDEP_PREFIX = r"(?:\[ )?(?P<lvl>WARNING|INFO|BUG): "  # the level: in the title
_KASAN_ACCESS = (("access", r"^(Read|Write) (?:of size \d+ )?(?:at addr|by task)"),)
_WARN_AT = rf"at (?:(?P<file>[^\s:]+):\d+ ?)?(?:{_HF}(?=\+0x|\(\)|\s|$))?"


def _warn_file(path: str, title: str, skip: Iterable[str] = ()) -> Header:
    """A WARN() in a helper that reports someone else's bug (refcount, ODEBUG...)."""
    # "WARNING: CPU: 0 PID: 1 at lib/refcount.c:25 f+0x1/0x2" (before 6.17), "WARNING:
    # lib/refcount.c:25 at f+0x1/0x2, CPU#0: comm/1" (6.17+: "at 0x0" without symbols)
    return _h("WARNING", f"{path}:",
              r"WARNING: (?:.*\bat |\[.*?\] )?" + re.escape(path)
              + rf":\d+(?: (?:at (?:0x[0-9a-f]+\b)?)?(?:{_HF}(?=\+0x|\(\)|\s|,|$))?)?",
              End.TRACE, title, sources=(Src.HEADER, Src.RIP, Src.TRACE), skip=skip)


# Order matters: the first match wins, so specific entries come before the
# generic ones they overlap with ("BUG: KASAN:" before "BUG: ").
HEADERS: tuple[Header, ...] = (
    # ---- sanitizers: "BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2", between rulers
    # (3.x: "BUG: KASAN: null-ptr-deref on address (null)": no function, the bots'
    # title has none either)
    _h("KASAN", "BUG: KASAN: ", r"BUG: KASAN: (?P<bug>[\w-]+) on address", End.RULER,
       "KASAN: {bug} {access}", sources=(), fields=_KASAN_ACCESS),
    _h("KASAN", "BUG: KASAN: ",
       rf"BUG: KASAN: (?P<bug>[\w-]+(?: or [\w-]+)?)(?: in {_HF}|\s|$)",
       End.RULER, "KASAN: {bug} {access} in {func}", sources=(Src.HEADER, Src.TRACE, Src.FRAMES),
       fields=_KASAN_ACCESS),
    _h("KFENCE", "BUG: KFENCE: ", rf"BUG: KFENCE: (?P<bug>[^\[]+?)(?: in {_HF}|$)",
       End.RULER, "KFENCE: {bug} in {func}", sources=(Src.HEADER, Src.FRAMES)),
    _h("KMSAN", "BUG: KMSAN: ", rf"BUG: KMSAN: (?P<bug>[^\[]+?)(?: in {_HF}|$)",
       End.RULER, "KMSAN: {bug} in {func}", sources=(Src.HEADER, Src.FRAMES)),
    _h("KCSAN", "BUG: KCSAN: ", r"BUG: KCSAN: (?P<rest>.+)",
       End.RULER, "KCSAN: {rest}", sources=(Src.HEADER, Src.FRAMES)),
    _h("UBSAN", "UBSAN: ", r"UBSAN: (?P<bug>.+?) in (?P<file>[^\s:]+)", End.RULER,
       "UBSAN: {bug} in {func}", sources=(Src.TRACE, Src.FRAMES), skip=(r"overflow$",),
       fallback="UBSAN: {bug} in {file}"),
    # ---- lockups, stalls, hangs: a show_regs() / dump_stack() and no end marker
    _h("soft lockup", "BUG: soft lockup", r"(?:NMI )?(?:watchdog: )?BUG: soft lockup", End.STACK,
       "BUG: soft lockup in {func}", sources=(Src.STALL, Src.RIP, Src.TRACE), skip=_TIMER_IRQ),
    _h("hard lockup", "hard LOCKUP", r"(?:NMI watchdog: |watchdog: )?Watchdog detected hard LOCKUP",
       End.STACK, "Watchdog detected hard LOCKUP in {func}",
       sources=(Src.STALL, Src.RIP, Src.TRACE), skip=_TIMER_IRQ),
    _h("RCU stall", "INFO: rcu",
       r"(?:rcu: )?INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stalls? on", End.STACK,
       "INFO: rcu detected stall in {func}", sources=(Src.STALL, Src.RIP, Src.TRACE),
       skip=_TIMER_IRQ + _RCU, irq_block=True),
    _h("hung task", "INFO: task ", r"INFO: task \S+ blocked (?:in I/O wait )?for more than",
       End.STACK, "INFO: task hung in {func}", sources=(Src.TRACE,), skip=_WAITING),
    _h("hung task", "INFO: task ", r"INFO: task \S+ can't die for more than", End.STACK,
       "INFO: task can't die in {func}", sources=(Src.TRACE,), skip=_WAITING),
    # ---- lockdep (kernel/locking/lockdep.c); [ INFO: ... ] and BUG: before 4.x
    # circular and recursive: the lock taken, the lock held, the first dependency
    # chain (or the stack backtrace); an irq-safe -> unsafe order: where the lock
    # became irq-safe; an inconsistent state: after "... takes:", where the state
    # was registered
    *(_h("lockdep", lit, _LOCKDEP_PREFIX + rx, End.STACK, title,
         sources=src, skip=_LOCKDEP_WQ, mark=mark)
      for lit, rx, title, src, mark in (
          ("circular locking", r"possible circular locking dependency detected",
           "possible deadlock in {func}", (Src.CHAIN, Src.TRACE), None),
          ("recursive locking", r"possible recursive locking detected",
           "possible deadlock in {func}", (Src.CHAIN, Src.TRACE), None),
          ("lock inversion", r"possible irq lock inversion dependency detected",
           "possible deadlock in {func}", (Src.AT, Src.TRACE), None),
          ("lock order detected", r"\S+-safe -> \S+-unsafe lock order detected",
           "possible deadlock in {func}", (Src.MARK, Src.AT, Src.TRACE),
           r"which became \S+-irq-safe at:"),
          ("inconsistent lock state", r"inconsistent lock state",
           "inconsistent lock state in {func}", (Src.MARK, Src.TRACE), r"\btakes:"),
          ("bad unlock balance", r"bad unlock balance detected",
           "{lvl}: bad unlock balance in {func}", (Src.AT, Src.TRACE), None),
          ("still has locks held", r"\S+ still has locks held",
           "{lvl}: still has locks held in {func}", (Src.AT, Src.TRACE), None),
          ("lock held when returning", r"lock held when returning to user space",
           "{lvl}: lock held when returning to user space in {func}", (Src.AT, Src.TRACE), None),
          # the bots title it as the lockdep.c WARN()s
          ("Invalid wait context", r"Invalid wait context", "WARNING: locking bug in {func}",
           (Src.TRACE, Src.AT), None),
      )),
    _h("lockdep", "held lock freed", _LOCKDEP_PREFIX + r"held lock freed", End.STACK,
       "{lvl}: held lock freed in {func}", sources=(Src.AT, Src.TRACE)),
    _h("lockdep", "Nested lock", _LOCKDEP_PREFIX + r"Nested lock was not taken", End.STACK,
       "{lvl}: Nested lock was not taken in {func}", sources=(Src.TRACE, Src.AT)),
    _h("lockdep", "suspicious RCU usage", _LOCKDEP_PREFIX + r"suspicious RCU usage", End.STACK,
       "{lvl}: suspicious RCU usage in {func}", sources=(Src.TRACE,),
       skip=_RCU + (r"^_*kmem", r"slab")),
    _h("lockdep", "INFO: trying to register non-static key",
       r"INFO: trying to register non-static key", End.STACK,
       "INFO: trying to register non-static key in {func}", sources=(Src.TRACE,),
       skip=(r"^register_lock_class$", r"^look_up_lock_class$")),
    _h("lockdep", "BUG: looking up invalid subclass", r"BUG: looking up invalid subclass",
       End.STACK, "BUG: looking up invalid subclass in {func}", sources=(Src.TRACE,)),
    _h("lockdep", "BUG: MAX_", r"BUG: (?P<what>MAX_\w+) too low", End.STACK,
       "BUG: {what} too low!", grace=GRACE_LINES),
    _h("lockdep", "WARNING: ", r"WARNING: (?:chain_key collision|bad contention detected)",
       End.STACK, "{hdr} in {func}", sources=(Src.TRACE,)),
    # ---- die() lines (x86); "Oops: " prefix since 6.10
    _h("general protection fault", "[#",
       _OOPS + r"general protection fault(?::|,| for| probably for) .*\[#\d+\]", End.TRACE,
       "general protection fault in {func}", die=True),
    _h("invalid opcode", "[#", _OOPS + r"invalid opcode" + _DIE_TAIL, End.TRACE,
       "invalid opcode in {func}", die=True),
    _h("divide error", "[#", _OOPS + r"divide[ _]error" + _DIE_TAIL, End.TRACE,
       "divide error in {func}", die=True),
    _h("stack segment", "[#", _OOPS + r"stack segment" + _DIE_TAIL, End.TRACE,
       "stack segment fault in {func}", die=True),
    _h("double fault", "[#", _OOPS + r"double fault" + _DIE_TAIL, End.TRACE,
       "PANIC: double fault in {func}", die=True),
    _h("Oops", "[#", _OOPS + r"(?:stack guard page|kernel stack overflow \([\w-]+\))"
       + _DIE_TAIL, End.TRACE, "BUG: stack guard page was hit in {func}", die=True,
       sources=(Src.STALL, Src.RIP, Src.TRACE)),
    # "Oops: 0000 [#1]" (page fault before 6.10), "Oops: Oops: 0000 [#1]" (6.10+),
    # "Oops: int3: 0000 [#1]", arm64 "Internal error: Oops: 0000000096000005 [#1]",
    # MIPS "Oops[#1]:", arm "Oops - BUG: 0 [#1]"
    _h("Oops", "[#", r"(?:Internal error: )?Oops(?:: (?:(?P<what>[^:\[]+?): )?[0-9a-f]+ \[#\d+\]"
       r"|\[#\d+\]| - \w+: \d+ \[#\d+\])", End.TRACE, "{what} in {func}", die=True,
       defaults=(("what", "Oops"),)),
    _h("Oops", "[#", r"(?P<what>int3|Bad pagetable|[a-z][a-z ]*[a-z])" + _DIE_TAIL, End.TRACE,
       "{what} in {func}", die=True),
    # arm64 "Internal error: synchronous external abort: 96000010 [#1]"
    _h("Oops", "[#", r"Internal error: [^\[]*?: ?[0-9a-f]+ \[#\d+\]", End.TRACE,
       "Internal error in {func}", die=True),
    # ---- arm/arm64 page faults: a die() line ("Internal error: Oops: ...") follows
    _h("BUG", "Unable to handle kernel ", r"Unable to handle kernel (?P<what>NULL pointer "
       r"dereference|paging request|execute from non-executable memory|write to read-only "
       r"memory|access to user memory)", End.TRACE, "BUG: unable to handle kernel {what} in {func}",
       pre_die=True, defaults=(("what", "paging request"),)),
    _h("Oops", "Unhandled fault", r"Unhandled fault: ", End.TRACE, "Unhandled fault in {func}",
       pre_die=True),
    # ---- Rust's panic handler (rust/kernel/lib.rs): the message on the next line, then
    # BUG() (rust/helpers/bug.c) and its die() line: "attempt to add with overflow in f"
    _h("kernel BUG", "rust_kernel: panicked", r"rust_kernel: panicked at ", End.TRACE,
       "{msg} in {func}", next_line="msg", defaults=(("msg", "Rust panic"),), pre_die=True,
       absorb=r"kernel BUG at rust/helpers/bug\.c", skip=(r"^rust_helper_BUG$",)),
    # ---- headers that a die() line follows
    _h("double fault", "PANIC: double fault", r"PANIC: double fault", End.TRACE,
       "PANIC: double fault in {func}", pre_die=True),
    _h("kernel BUG", "kernel BUG at ", r"kernel BUG at lib/list_debug\.c", End.TRACE,
       "BUG: corrupted list in {func}", pre_die=True, skip=(r"^_*h?list_",)),
    _h("kernel BUG", "kernel BUG at ", r"kernel BUG at mm/usercopy\.c", End.TRACE,
       "BUG: bad usercopy in {func}", pre_die=True, skip=(r"usercopy", r"^__check", r"^check_")),
    _h("kernel BUG", "kernel BUG at ", r"kernel BUG at (?P<file>[^\s:]+)", End.TRACE,
       "kernel BUG in {func}", pre_die=True, skip=(r"^skb_", r"assertfail$", r"^rust_helper_BUG$"),
       fallback="kernel BUG at {file}"),
    _h("kernel BUG", "Kernel BUG at ", rf"Kernel BUG at {_HF}", End.TRACE,
       "kernel BUG in {func}", pre_die=True, sources=(Src.HEADER, Src.RIP, Src.TRACE),
       skip=(r"^skb_",)),
    _h("BUG", "BUG: ", r"BUG: (?:kernel NULL pointer dereference"
       r"|unable to handle kernel NULL pointer dereference)", End.STACK,
       "BUG: unable to handle kernel NULL pointer dereference in {func}",
       pre_die=True, grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: unable to handle (?:kernel paging request|page fault|kernel\b)",
       End.STACK, "BUG: unable to handle kernel paging request in {func}",
       pre_die=True, grace=GRACE_LINES),
    # a stack overflow is a recursion: named, like a stall, by its dispatcher's callee
    _h("BUG", "BUG: ", r"BUG: (?:\w+ )?stack guard page was hit", End.STACK,
       "BUG: stack guard page was hit in {func}", pre_die=True, grace=GRACE_LINES,
       sources=(Src.STALL, Src.RIP, Src.TRACE)),
    _h("BUG", "BUG: ", r"BUG: sleeping function called from invalid context", End.STACK,
       "BUG: sleeping function called from invalid context in {func}", sources=(Src.TRACE,),
       skip=_WAITING, pre_die=True, grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: scheduling while atomic", End.STACK,
       "BUG: scheduling while atomic in {func}", sources=(Src.TRACE,),
       skip=_WAITING + (r"^__schedule_bug$", r"^schedule_debug", r"^do_task_dead$"),
       pre_die=True, grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: using (?P<what>\w+\(\)) in preemptible", End.STACK,
       "BUG: using {what} in preemptible code in {func}", sources=(Src.TRACE,),
       skip=_PREEMPT, pre_die=True, grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: (?P<lock>spinlock|rwlock) (?P<what>lockup suspected|already unlocked"
       r"|recursion|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)",
       End.STACK, "BUG: {lock} {what} in {func}", sources=(Src.TRACE,), skip=_SPIN,
       pre_die=True, grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: Bad page (?P<what>state|map|cache) in ", End.STACK,
       "BUG: Bad page {what} in {func}", sources=(Src.ALLOC, Src.TRACE), skip=_BAD_PAGE,
       pre_die=True, grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: workqueue lockup", End.STACK, "BUG: workqueue lockup",
       grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: workqueue leaked (?P<what>[^:]+?):", End.STACK,
       "BUG: workqueue leaked {what} in {func}", sources=(Src.BODY, Src.TRACE),
       body_func=rf"(?:workfn=|last function: )({_F})", pre_die=True, grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: Bad rss-counter state", End.STACK, "BUG: Bad rss-counter state",
       grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: non-zero (?P<what>\w+) on freeing mm", End.STACK,
       "BUG: non-zero {what} on freeing mm", grace=GRACE_LINES),
    _h("BUG", "BUG: ", r"BUG: Dentry .*still in use(?: \(\d+\) \[(?P<um>unmount of [^\]]+)\])?",
       End.STACK, "BUG: Dentry still in use in {func}", sources=(Src.TRACE,), grace=GRACE_LINES,
       fallback="BUG: Dentry still in use [{um}]"),
    # kmemleak: "unreferenced object ...", a hex dump, "backtrace:" and the frames
    _h("memory leak", "BUG: ", r"BUG: memory leak", End.STACK, "memory leak in {func}",
       sources=(Src.FRAMES,), skip=_MEMLEAK, grace=GRACE_LINES),
    # SLUB debugging: "BUG kmalloc-64 (Not tainted): Object already free"
    _h("BUG", "BUG ", r"BUG [\w.:-]+ \([^)]*\): (?P<msg>.+)", End.STACK,
       "BUG: {msg} in {func}", sources=(Src.TRACE,), skip=_SLAB, grace=GRACE_LINES),
    # any other "BUG: ...": a die() line follows, or a dump_stack(), or nothing
    _h("BUG", "BUG: ", r"BUG: \S", End.STACK, "{hdr}", pre_die=True, grace=GRACE_LINES),
    # ---- the unwinder finding a garbled stack (arch/x86/kernel/unwind_frame.c); only
    # outside a report: inside one, it is a line of that report's trace.  The bots
    # title the hashed-pointer ("(ptrval)", 4.15+) and frame-pointer variants as one.
    _h("WARNING", "WARNING: kernel stack ", r"WARNING: kernel stack regs at [0-9a-f]+ .* has bad "
       r"'bp' value", End.STACK, "WARNING: kernel stack regs has bad 'bp' value", sources=(),
       grace=GRACE_LINES, nested=False),
    _h("WARNING", "WARNING: kernel stack ", r"WARNING: kernel stack (?:regs|frame pointer) at .* "
       r"has bad (?:'bp' )?value", End.STACK, "WARNING: kernel stack regs has bad value",
       sources=(), grace=GRACE_LINES, nested=False),
    # ---- other kernel messages that mean a bug: a refcount leak (net/core/dev.c),
    # fs/super.c and fs/open.c use-after-free detectors
    _h("DoS", "unregister_netdevice: waiting", r"unregister_netdevice: waiting for \S+ to become "
       r"free", End.STACK, "unregister_netdevice: waiting for DEV to become free", sources=(),
       grace=GRACE_LINES),
    _h("DoS", "VFS: Busy inodes", r"VFS: Busy inodes after unmount", End.STACK,
       "VFS: Busy inodes after unmount (use-after-free)", sources=(), grace=GRACE_LINES),
    _h("DoS", "VFS: Close: file count", r"VFS: Close: file count is 0", End.STACK,
       "VFS: Close: file count is zero (use-after-free)", sources=(), grace=GRACE_LINES),
    # ---- WARN(): "WARNING: CPU: 0 PID: 1 at lib/foo.c:12 foo+0x1/0x2", then ---[ end trace ]---
    _warn_file("lib/refcount.c", "WARNING: refcount bug in {func}"),
    # usb_submit_urb() WARNs about its caller's urb: "WARNING in caller/usb_submit_urb"
    _h("WARNING", "drivers/usb/core/urb.c:",
       r"WARNING: (?:.*\bat |\[.*?\] )?drivers/usb/core/urb\.c:\d+", End.TRACE,
       "WARNING in {func}", sources=(Src.TRACE,), frame_fmt="{}/usb_submit_urb",
       skip=(r"^usb_submit_urb$", r"^usb_start_wait_urb$",
             r"^usb_(?:bulk|interrupt|control)_msg$")),
    _warn_file("lib/debugobjects.c", "WARNING: ODEBUG bug in {func}", _ODEBUG),
    _warn_file("kernel/locking/lockdep.c", "WARNING: locking bug in {func}"),
    _warn_file("mm/usercopy.c", "WARNING: bad usercopy in {func}", (r"usercopy", r"^__check")),
    _warn_file("lib/kobject.c", "WARNING: kobject bug in {func}", (r"^kobject",)),
    _warn_file("fs/proc/generic.c", "WARNING: proc registration bug in {func}", (r"^_*proc_",)),
    _warn_file("lib/list_debug.c", "BUG: corrupted list in {func}", (r"^_*h?list_",)),
    # a WARN() in an allocator: the caller asked for a bad size
    *(_h("WARNING", "WARNING: ", r"WARNING: (?:.*\bat \S+:\d+ |(?:\[.*?\] )?\S+:\d+ at )"
         rf"(?P<hf>{rx})(?=\+0x|\s|,|$)", End.TRACE, title,
         sources=(Src.HEADER, Src.RIP, Src.TRACE), skip=(rx,))
      for rx, title in (
          (r"_*kv?malloc(?:_slab|_node|_order|_large|_array|_trace)?\w*",
           "WARNING: kmalloc bug in {func}"),
          (r"__vmalloc_node_range\w*", "WARNING: zero-size vmalloc in {func}"),
      )),
    _h("WARNING", "WARNING: ", r"WARNING: (?:CPU: \d+ (?:UID: \d+ )?PID: \d+ )?" + _WARN_AT,
       End.TRACE, "WARNING in {func}", sources=(Src.HEADER, Src.RIP, Src.TRACE),
       fallback="WARNING at {file}"),
    # 6.17+: "WARNING: [cond] net/core/dev.c:12 at f+0x1/0x2, CPU#0: comm/1"
    _h("WARNING", " at ", rf"WARNING: (?:\[.*?\] )?(?P<file>[\w./-]+\.[chS]):\d+ at "
       rf"(?:0x[0-9a-f]+|{_HF}(?=\+0x|\s|,|$))", End.TRACE, "WARNING in {func}",
       sources=(Src.HEADER, Src.RIP, Src.TRACE), fallback="WARNING at {file}"),
    _h("WARNING", "WARNING: ", r"WARNING: \S", End.STACK, "{hdr} in {func}",
       sources=(Src.RIP, Src.TRACE), grace=GRACE_LINES, need_stack=True),
    # ---- panic(): "Kernel panic - not syncing: <message>"
    _h("panic", "Kernel panic - not syncing",
       r"Kernel panic - not syncing: stack-protector: .*corrupted in: "
       rf"(?:(?![0-9a-f]+\b){_HF})?", End.PANIC,
       "kernel panic: stack is corrupted in {func}", sources=(Src.HEADER, Src.TRACE),
       skip=(r"^__stack_chk_fail$",)),
    _h("panic", "Kernel panic - not syncing",
       r"Kernel panic - not syncing: corrupted stack end", End.PANIC,
       "kernel panic: corrupted stack end in {func}", sources=(Src.STALL, Src.TRACE),
       skip=_WAITING),
    _h("panic", "Kernel panic - not syncing",
       r"Kernel panic - not syncing: (?P<msg>Attempted to kill init!)", End.PANIC,
       "kernel panic: {msg}"),
    _h("panic", "Kernel panic - not syncing", r"Kernel panic - not syncing: ?(?P<msg>.*)",
       End.PANIC, "kernel panic: {msg}"),
    # ---- old SLUB debugging's object tracks, when the "BUG cache: ..." line that
    # precedes them was lost (printk messages dropped): "INFO: Freed in f+0x1/0x2 age=.."
    _h("BUG", "INFO: ", rf"INFO: (?:Allocated|Freed) in {_HF}\+0x", End.STACK, "{hdr}",
       sources=(Src.HEADER,), grace=GRACE_LINES, nested=False),
    # ---- the syzkaller executor's own failure ("SYZFAIL: negative running"): the
    # fuzzer's guest tooling broke, not a kernel bug, but the run is not valid
    _h("SYZFAIL", "SYZFAIL: ", r"SYZFAIL: (?P<msg>.+)", End.STACK, "SYZFAIL: {msg}", sources=(),
       grace=GRACE_LINES, nested=False),
    # ---- a new kernel booting: "Linux version 6.12.0 (user@host) (gcc ...) #1 SMP ..."
    _h("reboot", "Linux version ", r"Linux version \S+ \(", End.LINE, "unexpected kernel reboot",
       sources=()),
)

REBOOT = next(h for h in HEADERS if h.end is End.LINE)

# Lines that match a header (or could) but are not kernel bugs.  They never
# start a report; inside an open report they are kept as ordinary lines.
SUPPRESSIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (why, re.compile(rx))
    for why, rx in (
        ("user-space segfault", r"\[\d+\]: segfault at [0-9a-f]+ ip "),
        ("user-space trap", r"^traps: \S+\[\d+\] "),
        ("debugobjects out of memory", r"ODEBUG: Out of memory"),
        ("lockdep off", r"lockdep is turned off|turning off the locking correctness validator"),
        ("NMI handler latency", r"INFO: NMI handler \(.*\) took too long to run"),
        ("RCU stall already over", r"INFO: Stall ended before state dump start"),
        ("rate-limit notice", r"BUG: Bad page state: \d+ messages suppressed"),
        ("sshd", r"WARNING: /etc/ssh/moduli does not exist"),
        ("mand mount option", r"WARNING: [Tt]he mand mount option"),
        ("glibc dump", r"WARNING: Unsupported flag value\(s\) of 0x[0-9a-f]+ in DT_FLAGS_1"),
        ("mitigation notice", r"WARNING: Unprivileged eBPF is enabled"),
        ("mitigation notice", r"WARNING: See https\S* for mitigation options"),
        ("mitigation notice", r"WARNING: kernel not compiled with CPU_SRSO"),
        ("workqueue notice", r"WARNING: workqueue cpumask: online intersect > possible"),
        ("fbcon notice", r"WARNING: fbcon: Driver .* missed to adjust virtual screen size"),
        (
            "unwinder notice inside a trace",
            r"WARNING: (?:stack recursion on stack type|stack going in the wrong direction"
            r"|can't (?:access|dereference) registers at)",
        ),
    )
)

# Stalls and lockups (after syzkaller's linuxStallFrameExtractor): the kernel
# loops across several functions and the detector's trace catches a random
# one.  The title names a stable function instead: the caller of the first
# frame (innermost first, after the timer interrupt that runs the detector)
# that dispatches work (the syscall entry, a vfs or socket entry of a
# discriminated syscall, netlink dispatch, the workqueue, timers, softirqs,
# the network receive path, task work...): "prev" (re.search;
# the anchor itself when nothing precedes it); "self": the anchor itself;
# "=name": that name (smp_call_function* loops, whichever variant).
STALL_ANCHORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rx), take) for rx, take in (
        (r"smp_call_function", "=smp_call_function"),
        (r"^(?:__(?:x64|ia32|arm64|se|do)_)?(?:sys|compat_sys)_(?!ioctl$)\w+$|^SyS_(?!ioctl$)\w+$",
         "self"),
        *((rx, "prev") for rx in (
            # work dispatchers and entry points
            r"process_one_work", r"do_syscall_", r"do_fast_syscall_", r"sysenter_dispatch",
            r"tracesys_phase2", r"el0_svc_handler", r"invoke_syscall", r"ret_fast_syscall",
            r"netif_receive_skb", r"do_softirq", r"call_timer_fn", r"_run_timers",
            r"run_timer_softirq", r"hrtimer_run", r"run_ksoftirqd", r"smpboot_thread_fn",
            r"^kthread$", r"start_secondary", r"cpu_startup_entry", r"ret_from_fork",
            r"tasklet_action", r"tasklet_hi_action",
            # discriminated syscalls: file operations
            r"vfs_write", r"vfs_read", r"vfs_iter_read", r"vfs_iter_write", r"do_iter_read",
            r"do_iter_write", r"call_read_iter", r"call_write_iter", r"new_sync_read",
            r"new_sync_write", r"vfs_ioctl", r"ksys_ioctl", r"compat_ioctl", r"(?i:sys_ioctl)",
            r"blkdev_driver_ioctl", r"blkdev_ioctl", r"do_iter_readv_writev", r"^call_mmap",
            r"mmap_region", r"do_mmap", r"do_dentry_open", r"vfs_open",
            # socket operations
            r"^sock_sendmsg", r"^sock_recvmsg", r"^sock_release", r"^__sock_release",
            r"^setsockopt$", r"kernel_setsockopt", r"sock_common_setsockopt", r"^listen$",
            r"kernel_listen", r"sk_common_release", r"^sock_mmap", r"^accept$", r"kernel_accept",
            r"^sock_do_ioctl", r"^sock_ioctl", r"^compat_sock_ioctl", r"^nfnetlink_rcv_msg",
            r"^rtnetlink_rcv_msg", r"^netlink_dump", r"^(?:sys_)?(?:socketpair|connect|ioctl)",
            # exit to user mode (not page faults: a fault in a syscall's user copy is
            # that syscall's)
            r"__fput", r"task_work_run", r"exit_to_usermode",
        )),
    )
)
# The timer interrupt that runs the stall/lockup detector: frames up to it
# are the detector's, not the stalled code's.
STALL_IRQ = re.compile(r"apic_timer_interrupt$|^sysvec_apic_timer_interrupt$|^el1_interrupt$"
                       r"|^el1_irq$|^el1h_64_irq")
# The detector's own frames, in the timer interrupt (soft lockup watchdog, RCU
# stall check): a trace holding them shows the interrupted code only after it.
STALL_DETECTOR = re.compile(r"^watchdog|softlockup|^rcu_sched_clock_irq|^rcu_check_callbacks"
                            r"|cpu_stall|^rcu_dump_cpu_stacks|^update_process_times$")

# Titles as the kernel's bots spell them, whatever the kernel version printed:
# (regex, replacement), applied in order to every title.
TITLE_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rx), repl) for rx, repl in (
        (r"^KASAN: double-free or invalid-free\b", "KASAN: invalid-free"),
        (r"^UBSAN: Undefined behaviour\b", "UBSAN: undefined-behaviour"),
        (r"^WARNING: Nested lock was not taken\b", "WARNING: nested lock was not taken"),
    )
)

# The frame a title names when the report has none (cut, or its stack dump
# garbled): "general protection fault in corrupted", as the bots title them.
NO_FRAME = "corrupted"

CUT_HERE = "[ cut here ]"
RULER_LITERAL = "=========="  # a ruler is at least 20 "=" (see _is_ruler)
RESTART = "Restarting system"  # kernel/reboot.c: a reboot the user asked for
FIRMWARE = "SeaBIOS (version "  # the firmware's banner: the machine (re)starts

#: A line can only be a header, a cut-here line, a ruler or a restart notice
#: if it contains one of these (die() lines by their "[#1]" counter).
PREFILTER: tuple[str, ...] = (
    "BUG", "WARNING", "INFO: ", "UBSAN: ", "Kernel panic", "[#", "hard LOCKUP",
    "PANIC: double fault", "Linux version", "Unable to handle kernel ", "Unhandled fault",
    "unregister_netdevice: waiting",
    "VFS: Busy inodes", "VFS: Close: file count", "SYZFAIL: ", "rust_kernel: panicked",
    CUT_HERE, RULER_LITERAL, RESTART, FIRMWARE,
)
