"""Symbolize oops reports with the job's vmlinux: every ``func+0x1a/0x2b0``
(in ``RIP: 0010:func+off/size``, call-trace frames, lockdep's ``at:``...)
gets its source location, the way ``scripts/decode_stacktrace.sh`` does it:

    [   41.8]  do_syscall_64+0x4a/0xa4 (arch/x86/entry/common.c:47)
    [   41.8]      (inlined by) do_syscall_64 (arch/x86/entry/common.c:78)

The frame line keeps its text and gets the location of the innermost code
(where the CPU was, in an inlined callee if there is one: the script's first
location); each function it was inlined into follows on its own line, marked
``(inlined by)`` like ``addr2line -p -i`` does, with its call site.  Those
continuation lines do not look like frames, so re-parsing a symbolized report
finds the same guilty frame.

How: the function's start address comes from the vmlinux's symbol table
(``nm``, read once per vmlinux and cached; among same-named static functions
the one whose size matches the printed ``/0x2b0`` wins), then ONE ``addr2line
-a -f -i`` process per report resolves all its addresses.  Frames in a call
trace are return addresses, so ``addr - 1`` is looked up (the call
instruction); the RIP and a ``WARNING: ... at`` address are exact.  Paths are
made relative to the kernel tree: the tree's root is where ``kernel_init``'s
``init/main.c`` lives (``scripts/decode_stacktrace.sh``'s "auto" base path),
unless ``srctree`` is given; relative DWARF paths (``-ffile-prefix-map``)
stay as they are.

Never raises for a missing or broken vmlinux, nm or addr2line: the text comes
back unchanged with a note saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "frame_location",
    "Frame",
    "Symbolized",
    "Symbolizer",
    "format_frame",
    "parse_addr2line",
    "parse_frames",
    "parse_nm",
    "symbolize",
]

_SYM_RE = re.compile(
    r"(?P<name>[A-Za-z_.$][\w.$]*)\+0x(?P<off>[0-9a-f]+)/0x(?P<size>[0-9a-f]+)"
    r"(?P<mod> \[[\w-]+(?: [0-9a-f]+)?\])?"
)
_DONE_RE = re.compile(r"\s\(?\S+\.\w+:\d+")  # already symbolized (by us or syzkaller)
_PRINTK_RE = re.compile(r"(?:<\d{1,3}>)?(?:\[ *\d+\.\d+\] ?)?(?:\[ *[TC]\d+\] ?)?")
_EXACT_RE = re.compile(r"\b(?:RIP|EIP|IP): |^pc : |WARNING: .*\bat ")
_ANCHORS = ("kernel_init", "start_kernel")
_ANCHOR_FILE = "init/main.c"

Runner = Callable[[Sequence[str], float], str]  # argv, timeout -> stdout (raises OSError...)


@dataclass(frozen=True)
class Frame:
    """A ``func+0xoff/0xsize`` in a report line."""

    index: int  # line index in the report
    start: int  # span of "func+0x1/0x2" in the line (without " [module]")
    end: int
    name: str
    offset: int
    size: int
    module: str | None  # "[mymod]": not in vmlinux
    exact: bool  # the address itself (RIP, WARNING); else a return address


@dataclass
class Symbolized:
    text: str
    notes: list[str] = field(default_factory=list)
    resolved: int = 0  # frames that got a location
    frames: int = 0  # frames seen


def parse_frames(lines: Sequence[str]) -> list[Frame]:
    """The symbol references worth symbolizing, one per line at most."""
    out = []
    for i, line in enumerate(lines):
        if "+0x" not in line or "Code: " in line:
            continue
        m = _SYM_RE.search(line)
        if m is None or _DONE_RE.match(line, m.end()):
            continue
        mod = m.group("mod")
        out.append(Frame(
            index=i, start=m.start(), end=m.end("size"), name=m.group("name"),
            offset=int(m.group("off"), 16), size=int(m.group("size"), 16),
            module=mod.strip()[1:-1].split()[0] if mod else None,
            exact=bool(_EXACT_RE.search(line, 0, m.start())),
        ))
    return out


def parse_nm(output: str) -> dict[str, list[tuple[int, int | None]]]:
    """``nm -S`` output -> text symbol name -> [(address, size or None)]."""
    table: dict[str, list[tuple[int, int | None]]] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 4:
            addr, size, kind, name = parts
        elif len(parts) == 3:
            addr, kind, name = parts
            size = None
        else:
            continue
        if kind not in ("t", "T", "w", "W"):
            continue
        try:
            entry = (int(addr, 16), int(size, 16) if size is not None else None)
        except ValueError:
            continue
        table.setdefault(name, []).append(entry)
    return table


def parse_addr2line(output: str) -> dict[int, list[tuple[str, str]]]:
    """``addr2line -a -f -i`` output -> address -> [(function, location)],
    innermost (inlined) first; unknown locations (``??:0``) are dropped."""
    out: dict[int, list[tuple[str, str]]] = {}
    cur: list[tuple[str, str]] | None = None
    lines = output.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if re.fullmatch(r"0x[0-9a-fA-F]+", line):
            cur = out.setdefault(int(line, 16), [])
            i += 1
            continue
        if cur is not None and i + 1 < len(lines):
            func, loc = line, lines[i + 1].strip()
            loc = re.sub(r" \(discriminator \d+\)$", "", loc)
            if not loc.startswith("??"):
                cur.append((func, loc))
            i += 2
            continue
        i += 1
    return out


# The kernel tree's top-level folders: an absolute path that is not under the
# known root is cut at the first of them (objects from a shared ccache keep
# the build folder of the build that first compiled them, so one vmlinux can
# name several roots).
_TOPDIRS = frozenset({"arch", "block", "certs", "crypto", "drivers", "fs", "include", "init",
                      "io_uring", "ipc", "kernel", "lib", "mm", "net", "rust", "samples",
                      "scripts", "security", "sound", "tools", "usr", "virt"})


def _relative(loc: str, base: str | None) -> str:
    if base and loc.startswith(base):
        return loc[len(base):]
    if not loc.startswith("/"):
        return loc.removeprefix("./")
    parts = loc.split("/")
    for i in range(2, len(parts) - 1):  # a root folder of its own before it
        if parts[i] in _TOPDIRS:
            return "/".join(parts[i:])
    return loc


def format_frame(line: str, frame: Frame, entries: Sequence[tuple[str, str]],
                 base: str | None = None) -> list[str]:
    """The frame's line with the innermost location, then one ``(inlined by)``
    line per caller it was inlined into (see the module docstring)."""
    if not entries:
        return [line]
    locs = [(func, _relative(loc, base)) for func, loc in entries]
    head = line[:frame.end] + f" ({locs[0][1]})" + line[frame.end:]
    out = [head]
    if len(locs) > 1:
        m = _PRINTK_RE.match(line)
        printk = line[:m.end()] if m else ""
        pad = " " * (frame.start - len(printk) + 2)
        for func, loc in locs[1:]:
            out.append(f"{printk}{pad}(inlined by) {func} ({loc})")
    return out


def _run(argv: Sequence[str], timeout: float) -> str:
    p = subprocess.run(list(argv), capture_output=True, text=True, errors="replace",
                       timeout=timeout, check=False)
    if p.returncode != 0 and not p.stdout:
        raise OSError(f"{Path(argv[0]).name} exited with {p.returncode}: "
                      f"{p.stderr.strip()[:200]}")
    return p.stdout


_TABLES: dict[tuple[str, int, int], tuple[dict[str, list[tuple[int, int | None]]], list[str]]] = {}
_BASES: dict[tuple[str, int, int], str | None] = {}


class Symbolizer:
    """Symbolizes reports against one vmlinux (symbol table read once)."""

    def __init__(self, vmlinux: str | os.PathLike[str], *, srctree: str | None = None,
                 addr2line: str = "addr2line", nm: str = "nm", timeout: float = 60.0,
                 runner: Runner | None = None) -> None:
        self.vmlinux = str(vmlinux)
        self.srctree = (srctree.rstrip("/") + "/") if srctree else None
        self.addr2line = addr2line
        self.nm = nm
        self.timeout = timeout
        self._run: Runner = runner or _run
        self._fake = runner is not None  # a test runner: no file or PATH checks

    # -- the symbol table --------------------------------------------------
    def _key(self) -> tuple[str, int, int] | None:
        try:
            st = os.stat(self.vmlinux)
        except OSError:
            return None if not self._fake else (self.vmlinux, 0, 0)
        return (os.path.realpath(self.vmlinux), int(st.st_mtime_ns), st.st_size)

    def _table(self, notes: list[str]) -> dict[str, list[tuple[int, int | None]]] | None:
        key = self._key()
        if key is None:
            notes.append(f"not symbolized: {self.vmlinux}: no such file")
            return None
        if key in _TABLES:
            table, old = _TABLES[key]
            notes.extend(old)
            return table or None
        if not self._fake and shutil.which(self.nm) is None:
            notes.append(f"not symbolized: {self.nm} not found")
            return None
        try:
            out = self._run([self.nm, "-S", "--defined-only", self.vmlinux], self.timeout)
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            msg = f"not symbolized: {self.nm} failed on {self.vmlinux}: {e}"
            _TABLES[key] = ({}, [msg])
            notes.append(msg)
            return None
        table = parse_nm(out)
        if not table:
            msg = f"not symbolized: {self.vmlinux} has no symbol table"
            _TABLES[key] = ({}, [msg])
            notes.append(msg)
            return None
        if len(_TABLES) >= 4:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = (table, [])
        return table

    # -- one report ----------------------------------------------------------
    def symbolize(self, text: str) -> Symbolized:
        """Symbolize one report's text (one addr2line process)."""
        notes: list[str] = []
        try:
            return self._symbolize(text, notes)
        except Exception as e:  # never let symbolization break a run
            notes.append(f"not symbolized: internal error: {e!r}")
            return Symbolized(text, notes)

    def _symbolize(self, text: str, notes: list[str]) -> Symbolized:
        trailing = text.endswith("\n")
        lines = text.split("\n")
        if trailing:
            lines.pop()
        frames = parse_frames(lines)
        if not frames:
            return Symbolized(text, notes)
        table = self._table(notes)
        if table is None:
            return Symbolized(text, notes, frames=len(frames))
        addrs: dict[int, int] = {}  # frame index -> lookup address
        missing = modules = mismatched = sized = 0
        unsized: list[int] = []
        for k, f in enumerate(frames):
            if f.module is not None:
                modules += 1
                continue
            cands = table.get(f.name)
            if not cands:
                missing += 1
                continue
            # the printed size must match: another build's vmlinux gives wrong lines
            base = next((a for a, s in cands if s == f.size), None)
            if base is not None:
                sized += 1
            else:
                base = next((a for a, s in cands if s is None), None)
                if base is None:
                    mismatched += 1
                    continue
                unsized.append(k)
            addr = base + f.offset
            if not f.exact and f.offset > 0:
                addr -= 1
            addrs[k] = addr
        if mismatched and not sized:  # nothing confirms this vmlinux: trust no label either
            for k in unsized:
                del addrs[k]
            mismatched += len(unsized)
        if modules:
            notes.append(f"{modules} frame(s) in modules left as they are")
        if missing:
            notes.append(f"{missing} frame(s) not in {Path(self.vmlinux).name}'s symbol table")
        if mismatched:
            notes.append(f"{mismatched} frame(s) left as they are: the function's size differs "
                         f"in {self.vmlinux} (not the vmlinux of this kernel?)")
        if not addrs:
            return Symbolized(text, notes, frames=len(frames))
        key = self._key()
        anchor = None
        if key is not None and key not in _BASES and self.srctree is None:
            for name in _ANCHORS:
                if table.get(name):
                    anchor = table[name][0][0]
                    break
        if not self._fake and shutil.which(self.addr2line) is None:
            notes.append(f"not symbolized: {self.addr2line} not found")
            return Symbolized(text, notes, frames=len(frames))
        wanted = sorted(set(addrs.values()) | ({anchor} if anchor is not None else set()))
        try:
            out = self._run([self.addr2line, "-a", "-f", "-i", "-e", self.vmlinux,
                             *(f"0x{a:x}" for a in wanted)], self.timeout)
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            notes.append(f"not symbolized: {self.addr2line} failed: {e}")
            return Symbolized(text, notes, frames=len(frames))
        resolved = parse_addr2line(out)
        if anchor is not None and key is not None:
            _BASES[key] = _base_from(resolved.get(anchor, []))
        root = self.srctree or (_BASES.get(key) if key is not None else None)
        result: list[str] = []
        by_index = {frames[k].index: (frames[k], a) for k, a in addrs.items()}
        count = 0
        for i, line in enumerate(lines):
            hit = by_index.get(i)
            if hit is None:
                result.append(line)
                continue
            f, a = hit
            entries = resolved.get(a, [])
            if entries:
                count += 1
            result.append("\n".join(format_frame(line, f, entries, root)))
        unresolved = len(addrs) - count
        if unresolved:
            notes.append(f"{unresolved} address(es) without debug info")
        out_text = "\n".join(result) + ("\n" if trailing else "")
        return Symbolized(out_text, notes, resolved=count, frames=len(frames))


def _base_from(entries: Sequence[tuple[str, str]]) -> str | None:
    """The tree root from the anchor's location ".../init/main.c:1234"."""
    for _func, loc in entries:
        path = loc.rsplit(":", 1)[0]
        if path.endswith("/" + _ANCHOR_FILE):
            return path[: -len(_ANCHOR_FILE)]
    return None


def symbolize(text: str, vmlinux: str | os.PathLike[str] | None, **kw: object) -> Symbolized:
    """Symbolize a report's text; without a vmlinux, the text unchanged and a note."""
    if vmlinux is None:
        return Symbolized(text, ["not symbolized: no vmlinux"])
    return Symbolizer(vmlinux, **kw).symbolize(text)  # type: ignore[arg-type]


def frame_location(text: str, func: str) -> str | None:
    """The ``file:line`` that symbolized report text gives for ``func``: the
    first of its frames with a location, a reliable one (no ``?``) before a
    ``?`` one; None if none has one.  A title's frame that is not a symbol as
    printed is looked up by the symbol it stands for: ``caller/usb_submit_urb``
    by ``caller``; ``sys_foo`` (a stall's syscall) by ``__x64_sys_foo`` or
    another wrapper; ``smp_call_function`` by ``smp_call_function_many``..."""
    func = func.split("/", 1)[0]
    tail = r"(?:\.[\w.]+)?\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[\w+\])? \(([^()\s]+:\d+)\)"
    name = re.escape(func)
    for rx in (re.compile(rf"(\?\s+)?\b{name}{tail}"),
               re.compile(rf"(\?\s+)?(?<![\w.])(?:__\w+?_)?{name}\w*{tail}")):
        unsure = None
        for line in text.split("\n"):
            m = rx.search(line)
            if m is None:
                continue
            if m.group(1) is None:
                return m.group(2)
            unsure = unsure or m.group(2)
        if unsure is not None or re.search(rf"\b{name}(?:\.[\w.]+)?\+0x", text):
            return unsure  # the symbol itself is there (without a location)
    return None
