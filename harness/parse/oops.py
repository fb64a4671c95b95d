"""Detect Linux kernel oops reports in serial console output, line by line.

Pure: no I/O, stdlib only.  Feed console lines to an :class:`OopsScanner` as
they stream in; each call returns the reports that line completed.  ``scan()``
does the same for a whole log.

The oops knowledge lives in tables (after syzkaller's ``pkg/report``):

* ``HEADERS``: one :class:`Header` per report start: the kind, a literal that
  must occur in the line, a regex matched at the start of the cleaned line,
  how the report ends (:class:`End`), and flags (a ``die()`` line, a header
  that a ``die()`` line usually follows, how the title is made...).
* ``SUPPRESSIONS``: lines that look like headers but are not kernel bugs
  (user-space segfaults, boot-time mitigation notices...).
* ``GENERIC_FRAMES``: call-trace frames that never carry the blame
  (``dump_stack``, ``panic``, ``kasan_report``, exception entry...).

A cheap literal prefilter (``PREFILTER``, derived from the headers' literals)
runs on every line; cleaning and regexes only run on the few lines that pass
it, or on lines inside an open report.

Line numbering: 1-based, one per fed line.  ``Report.first_line`` is the line
of the header (e.g. ``kernel BUG at ...``).  A ``cut here`` line (plus the
few ``WARN()`` message lines between it and the header) or a ``=====`` ruler
printed just before the header belongs to the report: it is kept at the start
of ``Report.lines`` and ``Report.start_line`` is its line number
(``start_line <= first_line``; ``lines`` always covers
``start_line..last_line``).

How a report ends (``Report.end_reason``):

* ``"end marker"``: ``---[ end trace <hex> ]---`` or
  ``---[ end Kernel panic - not syncing: ... ]---`` (any kind);
* ``"ruler"``: the ``=====`` ruler closing a KASAN/UBSAN/KFENCE/KMSAN/KCSAN
  report;
* ``"stack end"``: the ``</TASK>`` closing the stack dump of a report printed
  by ``dump_stack()`` (lockdep, hung task, soft lockup, RCU stall, a ``BUG:``
  that is not followed by an ``Oops`` line);
* ``"panic end"``: a panic without its end marker (``panic=-1`` reboots before
  printing it) ends after ``Kernel Offset:`` / ``Rebooting in``: at the next
  other line, or at the end of the stream (not corrupted);
* ``"next report"``: another report's header appeared first (a ``die()`` line
  right after ``kernel BUG at`` / ``BUG: ...`` continues the report instead);
* ``"no stack"``: a ``BUG:`` (or unusual ``WARNING:``) line with no stack dump
  within ``GRACE_LINES`` lines: the report is just its header;
* ``"max lines"``: ``max_report_lines`` reached (the rest is dropped);
* ``"eof"``: ``flush()`` with the report open: ``corrupted=True``.

After ``---[ end trace ]---`` the kernel prints the RIP/Code/register block
again ("executive summary"); those lines are outside any report and dropped,
as is every line outside a report.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "End",
    "GENERIC_FRAMES",
    "HEADERS",
    "Header",
    "OopsScanner",
    "PREFILTER",
    "Report",
    "SUPPRESSIONS",
    "Title",
    "clean_line",
    "normalize_title",
    "scan",
]

# --------------------------------------------------------------------------
# Report


@dataclass
class Report:
    """One oops report found in a console stream."""

    kind: str  # "BUG", "kernel BUG", "WARNING", "panic", "KASAN", ...
    title: str  # one line, printk prefixes stripped
    first_line: int  # 1-based line number of the header line
    last_line: int  # 1-based line number of the report's last line
    lines: list[str]  # raw lines (without trailing "\r"/"\n"), start_line..last_line
    corrupted: bool = False  # the stream ended before the report's end
    guilty_frame: str | None = None  # best-effort culprit function
    start_line: int = 0  # line of lines[0]: the cut-here/ruler line, else first_line
    end_reason: str = ""  # see the module docstring

    def __post_init__(self) -> None:
        if self.start_line <= 0:
            self.start_line = self.first_line

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    @property
    def signature(self) -> str:
        """The title with run-specific details normalized, for dedup/baselines."""
        return normalize_title(self.title)

    def to_dict(self) -> dict[str, Any]:
        """The ``oops --json`` shape (see DESIGN.md)."""
        return {
            "title": self.title,
            "kind": self.kind,
            "guilty_frame": self.guilty_frame,
            "first_line": self.first_line,
            "last_line": self.last_line,
            "corrupted": self.corrupted,
            "text": self.text,
        }


# --------------------------------------------------------------------------
# Tables


class End(enum.Enum):
    """How a report of this kind ends (besides the universal end markers)."""

    TRACE = "trace"  # only at ---[ end trace ]--- / ---[ end Kernel panic ]---
    RULER = "ruler"  # at the ===== ruler closing a sanitizer report
    STACK = "stack"  # at </TASK> closing the dump_stack() (until a die() line is seen)
    PANIC = "panic"  # at ---[ end Kernel panic ]---, or after Kernel Offset:/Rebooting in


class Title(enum.Enum):
    LINE = "line"  # the cleaned header line
    WARNING = "warning"  # "WARNING in func" when the header names the function


@dataclass(frozen=True)
class Header:
    kind: str
    literal: str  # must be a substring of the header line (prefilter)
    regex: re.Pattern[str]  # re.match()ed against the cleaned line
    end: End
    die: bool = False  # a die() line ("Oops: ...", "invalid opcode: ...")
    pre_die: bool = False  # a die() line usually follows: it continues this report
    title: Title = Title.LINE
    func_in_header: bool = False  # "... in func+0x1/0x2": the guilty frame
    grace: int | None = None  # close as header-only when no stack dump starts in time


def _h(kind: str, literal: str, pattern: str, end: End, **kw: Any) -> Header:
    return Header(kind, literal, re.compile(pattern), end, **kw)


GRACE_LINES = 20

_OOPS = r"(?:Oops: )?"  # 6.10+ prefixes every x86 die() line with "Oops: "
_LOCKDEP = (
    r"(?:"
    r"possible circular locking dependency"
    r"|inconsistent lock state"
    r"|possible recursive locking"
    r"|possible irq lock inversion dependency"
    r"|\S+-safe -> \S+-unsafe lock order"
    r"|bad unlock balance"
    r"|held lock freed"
    r"|lock held when returning to user space"
    r"|lock held at task exit time"
    r"|[Nn]ested lock was not taken"
    r"|suspicious RCU usage"
    r"|bad contention detected"
    r")"
)

# Order matters: the first match wins, so specific entries come before the
# generic ones they overlap with ("BUG: KASAN:" before "BUG: ").
HEADERS: tuple[Header, ...] = (
    # sanitizers: "BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2", between rulers
    _h("KASAN", "BUG: KASAN: ", r"BUG: KASAN: ", End.RULER, func_in_header=True),
    _h("KFENCE", "BUG: KFENCE: ", r"BUG: KFENCE: ", End.RULER, func_in_header=True),
    _h("KMSAN", "BUG: KMSAN: ", r"BUG: KMSAN: ", End.RULER, func_in_header=True),
    _h("KCSAN", "BUG: KCSAN: ", r"BUG: KCSAN: ", End.RULER, func_in_header=True),
    _h("UBSAN", "UBSAN: ", r"UBSAN: \S", End.RULER),
    # lockups and stalls: a dump_stack() (or show_regs()) and no end marker
    _h("soft lockup", "BUG: soft lockup", r"(?:watchdog: )?BUG: soft lockup", End.STACK),
    _h(
        "hard lockup",
        "hard LOCKUP",
        r"(?:NMI watchdog: |watchdog: )?Watchdog detected hard LOCKUP",
        End.STACK,
    ),
    _h(
        "RCU stall",
        "INFO: rcu",
        r"(?:rcu: )?INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stalls? on",
        End.STACK,
    ),
    _h("hung task", "INFO: task ", r"INFO: task \S+ blocked for more than", End.STACK),
    _h("lockdep", "WARNING: ", r"WARNING: " + _LOCKDEP, End.STACK),
    _h("lockdep", "INFO: ", r"\[? ?INFO: " + _LOCKDEP, End.STACK),  # before 4.14
    # die() lines (x86; "Oops: " prefix since 6.10)
    _h("general protection fault", "general protection fault",
       _OOPS + r"general protection fault(?::|,) ", End.TRACE, die=True),
    _h("invalid opcode", "invalid opcode: ", _OOPS + r"invalid opcode: [0-9a-f]+",
       End.TRACE, die=True),
    _h("divide error", "divide error: ", _OOPS + r"divide error: [0-9a-f]+", End.TRACE, die=True),
    _h("stack segment", "stack segment: ", _OOPS + r"stack segment: [0-9a-f]+",
       End.TRACE, die=True),
    _h("double fault", "double fault: ", _OOPS + r"double fault: [0-9a-f]+", End.TRACE, die=True),
    _h("Oops", "int3: ", _OOPS + r"int3: [0-9a-f]+", End.TRACE, die=True),
    _h("Oops", "kernel stack overflow", r"kernel stack overflow \([\w-]+\): ", End.TRACE,
       die=True),
    # "Oops: 0000 [#1] ...", "Oops: stack guard page: 0000 [#1]", arm64 "Internal
    # error: Oops: 0000000096000005 [#1]", MIPS "Oops[#1]:", arm "Oops - BUG: 0 [#1]"
    _h("Oops", "Oops", r"(?:Internal error: )?Oops(?:: (?:[^:]+: )?[0-9a-f]+ \[#\d+\]"
       r"|\[#\d+\]| - )", End.TRACE, die=True),
    # headers a die() line follows
    _h("double fault", "double fault", r"PANIC: double fault", End.TRACE, pre_die=True),
    _h("kernel BUG", "kernel BUG at ", r"kernel BUG at \S+", End.TRACE, pre_die=True),
    _h("BUG", "Unable to handle kernel ", r"Unable to handle kernel ", End.TRACE, pre_die=True),
    # any other "BUG: ...": NULL deref and page faults (a die() line follows),
    # or a dump_stack() (sleeping in atomic, bad page state...), or one line
    _h("BUG", "BUG: ", r"BUG: \S", End.STACK, pre_die=True, grace=GRACE_LINES),
    # WARN(): "WARNING: CPU: 0 PID: 1 at lib/foo.c:12 foo+0x1/0x2", then ---[ end trace ]---
    _h("WARNING", "WARNING: ", r"WARNING: (?:CPU: |.*\bat \S)", End.TRACE, title=Title.WARNING),
    _h("WARNING", "WARNING: ", r"WARNING: \S", End.STACK, title=Title.WARNING, grace=GRACE_LINES),
    _h("panic", "Kernel panic - not syncing", r"Kernel panic - not syncing", End.PANIC),
)

# Lines that match a header (or could) but are not kernel bugs.  They never
# start a report; inside an open report they are kept as ordinary lines.
SUPPRESSIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (why, re.compile(rx))
    for why, rx in (
        ("user-space segfault", r"\S+\[\d+\]: segfault at [0-9a-f]+ ip [0-9a-f]+ sp [0-9a-f]+"),
        ("user-space trap", r"^traps: \S+\[\d+\] "),
        ("debugobjects out of memory", r"ODEBUG: Out of memory"),
        ("lockdep off", r"lockdep is turned off"),
        ("NMI handler latency", r"INFO: NMI handler \(.*\) took too long to run"),
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
            r"|kernel stack (?:regs|frame pointer) at|can't (?:access|dereference) registers at)",
        ),
    )
)

# Frames that never carry the blame (matched against the whole function name).
GENERIC_FRAMES: tuple[str, ...] = (
    # stack dumping, panic, warn, die
    r"(?:__)?dump_stack\w*", r"show_\w+", r"\w*_show_regs", r"print_\w+", r"v?panic", r"nmi_panic",
    r"check_panic_on_warn", r"__warn\w*", r"warn_slowpath\w*", r"report_bug", r"handle_bug",
    r"__report_bug", r"do_trap", r"do_error_trap", r"(?:__)?die\w*", r"oops_\w+",
    # exception and interrupt entry
    r"(?:asm_)?exc_\w+", r"do_int3\w*", r"fixup_exception", r"page_fault_oops",
    r"kernelmode_fixup_or_oops\w*", r"(?:__)?bad_area\w*", r"do_user_addr_fault",
    r"do_kern_addr_fault", r"handle_page_fault", r"spurious_kernel_fault", r"no_context",
    r"(?:asm_)?(?:__)?sysvec_\w+", r"irq_exit\w*", r"__irq_exit_rcu", r"__hrtimer_run_queues",
    r"hrtimer_interrupt", r"__run_hrtimer", r"default_do_nmi", r"nmi_\w+",
    r"do_syscall_64", r"do_syscall_x64", r"x64_sys_call", r"entry_SYSCALL_64\w*",
    r"syscall_exit\w*", r"ret_from_fork\w*",
    # sanitizers
    r"(?:__)?kasan_\w+", r"kasan_\w+", r"__asan_\w+", r"__hwasan_\w+", r"check_memory_region\w*",
    r"kfence_\w+", r"(?:__)?kmsan_\w+", r"kmsan_\w+", r"(?:__)?kcsan_\w+", r"kcsan_\w+",
    r"(?:__)?ubsan_\w+", r"__tsan_\w+",
    # locking, lockdep, scheduling, waiting
    r"lockdep_\w+", r"(?:__)?lock_acquire\w*", r"lock_release", r"lock_acquired", r"mark_lock\w*",
    r"validate_chain", r"check_noncircular", r"check_prev_add\w*", r"check_deadlock",
    r"check_irq_usage", r"debug_check_no_locks_held", r"__might_\w+", r"might_\w+",
    r"__schedule_bug", r"__schedule", r"schedule\w*", r"preempt_schedule\w*",
    r"io_schedule\w*", r"_raw_\w+", r"__raw_\w+", r"do_raw_\w+",
    r"queued_\w+_lock_slowpath", r"native_queued_spin_lock_slowpath", r"(?:__)?mutex_lock\w*",
    r"mutex_lock\w*", r"rwsem_down_\w+", r"down_\w+", r"__down\w*", r"wait_for_completion\w*",
    r"__wait_for_common", r"do_wait_for_common",
    # lockup/stall detectors
    r"watchdog_\w+", r"rcu_dump_cpu_stacks", r"rcu_sched_clock_irq", r"check_cpu_stall",
    r"rcu_pending", r"update_process_times", r"tick_\w+", r"sched_show_task",
)

_GENERIC_RE = re.compile("|".join(f"(?:{p})" for p in GENERIC_FRAMES))

# --------------------------------------------------------------------------
# Matching helpers


def _minimal_literals(literals: set[str]) -> tuple[str, ...]:
    """Drop every literal that contains another one: the shorter one suffices."""
    keep = [
        lit for lit in literals if not any(o != lit and o in lit for o in literals)
    ]
    return tuple(sorted(keep))


_CUT_HERE = "[ cut here ]"
_RULER_LITERAL = "====="

#: A line can only be a header, a cut-here line or a ruler if it contains one of these.
PREFILTER: tuple[str, ...] = _minimal_literals(
    {h.literal for h in HEADERS} | {_CUT_HERE, _RULER_LITERAL}
)

# printk prefixes: "<4>", "[   12.345678] ", "[    T1] ", "[  C0] ",
# "[    1.234567][    T1] ", "[    1.234567] [T1] ".  Exactly one space is
# eaten after each bracket, so call-trace frames keep their leading space.
_PREFIX_RE = re.compile(r"(?:<\d{1,3}>)?(?:\[ *\d+\.\d+\] ?)?(?:\[ *[TC]\d+\] ?)?")
_MID_TS_RE = re.compile(r"\[ *\d+\.\d{6}\](?:\[ *[TC]\d+\])? ?")

_END_TRACE = "---[ end trace"
_END_PANIC = "---[ end Kernel panic"
_PANIC_SOFT_END = ("Kernel Offset:", "Rebooting in ")
# A stack dump has begun (for the grace rule of a bare "BUG:" header).
_STACK_STARTS = (
    "CPU: ", "Call Trace:", "Hardware name:", "Modules linked in:", "RIP: ", "#PF: ",
    "Workqueue: ", "stack backtrace:", "task:", "Tainted: ", "Comm: ", "PGD ", "CR2: ",
    "irq event stamp:",
)

_RIP_RE = re.compile(
    r"(?:RIP|EIP): (?:00[0-9a-f]0:)?(?:\[<[0-9a-f]+>\] *)*([A-Za-z_.$][\w.$]*)\+0x"
    r"|^pc : ([A-Za-z_.$][\w.$]*)\+0x"
)
_FRAME_RE = re.compile(
    r"\s+(\?\s+)?(?:\[<[0-9a-f]+>\]\s+)?([A-Za-z_.$][\w.$]*)"
    r"(?:\+0x[0-9a-f]+/0x[0-9a-f]+|(?= \S+\.\w+:\d+))"
)
_HEADER_FUNC_RE = re.compile(r"\bin ([A-Za-z_.$][\w.$]*)(?:\+0x[0-9a-f]+/0x[0-9a-f]+|\s|$)")
_WARN_AT_RE = re.compile(
    r"\bat (?:\S+:\d+ )?([A-Za-z_.$][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+"
)
_FUNC_SUFFIX_RE = re.compile(r"(?:\.(?:constprop|isra|part|cold|llvm|lto_priv|localalias)"
                             r"(?:\.\d+)?)+$")


def _candidate(raw: str) -> bool:
    """The literal prefilter: could this line be a header, cut-here line or ruler?"""
    for lit in PREFILTER:
        if lit in raw:
            return True
    return False


def clean_line(raw: str) -> str:
    """Strip printk prefixes (syslog level, timestamp, caller id) from a line."""
    if not raw or raw[0] not in "<[":
        return raw
    m = _PREFIX_RE.match(raw)
    return raw[m.end():] if m else raw


def _is_ruler(text: str) -> bool:
    t = text.strip()
    return len(t) >= 20 and t[0] == "=" and not t.strip("=")


def _suppressed(text: str) -> bool:
    return any(rx.search(text) for _, rx in SUPPRESSIONS)


def _match_at_start(text: str) -> Header | None:
    for h in HEADERS:
        if h.literal in text and h.regex.match(text):
            return h
    return None


def _match_header(text: str) -> tuple[Header, str] | None:
    """The header a cleaned line starts, and the text it starts at."""
    if _suppressed(text):
        return None
    h = _match_at_start(text)
    if h is not None:
        return h, text
    # A kernel message glued to the end of user output: "# [   12.3] BUG: ..."
    stamps = list(_MID_TS_RE.finditer(text, 1))
    if stamps:
        rest = text[stamps[-1].end():]
        h = _match_at_start(rest)
        if h is not None:
            return h, rest
    return None


def _func(name: str) -> str:
    return _FUNC_SUFFIX_RE.sub("", name)


def _title(h: Header, text: str) -> str:
    line = text.strip()
    if h.title is Title.WARNING:
        m = _WARN_AT_RE.search(line)
        if m:
            return f"WARNING in {_func(m.group(1))}"
    return line


_NORMALIZE = (
    (re.compile(r"([A-Za-z_.$][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+"), r"\1"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "ADDR"),
    (re.compile(r"\b[0-9a-fA-F]{8,}\b"), "ADDR"),
    (re.compile(r"(?<![\w.])\d+(?!\w)"), "NUM"),
)


def normalize_title(title: str) -> str:
    """``func+0x1a/0x2b0`` -> ``func``, hex -> ``ADDR``, numbers -> ``NUM``."""
    for rx, repl in _NORMALIZE:
        title = rx.sub(repl, title)
    return title


# --------------------------------------------------------------------------
# Scanner


@dataclass
class _Open:
    """A report being collected."""

    header: Header
    title: str
    first_line: int
    start_line: int
    lines: list[str]
    guilty: str | None = None  # from the header ("in func", "WARNING ... at func")
    rip: str | None = None
    frame: str | None = None
    in_trace: bool = False
    die_seen: bool = False
    stack_seen: bool = False
    soft_end: bool = False
    cut_tail: bool = False  # the last line is a cut-here line

    @property
    def last_line(self) -> int:
        return self.start_line + len(self.lines) - 1

    def observe(self, text: str) -> None:
        """Update the guilty-frame and end-state bookkeeping with one cleaned line."""
        if self.rip is None and ("IP: " in text or text.startswith("pc : ")):
            m = _RIP_RE.search(text)
            if m:
                self.rip = _func(m.group(1) or m.group(2))
        if text.startswith("Call Trace:"):
            self.in_trace = True
        elif self.in_trace and self.frame is None and text[:1] in (" ", "\t"):
            m = _FRAME_RE.match(text)
            if m and not m.group(1):
                name = _func(m.group(2))
                if not _GENERIC_RE.fullmatch(name):
                    self.frame = name
        if not self.stack_seen and text.startswith(_STACK_STARTS):
            self.stack_seen = True
        if self.header.end is End.PANIC and text.startswith(_PANIC_SOFT_END):
            self.soft_end = True

    def report(self, corrupted: bool, reason: str) -> Report:
        return Report(
            kind=self.header.kind,
            title=self.title,
            first_line=self.first_line,
            last_line=self.last_line,
            lines=self.lines,
            corrupted=corrupted,
            guilty_frame=self.guilty or self.rip or self.frame,
            start_line=self.start_line,
            end_reason=reason,
        )


_PREAMBLE_MAX = 6  # cut here + WARN() message lines kept before a header


class OopsScanner:
    """Streaming oops detector: ``feed()`` console lines, ``flush()`` at the end."""

    def __init__(self, max_report_lines: int = 400) -> None:
        if max_report_lines < 1:
            raise ValueError("max_report_lines must be >= 1")
        self.max_report_lines = max_report_lines
        self._lineno = 0
        self._cur: _Open | None = None
        # lines outside any report that may be a report's preamble:
        # a cut-here line and what followed it, or a ruler
        self._pre: list[tuple[int, str]] = []
        self._pre_is_cut = False

    @property
    def in_report(self) -> bool:
        return self._cur is not None

    @property
    def lineno(self) -> int:
        return self._lineno

    def feed(self, line: str) -> list[Report]:
        """Feed one console line; returns the reports it completed (usually [])."""
        self._lineno += 1
        raw = line.rstrip("\r\n")
        done: list[Report] = []
        if self._cur is not None and self._feed_report(self._cur, raw, done):
            return done
        self._feed_outside(raw, done)
        return done

    def flush(self) -> list[Report]:
        """End of stream: the open report, if any (corrupted unless it had ended)."""
        self._pre = []
        rep = self._cur
        if rep is None:
            return []
        self._cur = None
        if rep.soft_end:
            return [rep.report(False, "panic end")]
        return [rep.report(True, "eof")]

    # -- internals ---------------------------------------------------------

    def _close(self, rep: _Open, reason: str) -> Report:
        self._cur = None
        return rep.report(False, reason)

    def _feed_outside(self, raw: str, done: list[Report]) -> None:
        # hot path: most lines contain no literal at all
        if not _candidate(raw):
            if self._pre:
                self._advance_preamble(raw)
            return
        text = clean_line(raw)
        found = _match_header(text)
        if found is None:
            if _CUT_HERE in text:
                self._pre = [(self._lineno, raw)]
                self._pre_is_cut = True
            elif _is_ruler(text):
                self._pre = [(self._lineno, raw)]
                self._pre_is_cut = False
            elif self._pre:
                self._advance_preamble(raw)
            return
        pre = self._pre
        self._pre = []
        self._open(found[0], found[1], raw, pre, done)

    def _advance_preamble(self, raw: str) -> None:
        if self._pre_is_cut and len(self._pre) < _PREAMBLE_MAX:
            self._pre.append((self._lineno, raw))
        else:
            self._pre = []

    def _open(
        self,
        h: Header,
        text: str,
        raw: str,
        pre: list[tuple[int, str]],
        done: list[Report],
    ) -> None:
        n = self._lineno
        guilty = None
        if h.func_in_header:
            m = _HEADER_FUNC_RE.search(text)
            guilty = _func(m.group(1)) if m else None
        elif h.title is Title.WARNING:
            m = _WARN_AT_RE.search(text)
            guilty = _func(m.group(1)) if m else None
        rep = _Open(
            header=h,
            title=_title(h, text),
            first_line=n,
            start_line=pre[0][0] if pre else n,
            lines=[r for _, r in pre] + [raw],
            guilty=guilty,
            die_seen=h.die,
        )
        rep.observe(text)
        self._cur = rep
        if len(rep.lines) >= self.max_report_lines:
            done.append(self._close(rep, "max lines"))

    def _feed_report(self, rep: _Open, raw: str, done: list[Report]) -> bool:
        """Process a line while a report is open; False if the line is not part of it."""
        text = clean_line(raw)
        h = rep.header
        # a panic is over after "Kernel Offset:" (panic=-1 reboots before the end marker)
        if rep.soft_end and not text.startswith((_END_PANIC, "Rebooting in ")):
            done.append(self._close(rep, "panic end"))
            return False
        # a bare "BUG:" with no stack dump following it is a one-line report
        if (
            h.grace is not None
            and not rep.stack_seen
            and self._lineno - rep.first_line > h.grace
            and not text.startswith(_STACK_STARTS)
        ):
            del rep.lines[rep.first_line - rep.start_line + 1:]
            done.append(self._close(rep, "no stack"))
            return False
        if text.startswith("---[ end "):
            if text.startswith((_END_TRACE, _END_PANIC)):
                rep.lines.append(raw)
                done.append(self._close(rep, "end marker"))
                return True
        elif _candidate(raw):
            found = _match_header(text)
            if found is not None:
                nh, ntext = found
                if nh.die and h.pre_die and not rep.die_seen:
                    # "kernel BUG at ..." then "Oops: invalid opcode: ...": same report
                    rep.die_seen = rep.stack_seen = True
                else:
                    pre: list[tuple[int, str]] = []
                    if rep.cut_tail and len(rep.lines) > rep.first_line - rep.start_line + 1:
                        pre = [(rep.last_line, rep.lines.pop())]
                    done.append(self._close(rep, "next report"))
                    self._open(nh, ntext, raw, pre, done)
                    return True
        rep.lines.append(raw)
        rep.cut_tail = _CUT_HERE in text
        rep.observe(text)
        if h.end is End.RULER and _is_ruler(text):
            done.append(self._close(rep, "ruler"))
        elif h.end is End.STACK and not rep.die_seen and text.strip() == "</TASK>":
            done.append(self._close(rep, "stack end"))
        elif len(rep.lines) >= self.max_report_lines:
            done.append(self._close(rep, "max lines"))
        return True


def scan(text: str) -> list[Report]:
    """Scan a whole console log: feed every line, then flush."""
    scanner = OopsScanner()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[Report] = []
    feed = scanner.feed
    for line in lines:
        r = feed(line)
        if r:
            out.extend(r)
    out.extend(scanner.flush())
    return out
