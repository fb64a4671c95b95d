"""Detect Linux kernel oops reports in serial console output, title them and
find the function to blame.

Pure: no I/O, stdlib only.  Feed console lines to an :class:`OopsScanner` as
they stream in; each call returns the reports that line completed.  ``scan()``
does the same for a whole log (a ``str``), ``scan_bytes()`` for raw console
bytes, much faster: it jumps from one prefilter hit to the next and only feeds
the lines around them to the same scanner, with the same results.

The oops knowledge (report kinds with their start patterns, title formats,
per-kind skip lists for the guilty-frame search, suppressions, the prefilter)
is data in :mod:`harness.parse.oops_tables`; this module is the engine that
applies it, and re-exports the tables' public names.  Only lines holding a
``PREFILTER`` literal are matched against the headers while no report is open.

Titles follow the convention of the kernel's bots, normalized so that the
same bug gets the same title on every build: ``kernel BUG in f``, ``WARNING
in f``, ``BUG: unable to handle kernel NULL pointer dereference in f``,
``general protection fault in f``, ``KASAN: use-after-free Read in f``,
``INFO: task hung in f``, ``INFO: rcu detected stall in f``, ``BUG: soft
lockup in f``, ``possible deadlock in f``, ``kernel panic: <message>``,
``unexpected kernel reboot``...  ``f`` is the guilty frame; titles carry no
address, offset, PID, CPU or line number (see :func:`normalize_title`).  The
header line as the kernel printed it is kept in ``Report.header``.

The guilty frame (:func:`guilty_frame`) is the first function, in the order
of the header's sources (the function the header names, the RIP, the reliable
call-trace frames, lockdep's ``at:`` lines...), that no skip list matches:
``?`` frames count only where a source has no reliable frame at all (a kernel
without frame pointers or ORC, whose guess unwinder prints every frame with a
``?``), and then in the same order and through the same skip lists; for a
hung task the first frame that is not the
scheduler, a lock or a wait primitive; for ``kernel BUG at lib/list_debug.c``
the caller of the list helper; for a WARN() in an allocator, its caller;
for a stall or lockup the function that loops (see ``STALL_ANCHORS``); for
lockdep's circular dependency the locks taken and held, then the first
dependency chain.  Frames are read in the x86, arm64, powerpc, riscv and arm
(``(callee) from (caller)``) formats; C++ and Rust names are demangled
(:mod:`harness.parse.demangle`).

Line numbering: 1-based, one per fed line.  ``Report.first_line`` is the line
of the header (e.g. ``kernel BUG at ...``).  A ``cut here`` line (plus the
few ``WARN()`` message lines between it and the header) or a ``=====`` ruler
printed just before the header belongs to the report: it is kept at the start
of ``Report.lines`` and ``Report.start_line`` is its line number
(``start_line <= first_line``).

printk caller ids (``[T123]``, ``[C0]``, with or without a timestamp) tell
interleaved output apart: a report collects only the lines of its own caller
(plus, for a report printed from interrupt context, the ``[C...]`` lines of
the NMI backtraces it triggers), another task's lines are not part of it, and
another task's report header opens a second report while the first is still
open.  Then ``Report.lines`` holds only the report's own lines, which need
not be consecutive console lines.  Without caller ids every line after the
header belongs to the report until it ends.

How a report ends (``Report.end_reason``):

* ``"end marker"``: ``---[ end trace <hex> ]---`` or
  ``---[ end Kernel panic - not syncing: ... ]---`` (any kind);
* ``"ruler"``: the ``=====`` ruler closing a KASAN/UBSAN/KFENCE/KMSAN/KCSAN
  report;
* ``"stack end"``: the ``</TASK>`` closing the stack dump of a report printed
  by ``dump_stack()`` (lockdep, hung task, soft lockup, RCU stall, a ``BUG:``
  that is not followed by an ``Oops`` line); before 5.16 there is no
  ``</TASK>``: the first line after ``Call Trace:`` that cannot be part of a
  stack dump (not indented, no ``[<addr>]``, no ``REG: ``) ends the report and
  is not part of it.  In a report printed with printk timestamps, a line
  without one is user space's output on the same console: it is not part of
  the report and ends nothing (a stack dump that only such lines followed
  until the end of the stream ended too);
* ``"panic end"``: a panic without its end marker (``panic=-1`` reboots before
  printing it) ends after ``Kernel Offset:`` / ``Rebooting in``: at the next
  other line, or at the end of the stream (not corrupted);
* ``"next report"``: another report's header appeared first (a ``die()`` line
  right after ``kernel BUG at`` / ``BUG: ...`` continues the report instead);
* ``"no stack"``: a ``BUG:`` (or unusual ``WARNING:``) line with no stack dump
  within ``GRACE_LINES`` lines: the report is just its header;
* ``"max lines"``: ``max_report_lines`` reached (the rest is dropped);
* ``"reboot"``: a new kernel's banner (``Linux version ...``) appeared: the
  report is cut (``corrupted=True``);
* ``"eof"``: ``flush()`` with the report open: ``corrupted=True``.

A report during which the kernel said ``** N printk messages dropped **`` is
also ``corrupted``.  An "unexpected reboot" is a banner seen after the kernel
was already up (an earlier banner or printk timestamp) with no report and no
``reboot: Restarting system`` since the previous boot: a one-line report of
kind ``"reboot"``; the firmware's banner (``SeaBIOS (version``) printed after
other output means the machine was up too.

After ``---[ end trace ]---`` the kernel prints the RIP/Code/register block
again ("executive summary"); those lines are outside any report and dropped,
as is every line outside a report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .demangle import demangle
from .oops_tables import CUT_HERE as _CUT_HERE
from .oops_tables import FIRMWARE as _FIRMWARE
from .oops_tables import FUNC as _F
from .oops_tables import (
    GENERIC_FRAMES,
    GRACE_LINES,
    HEADER_GUILTY,
    HEADERS,
    NO_FRAME,
    PREFILTER,
    STALL_ANCHORS,
    STALL_DETECTOR,
    STALL_IRQ,
    SUPPRESSIONS,
    TITLE_REWRITES,
    End,
    Header,
    Src,
)
from .oops_tables import REBOOT as _REBOOT
from .oops_tables import RESTART as _RESTART
from .oops_tables import rx_any as _rx

_MAX_LINE = 1024  # printk never prints longer lines; matching looks no further
_MAX_KEPT_LINE = 4096  # raw report lines are truncated to this many characters

__all__ = [
    "End",
    "GENERIC_FRAMES",
    "GRACE_LINES",
    "HEADERS",
    "Header",
    "OopsScanner",
    "PREFILTER",
    "Report",
    "SUPPRESSIONS",
    "Src",
    "clean_line",
    "dedup",
    "guilty_frame",
    "is_generic_frame",
    "is_panic_title",
    "normalize_title",
    "scan",
    "scan_bytes",
    "title_aliases",
]

# --------------------------------------------------------------------------
# Report


@dataclass
class Report:
    """One oops report found in a console stream."""

    kind: str  # "BUG", "kernel BUG", "WARNING", "panic", "KASAN", "reboot", ...
    title: str  # normalized, e.g. "kernel BUG in switch_mm_irqs_off"
    first_line: int  # 1-based line number of the header line
    last_line: int  # 1-based line number of the report's last line
    lines: list[str]  # raw lines (without trailing "\r"/"\n"), from start_line on
    corrupted: bool = False  # the stream ended (or the kernel rebooted) before the end
    guilty_frame: str | None = None  # the function to blame
    start_line: int = 0  # line of lines[0]: the cut-here/ruler line, else first_line
    end_reason: str = ""  # see the module docstring
    header: str = ""  # the header line as printed (printk prefixes stripped)
    context: str | None = None  # printk caller id of the header line ("T88", "C0")

    def __post_init__(self) -> None:
        if self.start_line <= 0:
            self.start_line = self.first_line
        if not self.header and self.lines:
            self.header = clean_line(self.lines[min(self.first_line - self.start_line,
                                                    len(self.lines) - 1)])

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    @property
    def signature(self) -> str:
        """The dedup key: the title, normalized (titles already are)."""
        return normalize_title(self.title)

    def to_dict(self) -> dict[str, Any]:
        """The ``oops --json`` shape (see DESIGN.md), plus the raw header line."""
        return {
            "title": self.title,
            "kind": self.kind,
            "guilty_frame": self.guilty_frame,
            "first_line": self.first_line,
            "last_line": self.last_line,
            "corrupted": self.corrupted,
            "header": self.header,
            "text": self.text,
        }


def dedup(reports: Iterable[Report]) -> list[tuple[str, int, Report]]:
    """One entry per distinct title: ``(title, occurrences, first report)``,
    in order of first appearance (keyed on :attr:`Report.signature`)."""
    seen: dict[str, list[Any]] = {}
    for r in reports:
        key = r.signature
        if key in seen:
            seen[key][1] += 1
        else:
            seen[key] = [key, 1, r]
    return [(k, n, r) for k, n, r in seen.values()]


_SUPPRESS_RE = _rx(rx.pattern for _, rx in SUPPRESSIONS)

_GENERIC_RE = _rx(GENERIC_FRAMES)

_PREFILTER_SEARCH = re.compile("|".join(re.escape(lit) for lit in PREFILTER)).search


def _finder(lit: str) -> tuple[bytes, re.Pattern[bytes] | None]:
    """How scan_bytes() looks for a literal in a whole buffer, whichever is
    faster on console logs: ``bytes.find`` for literals of 10 bytes or more
    (its skip table pays off: about twice as fast as re for "rust_kernel:
    panicked", "[ cut here ]" or "hard LOCKUP" on a clean log), else a
    compiled regex (re's literal-prefix scan is about 1.5 times as fast for
    short ones); "[#" as "#" with a look-behind, "#" being rare."""
    b = lit.encode()
    if lit == "[#":
        return b, re.compile(rb"#(?<=\[#)")
    if len(b) >= 10:
        return b, None
    return b, re.compile(re.escape(b))


def _finders(lits: tuple[str, ...]) -> tuple[tuple[bytes, re.Pattern[bytes] | None], ...]:
    """One search per literal, but literals with the same first two characters
    share one regex (``Un(?:able to handle kernel |handled fault)``): a pass
    over the buffer per group, as every pass costs about the same."""
    groups: dict[str, list[str]] = {}
    for lit in lits:
        groups.setdefault(lit[:2] if len(lit) > 2 else lit, []).append(lit)
    out = []
    for key, group in groups.items():
        if len(group) == 1:
            out.append(_finder(group[0]))
            continue
        alts = "|".join(re.escape(x[2:]) for x in group)
        out.append((key.encode(), re.compile(re.escape(key).encode() + f"(?:{alts})".encode())))
    return tuple(out)


_FINDERS = _finders(PREFILTER)
_FW_FINDER = next((i for i, (lit, _) in enumerate(_FINDERS) if lit == _FIRMWARE.encode()), -1)
_BANNER_FINDER = next((i for i, (lit, _) in enumerate(_FINDERS) if lit == b"Linux version"), -1)

# --------------------------------------------------------------------------
# Line helpers

# printk prefixes: "<4>", "[   12.345678] ", "[    T1] ", "[  C0] ",
# "[    1.234567][    T1] ", "[    1.234567] [T1] ".  Exactly one space is
# eaten after each bracket, so call-trace frames keep their leading space.
_PREFIX_RE = re.compile(r"(?:<\d{1,3}>)?(?:\[ *\d+\.\d+\] ?)?(?:\[ *([TC]\d+)\] ?)?")
_TS_RE = re.compile(r"(?:<\d{1,3}>)?\[ *\d+\.\d+\]")
_TS_BYTES_RE = re.compile(rb"(?m)^(?:<\d{1,3}>)?\[ *\d+\.\d+\]")
_TOOL_TS_RE = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? ")
_LOGIN_RE = re.compile(r"[\w.-]+ login: ")  # getty's prompt, a kernel message printed after it
_MID_TS_RE = re.compile(r"\[ *\d+\.\d{6}\](?:\[ *[TC]\d+\])? ?")

_END_TRACE = "---[ end trace"
_END_PANIC = "---[ end Kernel panic"
_PANIC_SOFT_END = ("Kernel Offset:", "Rebooting in ")
_DROPPED = "printk messages dropped"
_TRACE_STARTS = ("Call Trace:", "Call trace:", "Backtrace:", "  backtrace:")  # arm, kmemleak
# A stack dump has begun (for the grace rule of a bare "BUG:" header).
_STACK_STARTS = (
    "unreferenced object ",
    "CPU: ", "Call Trace:", "Call trace:", "Backtrace:", "Hardware name:", "Modules linked in:",
    "RIP: ",
    "#PF: ", "Workqueue: ", "stack backtrace:", "task:", "Tainted: ", "Comm: ", "PGD ", "CR2: ",
    "irq event stamp:", "page:", "caller is ", "Preemption disabled at:",
)

# Lines that can be part of a stack dump once "Call Trace:" was printed: frames
# and <IRQ>-like markers (indented), pt_regs ("RIP: ...", "Code: ..."), old
# un-indented frames ("[<ffffffff81000000>] ...").  Before 5.16 there is no
# "</TASK>": the first other line ends a dump_stack() report.
_PPC_FRAME_RE = re.compile(r"\[[0-9a-f]{8,16}\] \[")
_IN_STACK_RE = re.compile(r"\s|\[<|\[[0-9a-f]{8,16}\] \[|[A-Z][A-Za-z0-9_]{0,15}: |$"
                          r"|NMI backtrace for cpu|Sending NMI from CPU|Hardware name: |rcu: |task:"
                          r"|Task dump for CPU"
                          r"|Call [Tt]race:")

_RIP_RE = re.compile(
    rf"\b(?:RIP|EIP|IP): (?:[0-9a-f]{{4}}:)?(?:\[<[0-9a-f]+>\] *)*({_F})\+0x"
    rf"|^(?:pc : |PC is at )({_F})\+0x"  # arm64, arm and arm64 before 4.x
)
_FRAME_RE = re.compile(
    # powerpc: "[c000000049a87710] [c0000000000286fc] func+0x43c/0x6d0" (stack, address)
    r"(?:\s+|\[[0-9a-f]{8,16}\] \[[0-9a-f]{8,16}\] )"
    r"(?:\[<[0-9a-f]+>\]\s+)?(\?\s+)?(?:\[<[0-9a-f]+>\]\s+)?"
    rf"({_F})(?:\+0x[0-9a-f]+/0x[0-9a-f]+|(?= \S+\.\w+:\d+))"
)
# arm: "[<80b10c70>] (memset) from [<8062eec8>] (n_tty_set_termios+0x154/0x3c4)"
# (before 4.x "(memset+0x30/0xa8) from"): the frame is the callee, first
_ARM_FRAME_RE = re.compile(rf"\[<[0-9a-f]+>\] \(({_F})(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?\) from "
                           rf"(?:\[<[0-9a-f]+>\] \(({_F})\+0x)?")
_AT_RE = re.compile(rf"\bat: (?:\[<[0-9a-f]+>\] *)?({_F})\+0x")
_AT_NEXT_RE = re.compile(rf"\s*(?:\[<[0-9a-f]+>\] *)({_F})\+0x")
_HEADER_IN_RE = re.compile(rf"\bin ({_F})(?:\+0x[0-9a-f]+/0x[0-9a-f]+|\s|$)")
_FUNC_SUFFIX_RE = re.compile(r"(?:\.(?:constprop|isra|part|cold|llvm|lto_priv|localalias)"
                             r"(?:\.\d+)?)+$")


def clean_line(raw: str) -> str:
    """Strip printk prefixes (syslog level, timestamp, caller id) from a line."""
    if not raw or raw[0] not in "<[":
        return raw
    m = _PREFIX_RE.match(raw)
    return raw[m.end():] if m else raw


def _split(raw: str) -> tuple[str | None, str]:
    """The printk caller id ("T88", "C0", or None) and the cleaned line."""
    if not raw or raw[0] not in "<[":
        return None, raw
    m = _PREFIX_RE.match(raw)
    if m is None:
        return None, raw
    return m.group(1), raw[m.end():]


def _is_ruler(text: str) -> bool:
    t = text.strip()
    return len(t) >= 20 and t[0] == "=" and not t.strip("=")


def _match_at_start(text: str) -> tuple[Header, re.Match[str]] | None:
    for h in HEADERS:
        if h.literal in text:
            m = h.regex.match(text)
            if m is not None:
                return h, m
    return None


def _match_header(text: str) -> tuple[Header, str, re.Match[str]] | None:
    """The header a cleaned line starts, the text it starts at, and the match."""
    text = text[:_MAX_LINE].rstrip()
    if _SUPPRESS_RE.search(text):
        return None
    found = _match_at_start(text)
    if found is not None:
        return found[0], text, found[1]
    # A tool's own timestamp before a kernel message: "2018/01/09 14:28:48 BUG: ...",
    # or getty's prompt: "syzkaller login: Unable to handle kernel paging request"
    m = _TOOL_TS_RE.match(text) or _LOGIN_RE.match(text)
    if m is not None:
        found = _match_at_start(text[m.end():])
        if found is not None:
            return found[0], text[m.end():], found[1]
    # A kernel message glued to the end of user output: "# [   12.3] BUG: ..."
    last = None
    for m in _MID_TS_RE.finditer(text, 1):
        last = m
    if last is not None:
        rest = text[last.end():]
        found = _match_at_start(rest)
        if found is not None:
            return found[0], rest, found[1]
    return None


def _func(name: str) -> str:
    name = _FUNC_SUFFIX_RE.sub("", name)
    if name.startswith(("_Z", "_R")):
        return demangle(name)
    return name


def is_generic_frame(name: str, skip: re.Pattern[str] | None = None) -> bool:
    """Whether a function never carries the blame (``GENERIC_FRAMES`` + ``skip``)."""
    name = _func(name)
    return bool(_GENERIC_RE.search(name) or (skip is not None and skip.search(name)))


# --------------------------------------------------------------------------
# Titles


_NORMALIZE = (
    # "ip6_fragment+0x1052/0x2d80" -> "ip6_fragment": offsets change with every build
    (re.compile(r"([A-Za-z_.$][\w.$]*)\+0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?"), r"\1"),
    # syzkaller's programs: "syz-executor1", "syz-executor.3", "syz.9.803" -> one name
    (re.compile(r"\bsyz-executor[.\d]*\d\b"), "syz-executor"),
    (re.compile(r"\bsyz\.\d+\.\d+\b"), "syz"),
    # addresses and other long hex numbers
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "ADDR"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b"), "ADDR"),
    # decimal numbers: line numbers, PIDs, CPUs, counts, seconds...
    (re.compile(r"(?<![\w.])\d+(?!\w)"), "NUM"),
)


def normalize_title(title: str) -> str:
    """Remove what changes from run to run or build to build: ``func+0x1a/0x2b0``
    -> ``func``, hex -> ``ADDR``, decimal numbers (``file.c:12``, ``CPU#1``,
    PIDs...) -> ``NUM``.  Idempotent."""
    for rx, repl in _NORMALIZE:
        title = rx.sub(repl, title)
    return title


_PANIC_TITLE = "kernel panic: "
_PANIC_RAW = "Kernel panic - not syncing: "  # the header, the title before issue 6


def is_panic_title(title: str) -> bool:
    """A ``panic()`` report's title: ``kernel panic: <message>``, or the raw
    header ``Kernel panic - not syncing: <message>`` that earlier versions
    used as the title (stored runs, known-issue patterns)."""
    return title.startswith((_PANIC_TITLE, _PANIC_RAW))


def title_aliases(title: str) -> tuple[str, ...]:
    """The title and its spelling in the other convention, for matching
    titles or patterns written before this convention against current ones
    and vice versa: ``kernel panic: X`` <-> ``Kernel panic - not syncing:
    X``.  Other titles have no alias: ``(title,)``."""
    if title.startswith(_PANIC_TITLE):
        return title, _PANIC_RAW + title[len(_PANIC_TITLE):]
    if title.startswith(_PANIC_RAW):
        return title, _PANIC_TITLE + title[len(_PANIC_RAW):]
    return (title,)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, values: dict[str, str], func: str | None) -> str:
    sentinel = "\x00"
    text = template.format_map(_Values(values, func=sentinel))
    text = normalize_title(text)
    text = " ".join(text.split())
    for rx, repl in TITLE_REWRITES:
        text = rx.sub(repl, text)
    return text.replace(sentinel, func or "")


def _title(h: Header, values: dict[str, str], func: str | None) -> str:
    if func is not None or "{func}" not in h.title:
        return _fill(h.title, values, func)
    fallback = h.fallback
    if fallback is None or any(not values.get(k) for k in re.findall(r"{(\w+)}", fallback)):
        return _fill(h.title, values, NO_FRAME)
    return _fill(fallback, values, None)


# --------------------------------------------------------------------------
# Guilty frame


_UNRELIABLE = (Src.TRACE, Src.ALLOC, Src.FRAMES)  # sources that have "?" frames


def _sources(h: Header, body: list[str]) -> tuple[dict[Src, list[str]], dict[Src, list[str]]]:
    """Guilty-frame candidates by source, from the report's cleaned lines
    (``body[0]`` is the header line): the reliable ones, and the ``?`` frames
    of the frame sources (``_UNRELIABLE``)."""
    out: dict[Src, list[str]] = {s: [] for s in Src}
    unsure: dict[Src, list[str]] = {s: [] for s in _UNRELIABLE}
    want = set(h.sources)
    in_trace = in_alloc = at_next = False
    # per call trace: its reliable frames and the RIPs inside it, in order
    blocks: list[list[str]] = []
    seq: list[str] = []
    pre_rip: str | None = None  # a RIP printed before any call trace (show_regs())
    arm_caller: str | None = None  # the caller named by the last arm frame line
    body_func = h.body_func
    want_at = bool(want & {Src.AT, Src.CHAIN, Src.MARK})
    chain_from = -1  # where the CHAIN frames start in FRAMES
    marked: list[str] | None = None  # "at:" functions and frames after Header.mark's line
    for t in body[1:]:
        if chain_from < 0 and len(out[Src.AT]) >= 2:
            chain_from = len(out[Src.FRAMES])
        if h.mark is not None and marked is None and h.mark.search(t):
            marked = out[Src.MARK]
            continue
        if at_next:
            at_next = False
            m = _AT_NEXT_RE.match(t)
            if m is not None:
                out[Src.AT].append(_func(m.group(1)))
                if marked is not None:
                    marked.append(out[Src.AT][-1])
                continue
        if body_func is not None and not out[Src.BODY]:
            m = body_func.search(t)
            if m is not None:
                out[Src.BODY].append(_func(m.group(1)))
        if "IP: " in t or t.startswith(("pc : ", "PC is at ")):
            m = _RIP_RE.search(t)
            if m is not None:
                name = _func(m.group(1) or m.group(2))
                if not out[Src.RIP]:
                    out[Src.RIP].append(name)
                if in_trace:
                    seq.append(name)  # where the interrupted code was: a stall's frame
                elif pre_rip is None:
                    pre_rip = name
            continue
        if t.startswith(("Call Trace:", "Call trace:", "Backtrace:")):
            in_trace, in_alloc = True, False
            seq = []
            blocks.append(seq)
            continue
        if Src.ALLOC in want and "page last allocated" in t:
            in_alloc = True
            continue
        if want_at and "at:" in t:
            m = _AT_RE.search(t)
            if m is not None:
                out[Src.AT].append(_func(m.group(1)))
                if marked is not None:
                    marked.append(out[Src.AT][-1])
                continue
            if t.rstrip().endswith("at:"):
                at_next = True
                continue
        if t.startswith("[<"):
            # arm's "(callee) from (caller)" lines, riscv's un-indented frames
            am = _ARM_FRAME_RE.match(t)
            if am is not None:
                # the callee (unless the previous line named it as its caller), then the
                # caller: the last line's caller is a frame too
                names = [_func(am.group(1))] if am.group(1) != arm_caller else []
                arm_caller = am.group(2)
                names += [_func(arm_caller)] if arm_caller else []
                for name in names:
                    out[Src.FRAMES].append(name)
                    if marked is not None:
                        marked.append(name)
                    if in_trace:
                        out[Src.TRACE].append(name)
                        seq.append(name)
                    if in_alloc:
                        out[Src.ALLOC].append(name)
                continue
            m = _FRAME_RE.match(" " + t)
            if m is None:
                continue
            name = _func(m.group(2))
            dest = unsure if m.group(1) else out
        elif t[:1] not in (" ", "\t") and not _PPC_FRAME_RE.match(t):
            in_alloc = False
            continue
        else:
            m = _FRAME_RE.match(t)
            if m is None:
                if in_alloc and t.strip() and not t.lstrip().startswith("<"):
                    in_alloc = False
                continue
            name = _func(m.group(2))
            # "? func+0x1/0x2": not a reliable frame, only a fallback
            dest = unsure if m.group(1) else out
        dest[Src.FRAMES].append(name)
        if marked is not None and dest is out:
            marked.append(name)
        if in_trace:
            dest[Src.TRACE].append(name)
            if dest is out:
                seq.append(name)
        if in_alloc:
            dest[Src.ALLOC].append(name)
    if Src.CHAIN in want:
        ats = out[Src.AT]
        out[Src.CHAIN] = ats[:2] + out[Src.FRAMES][max(chain_from, 0) if len(ats) >= 2 else 0:]
    if Src.STALL in want:
        # reliable frames only: the caller of an anchor among "?" guesses is a guess
        out[Src.STALL] = _stall_frame(blocks, pre_rip, h)
    return out, unsure


_SYS_WRAPPER_RE = re.compile(r"^__(?:x64|ia32|arm64|riscv|s390x?|se|do)_(?=(?:compat_)?sys_)")


def _stall_frame(blocks: list[list[str]], pre_rip: str | None, h: Header) -> list[str]:
    """The looping function of a stall or lockup (``STALL_ANCHORS``), if any.

    The trace looked at: the first one, after the RIP that show_regs()
    printed before it; for a header with ``irq_block`` (an RCU stall, whose
    report may start with the starved grace-period kthread's trace) the first
    one that the detector's timer interrupt is in.  If the trace holds the
    detector (``STALL_DETECTOR``, or any timer interrupt for ``irq_block``),
    only its frames after the timer interrupt (the interrupted code) count;
    else the whole trace is the interrupted code (a soft lockup's show_regs():
    a timer interrupt in it is a nested one, on the way out of a softirq).
    These frames are searched, innermost first, for an
    anchor: the result is the last frame before it that is not generic, or
    the anchor itself (``self``, or when no such frame precedes it)."""
    if not blocks:
        return []
    frames = blocks[0] if pre_rip is None else [pre_rip, *blocks[0]]
    if h.irq_block:
        frames = next((b for b in blocks if any(STALL_IRQ.search(n) for n in b)), frames)
    start = 0
    for i, name in enumerate(frames):
        if STALL_IRQ.search(name):
            if h.irq_block or any(STALL_DETECTOR.search(n) for n in frames[:i]):
                start = i + 1
            break
    prev = None
    for name in frames[start:]:
        for rx, take in STALL_ANCHORS:
            if rx.search(name):
                if take.startswith("="):
                    return [take[1:]]
                if take == "self" or prev is None:
                    # a syscall entry by its syscall's name, whichever wrapper
                    # (__x64_sys_, __se_sys_, __do_sys_...) the compiler kept
                    return [_SYS_WRAPPER_RE.sub("", name)]
                return [prev]
        if not is_generic_frame(name, h.skip):
            prev = name
    return []


_WHERE = (Src.HEADER, Src.RIP, Src.AT, Src.BODY)  # sources that name where it happened


def guilty_frame(h: Header, body: list[str], header_func: str | None) -> str | None:
    """The first candidate, in the header's source order, that is not generic;
    if all are, the first one that names where it happened (a WARN() in an
    allocator: its header function; a fault in memset(): the RIP), never a
    dump or report helper of the call trace; None without any (a report cut
    before its stack dump, a panic after an oops).

    ``?`` frames are candidates only for a frame source (call trace,
    allocation trace, every frame) without a single reliable frame: a kernel
    without frame pointers or ORC (the guess unwinder) prints every frame
    with a ``?``.  Whenever a source has a reliable frame, its ``?`` frames
    are ignored."""
    found, unsure = _sources(h, body)
    if header_func:
        found[Src.HEADER] = [_func(header_func)]
    first = None
    for src in h.sources:
        for name in found[src] or unsure.get(src, []):
            if not is_generic_frame(name, h.skip) or (
                    src is Src.HEADER and HEADER_GUILTY.search(name)):
                return name
            if first is None and src in _WHERE:
                first = name
    return first


# --------------------------------------------------------------------------
# Scanner


@dataclass
class _Open:
    """A report being collected."""

    header: Header
    text: str  # the cleaned header line, from where the header starts
    match: re.Match[str]
    ctx: str | None
    first_line: int
    lines: list[str]
    nums: list[int]  # the line number of each of lines
    hidx: int  # index of the header line in lines
    die_seen: bool = False
    stack_seen: bool = False
    soft_end: bool = False
    cut_tail: bool = False  # the last line is a cut-here line
    # a panic() inside the report: (index in lines, header, its text, its match)
    panic: tuple[int, Header, str, re.Match[str]] | None = None
    dropped: bool = False  # "printk messages dropped" inside the report
    in_trace: bool = False  # "Call Trace:" was printed
    ts: bool = False  # its lines carry printk timestamps
    foreign_tail: bool = False  # lines without one (user space) came after its last line

    @property
    def start_line(self) -> int:
        return self.nums[0]

    def append(self, raw: str, n: int) -> None:
        self.lines.append(raw[:_MAX_KEPT_LINE])
        self.nums.append(n)
        self.foreign_tail = False
        if not self.ts and _TS_RE.match(raw):
            self.ts = True

    def observe(self, text: str) -> None:
        if not self.stack_seen and text.startswith(_STACK_STARTS):
            self.stack_seen = True
        if text.startswith(_TRACE_STARTS):
            self.in_trace = True
        if ((self.header.end is End.PANIC or self.panic is not None)
                and text.startswith(_PANIC_SOFT_END)):
            self.soft_end = True
        if _DROPPED in text:
            self.dropped = True

    def reports(self, corrupted: bool, reason: str) -> list[Report]:
        """The report, and the panic inside it if any."""
        out = [self.report(corrupted, reason)]
        if self.panic is not None:
            i, h, text, m = self.panic
            inner = _Open(h, text, m, self.ctx, self.nums[i], self.lines[i:], self.nums[i:], 0,
                          dropped=self.dropped)
            out.append(inner.report(corrupted, reason))
        return out

    def report(self, corrupted: bool, reason: str) -> Report:
        h = self.header
        body = [clean_line(line)[:_MAX_LINE] for line in self.lines[self.hidx:]]
        values = {k: v for k, v in h.defaults}
        for k, v in self.match.groupdict().items():
            if v is not None:
                values[k] = v.strip()
            else:
                values.setdefault(k, "")
        values["hdr"] = self.text.strip()
        if h.next_line is not None and len(body) > 1:
            nxt = body[1].strip()
            if nxt and _CUT_HERE not in nxt:
                values[h.next_line] = nxt
        for name, rx in h.fields:
            values[name] = ""
            for t in body[1:]:
                m = rx.search(t)
                if m is not None:
                    values[name] = m.group(1)
                    break
        hf = values.get("hf") or None
        if hf is None and h.sources and h.sources[0] is Src.HEADER and "hf" not in values:
            m = _HEADER_IN_RE.search(self.text)
            hf = m.group(1) if m else None
        func = guilty_frame(h, body, hf) if h.sources else None
        if h.frame_fmt is not None:
            func = h.frame_fmt.format(func or NO_FRAME)
        return Report(
            kind=h.kind,
            title=_title(h, values, func),
            first_line=self.first_line,
            last_line=self.nums[-1],
            lines=self.lines,
            corrupted=corrupted or self.dropped,
            guilty_frame=func,
            start_line=self.nums[0],
            end_reason=reason,
            header=self.text.strip(),
            context=self.ctx,
        )


_PREAMBLE_MAX = 6  # cut here + WARN() message lines kept before a header
_PREAMBLE_SPAN = 50  # a cut-here line of another context is forgotten after this many lines


class OopsScanner:
    """Streaming oops detector: ``feed()`` console lines, ``flush()`` at the end."""

    def __init__(self, max_report_lines: int = 400, max_open: int = 4) -> None:
        if max_report_lines < 1:
            raise ValueError("max_report_lines must be >= 1")
        self.max_report_lines = max_report_lines
        self.max_open = max(1, max_open)
        self._lineno = 0
        self._open: list[_Open] = []  # open reports, oldest first (several only with caller ids)
        # lines outside any report that may be a report's preamble, per caller
        # id: a cut-here line and what followed it (is_cut), or a ruler
        self._pre: dict[str | None, tuple[bool, list[tuple[int, str]]]] = {}
        # for "unexpected reboot"
        self._ts_seen = False  # a printk timestamp: the kernel was up
        self._banner_seen = False
        self._reported = False  # a report since the last banner
        self._restart = False  # "reboot: Restarting system" since the last banner
        self._content = False  # a non-empty line was seen
        self._fw_reset = False  # the firmware's banner after other output: the machine reset

    @property
    def in_report(self) -> bool:
        return bool(self._open)

    @property
    def lineno(self) -> int:
        return self._lineno

    def feed(self, line: str) -> list[Report]:
        """Feed one console line; returns the reports it completed (usually [])."""
        self._lineno += 1
        raw = line.rstrip("\r\n")
        done: list[Report] = []
        if self._open:
            self._inside(raw, done)
        elif _PREFILTER_SEARCH(raw) is not None:
            ctx, text = _split(raw)
            self._outside(raw, ctx, text, _match_header(text), done)
        elif self._pre:
            self._advance_preamble(raw, _split(raw)[0])
        if not self._ts_seen and _TS_RE.match(raw):
            self._ts_seen = True
        if not self._content and raw.strip():
            self._content = True
        return done

    def flush(self) -> list[Report]:
        """End of stream: the open reports (corrupted unless they had ended)."""
        self._pre = {}
        done: list[Report] = []
        for rep in list(self._open):
            if rep.soft_end:
                self._close(done, rep, "panic end")
            elif (rep.foreign_tail and rep.header.end is End.STACK and rep.in_trace
                  and not rep.die_seen):
                # only user space printed after its stack dump: it was over
                self._close(done, rep, "stack end")
            else:
                self._close(done, rep, "eof", corrupted=True)
        return done

    # -- internals ---------------------------------------------------------

    @property
    def _idle(self) -> bool:
        """No open report and no preamble: lines without a literal change nothing
        (but the timestamp flag)."""
        return not self._open and not self._pre

    def _close(self, done: list[Report], rep: _Open, reason: str,
               corrupted: bool = False) -> None:
        self._open.remove(rep)
        done.extend(rep.reports(corrupted, reason))

    def _route(self, ctx: str | None) -> _Open | None:
        """The open report a line with this caller id belongs to, if any."""
        latest = self._open[-1]
        if ctx is None:
            return latest
        for rep in reversed(self._open):
            if rep.ctx == ctx:
                return rep
        if latest.ctx is None or (ctx[0] == "C" and latest.ctx[0] == "C"):
            return latest  # no ids in the header, or an NMI backtrace of another CPU
        return None

    def _inside(self, raw: str, done: list[Report]) -> None:
        ctx, text = _split(raw)
        found = _match_header(text) if _PREFILTER_SEARCH(raw) is not None else None
        if found is not None and not found[0].nested:
            found = None  # e.g. an unwinder warning inside a report's trace
        if found is not None and found[0].end is End.LINE:
            # a new kernel booting: whatever was open is cut
            for rep in list(self._open):
                if rep.soft_end:
                    self._close(done, rep, "panic end")
                else:
                    self._close(done, rep, "reboot", corrupted=True)
            self._outside(raw, ctx, text, found, done)
            return
        if found is not None and ctx is not None and all(r.ctx != ctx for r in self._open):
            target = None  # another context's report starts while this one goes on
        else:
            target = self._route(ctx)
        self._expire(target, text, done)
        if target is not None and target in self._open:
            if self._feed_report(target, raw, ctx, text, found, done):
                return
        self._outside(raw, ctx, text, found, done)

    def _expire(self, target: _Open | None, text: str, done: list[Report]) -> None:
        """Close the bare "BUG:" reports that got no stack dump in time."""
        n = self._lineno
        for rep in list(self._open):
            g = rep.header.grace
            if g is None or rep.stack_seen or n - rep.first_line <= g:
                continue
            if rep is target and text.startswith(_STACK_STARTS):
                continue
            del rep.lines[rep.hidx + 1:]
            del rep.nums[rep.hidx + 1:]
            if rep.header.need_stack:
                self._open.remove(rep)
            else:
                self._close(done, rep, "no stack")

    def _outside(self, raw: str, ctx: str | None, text: str,
                 found: tuple[Header, str, re.Match[str]] | None, done: list[Report]) -> None:
        """A line that belongs to no open report."""
        if found is None:
            if _CUT_HERE in text:
                self._start_preamble(ctx, True, raw)
            elif _is_ruler(text):
                self._start_preamble(ctx, False, raw)
            else:
                if _RESTART in text:
                    self._restart = True
                elif _FIRMWARE in text and self._content:
                    self._fw_reset = True
                if self._pre:
                    self._advance_preamble(raw, ctx)
            return
        h, htext, m = found
        if h.end is End.LINE:
            self._banner(raw, ctx, htext, m, done)
            return
        pre = self._pre.pop(ctx, (False, []))[1]
        self._open_report(h, htext, m, raw, ctx, pre, done)

    def _start_preamble(self, ctx: str | None, is_cut: bool, raw: str) -> None:
        self._pre.pop(ctx, None)
        if len(self._pre) >= 8:
            self._pre.pop(next(iter(self._pre)))
        self._pre[ctx] = (is_cut, [(self._lineno, raw)])

    def _advance_preamble(self, raw: str, ctx: str | None) -> None:
        """A line of no report: it extends its context's cut-here preamble (WARN()
        message lines), or ends that context's preamble."""
        if len(self._pre) > 1 or ctx not in self._pre:
            n = self._lineno
            for k in [k for k, (_, lines) in self._pre.items() if n - lines[0][0] > _PREAMBLE_SPAN]:
                del self._pre[k]  # another context's stale cut-here line
        entry = self._pre.get(ctx)
        if entry is None:
            return
        is_cut, lines = entry
        if is_cut and len(lines) < _PREAMBLE_MAX:
            lines.append((self._lineno, raw))
        else:
            del self._pre[ctx]

    def _banner(self, raw: str, ctx: str | None, htext: str, m: re.Match[str],
                done: list[Report]) -> None:
        up = self._banner_seen or self._ts_seen or self._fw_reset
        if up and not self._reported and not self._restart:
            rep = _Open(_REBOOT, htext, m, ctx, self._lineno, [raw[:_MAX_KEPT_LINE]],
                        [self._lineno], 0)
            done.append(rep.report(False, "reboot"))
        self._banner_seen = True
        self._reported = self._restart = self._fw_reset = False
        self._pre = {}

    def _open_report(self, h: Header, htext: str, m: re.Match[str], raw: str, ctx: str | None,
                     pre: list[tuple[int, str]], done: list[Report]) -> None:
        if len(self._open) >= self.max_open:
            self._close(done, self._open[0], "next report")
        n = self._lineno
        rep = _Open(
            header=h,
            text=htext[:_MAX_LINE],
            match=m,
            ctx=ctx,
            first_line=n,
            lines=[r[:_MAX_KEPT_LINE] for _, r in pre] + [raw[:_MAX_KEPT_LINE]],
            nums=[k for k, _ in pre] + [n],
            hidx=len(pre),
            die_seen=h.die,
            ts=bool(_TS_RE.match(raw)),
        )
        rep.observe(htext)
        self._open.append(rep)
        self._reported = True
        if len(rep.lines) >= self.max_report_lines:
            self._close(done, rep, "max lines")

    def _feed_report(self, rep: _Open, raw: str, ctx: str | None, text: str,
                     found: tuple[Header, str, re.Match[str]] | None,
                     done: list[Report]) -> bool:
        """Process a line of this report; False if the line turned out not to be part of it."""
        h = rep.header
        # a panic is over after "Kernel Offset:" (panic=-1 reboots before the end marker)
        if rep.soft_end and not text.startswith((_END_PANIC, "Rebooting in ")):
            self._close(done, rep, "panic end")
            return False
        if rep.ts and found is None and raw.strip() and not _TS_RE.match(raw):
            # a report printed with timestamps: a line without one is user space's
            # output on the same console ("executing program"), not part of it
            rep.foreign_tail = True
            return True
        if text.startswith("---[ end "):
            if text.startswith((_END_TRACE, _END_PANIC)):
                rep.append(raw, self._lineno)
                self._close(done, rep, "end marker")
                return True
        elif (h.end is End.STACK and rep.in_trace and not rep.die_seen
              and not _IN_STACK_RE.match(text)):
            # a dump_stack() without "</TASK>" (before 5.16) is over
            self._close(done, rep, "stack end")
            return False
        if found is not None:
            nh, ntext, nm = found
            if nh.die and h.pre_die and not rep.die_seen:
                # "kernel BUG at ..." then "Oops: invalid opcode: ...": same report
                rep.die_seen = rep.stack_seen = True
            elif h.absorb is not None and not rep.die_seen and h.absorb.match(ntext):
                pass  # Rust's panic message, then the BUG() it ends in: same report
            elif (nh.end is End.PANIC and h.end is not End.PANIC and rep.panic is None
                  and not rep.in_trace):
                # "Kernel panic - not syncing: panic_on_warn set ..." before the
                # report's call trace (4.x __warn() panics before dump_stack()):
                # the report goes on (its call trace follows); the panic is a
                # report of its own too, from this line to the report's end
                rep.panic = (len(rep.lines), nh, ntext, nm)
            else:
                pre: list[tuple[int, str]] = []
                if rep.cut_tail and len(rep.lines) > rep.hidx + 1:
                    pre = [(rep.nums.pop(), rep.lines.pop())]
                self._close(done, rep, "next report")
                self._open_report(nh, ntext, nm, raw, ctx, pre, done)
                return True
        rep.append(raw, self._lineno)
        rep.cut_tail = _CUT_HERE in text
        rep.observe(text)
        if h.end is End.RULER and _is_ruler(text):
            self._close(done, rep, "ruler")
        elif h.end is End.STACK and not rep.die_seen and text.strip() == "</TASK>":
            self._close(done, rep, "stack end")
        elif len(rep.lines) >= self.max_report_lines:
            self._close(done, rep, "max lines")
        return True


def scan(text: str, max_report_lines: int = 400) -> list[Report]:
    """Scan a whole console log: feed every line, then flush."""
    scanner = OopsScanner(max_report_lines)
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
    out.sort(key=lambda r: (r.first_line, r.start_line))
    return out


def scan_bytes(data: bytes, max_report_lines: int = 400) -> list[Report]:
    """``scan(data.decode("utf-8", "replace"))``, fast: while no report is
    open, jump to the next line holding a ``PREFILTER`` literal (one search per
    literal, each resumed where it stopped: see ``_finder``) and feed only the
    lines from there on to the scanner, until it is idle again."""
    scanner = OopsScanner(max_report_lines)
    out: list[Report] = []
    n = len(data)

    ends = [n] * len(_FINDERS)  # where each literal's search stops

    def find(i: int, pos: int) -> int:
        lit, rx = _FINDERS[i]
        if rx is None:
            return data.find(lit, pos, ends[i])
        m = rx.search(data, pos, ends[i])
        return -1 if m is None else m.start()

    # next hit of each literal (-1: none).  The firmware's banner only matters
    # before the first kernel banner (after it the kernel was up anyway): it is
    # looked for in the boot only, not in the whole log
    nxt = [find(i, 0) if i != _FW_FINDER else -1 for i in range(len(_FINDERS))]
    if _FW_FINDER >= 0:
        if _BANNER_FINDER >= 0 and nxt[_BANNER_FINDER] >= 0:
            ends[_FW_FINDER] = nxt[_BANNER_FINDER]
        nxt[_FW_FINDER] = find(_FW_FINDER, 0)
    pos = 0
    while pos < n:
        if scanner._idle:
            cand = -1
            for i, p in enumerate(nxt):
                if 0 <= p < pos:
                    p = nxt[i] = find(i, pos)
                if p >= 0 and (cand < 0 or p < cand):
                    cand = p
            start = n if cand < 0 else data.rfind(b"\n", pos, cand) + 1
            if start < pos:
                start = pos
            if start > pos:
                skipped = data.count(b"\n", pos, start)
                if start == n and data[-1:] != b"\n":
                    skipped += 1  # the last line has no newline
                if not scanner._ts_seen and _TS_BYTES_RE.search(data, pos, start):
                    scanner._ts_seen = True
                if not scanner._content and data[pos:start].strip():
                    scanner._content = True
                scanner._lineno += skipped
                pos = start
                if pos >= n:
                    break
        end = data.find(b"\n", pos)
        if end < 0:
            end = n
        r = scanner.feed(data[pos:end].decode("utf-8", "replace"))
        if r:
            out.extend(r)
        pos = end + 1
    out.extend(scanner.flush())
    out.sort(key=lambda r: (r.first_line, r.start_line))
    return out
