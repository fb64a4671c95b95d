"""Golden test of the oops parser against real labelled console logs:
syzkaller's ``pkg/report/testdata/linux/report`` (half of it, vendored in
tests/data/oops-corpus/, see its README).  Five figures over every file:

* recall: a crash log gives at least one report;
* clean: a log without a crash gives none;
* kind: the first report's kind (mapped by ``KIND_MAP``) is the file's TYPE;
* frame: the first report's guilty frame is the file's (FRAME:, else the word
  after the last `` in `` of the TITLE or an ALT); files whose frame is
  ``corrupted`` (the labeller could not tell) or whose title names no frame
  are not counted;
* title: the first report's title is the file's TITLE or one of its ALTs.

Kind, frame and title are counted over every crash log (with a TYPE, a
frame, a title): a log with no report counts against all three.  The
figures, per TYPE, go to the terminal summary (``terminal_summary`` in
tests/conftest.py) and to the assertion message.
``python -m tests.unit.test_oops_corpus [-v]`` prints them (``-v``: and
every miss).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.parse.oops import Report, scan_bytes

CORPUS = Path(__file__).resolve().parent.parent / "data" / "oops-corpus" / "syzkaller-linux"

# The goals of issue 16, in percent.
GOALS = {"recall": 99.0, "clean": 100.0, "kind": 95.0, "frame": 90.0, "title": 75.0}

# Our report kind (and, where one kind covers several of syzkaller's types,
# a regex searched in the title) -> the corpus TYPE.  First match wins.
KIND_MAP: tuple[tuple[str, str | None, str], ...] = (
    ("KASAN", r"^KASAN: (?:slab-)?use-after-free Read", "KASAN-USE-AFTER-FREE-READ"),
    ("KASAN", r"^KASAN: (?:slab-)?use-after-free Write", "KASAN-USE-AFTER-FREE-WRITE"),
    ("KASAN", r"^KASAN: (?:slab-)?use-after-free", "KASAN-USE-AFTER-FREE-READ"),
    ("KASAN", r"^KASAN: null-ptr-deref Read", "KASAN-NULL-POINTER-DEREFERENCE-READ"),
    ("KASAN", r"^KASAN: null-ptr-deref Write", "KASAN-NULL-POINTER-DEREFERENCE-WRITE"),
    ("KASAN", r"^KASAN: (?:double-free|invalid-free)", "KASAN-INVALID-FREE"),
    ("KASAN", r"^KASAN: \S+ Write", "KASAN-WRITE"),
    ("KASAN", None, "KASAN-READ"),
    ("KFENCE", r"^KFENCE: use-after-free read", "KFENCE-USE-AFTER-FREE-READ"),
    ("KFENCE", r"^KFENCE: use-after-free write", "KFENCE-USE-AFTER-FREE-WRITE"),
    ("KFENCE", r"^KFENCE: out-of-bounds read", "KFENCE-READ"),
    ("KFENCE", r"^KFENCE: out-of-bounds write", "KFENCE-WRITE"),
    ("KFENCE", r"^KFENCE: invalid free", "KFENCE-INVALID-FREE"),
    ("KFENCE", r"^KFENCE: memory corruption", "KFENCE-MEMORY-CORRUPTION"),
    ("KFENCE", None, "KFENCE-READ"),
    ("KMSAN", r"^KMSAN: uninit-value", "KMSAN-UNINIT-VALUE"),
    ("KMSAN", r"infoleak", "KMSAN-INFO-LEAK"),
    ("KMSAN", r"use-after-free", "KMSAN-USE-AFTER-FREE"),
    ("KMSAN", None, "KMSAN-UNINIT-VALUE"),
    ("KCSAN", r"^KCSAN: data-race", "KCSAN-DATARACE"),
    ("KCSAN", r"^KCSAN: assert", "KCSAN-ASSERT"),
    ("KCSAN", None, "KCSAN-DATARACE"),
    ("UBSAN", None, "UBSAN"),
    ("memory leak", None, "LEAK"),
    ("BUG", r"^memory leak", "LEAK"),
    ("BUG", r"^BUG: (?:sleeping function called|scheduling while atomic)", "ATOMIC_SLEEP"),
    ("BUG", r"^BUG: unable to handle kernel NULL pointer", "NULL-POINTER-DEREFERENCE"),
    ("BUG", r"^BUG: unable to handle", "MEMORY_SAFETY_BUG"),
    ("Oops", r"^BUG: unable to handle kernel NULL pointer", "NULL-POINTER-DEREFERENCE"),
    ("Oops", r"^BUG: unable to handle", "MEMORY_SAFETY_BUG"),
    ("BUG", r"^BUG: (?:using \S+ in preemptible|spinlock|rwlock|bad unlock balance"
     r"|held lock freed)", "LOCKDEP"),
    ("kernel BUG", r"^BUG: corrupted list", "MEMORY_SAFETY_BUG"),
    ("WARNING", r"^BUG: corrupted list", "MEMORY_SAFETY_BUG"),
    ("WARNING", r"^WARNING: refcount bug", "REFCOUNT_WARNING"),
    ("WARNING", r"^WARNING: locking bug", "LOCKDEP"),
    ("soft lockup", None, "HANG"),
    ("hard lockup", None, "HANG"),
    ("RCU stall", None, "HANG"),
    ("hung task", None, "HANG"),
    ("lockdep", None, "LOCKDEP"),
    ("atomic sleep", None, "ATOMIC_SLEEP"),
    ("refcount", None, "REFCOUNT_WARNING"),
    ("memory safety", None, "MEMORY_SAFETY_BUG"),
    ("NULL pointer", None, "NULL-POINTER-DEREFERENCE"),
    ("kernel BUG", None, "BUG"),
    ("WARNING", None, "WARNING"),
    ("reboot", None, "REBOOT"),
    ("SYZFAIL", None, "SYZ_FAILURE"),
    # faults and panics are denial of service to syzkaller
    ("general protection fault", None, "DoS"),
    ("invalid opcode", None, "DoS"),
    ("divide error", None, "DoS"),
    ("stack segment", None, "DoS"),
    ("double fault", None, "DoS"),
    ("Oops", None, "DoS"),
    ("panic", None, "DoS"),
    ("BUG", None, "DoS"),
    ("DoS", None, "DoS"),
)


def corpus_type(kind: str, title: str) -> str:
    """The corpus TYPE of one of our reports (``KIND_MAP``); "" if unmapped."""
    for k, rx, t in KIND_MAP:
        if k == kind and (rx is None or re.search(rx, title)):
            return t
    return ""


@dataclass
class Case:
    name: str
    titles: tuple[str, ...]  # TITLE then the ALTs; () for a clean log
    type: str
    frames: tuple[str, ...]  # the acceptable guilty frames; (): not counted
    log: bytes


def load(path: Path) -> Case:
    data = path.read_bytes()
    if data.startswith(b"\n"):
        return Case(path.name, (), "", (), data[1:])
    head, _, log = data.partition(b"\n\n")
    fields: dict[str, list[str]] = defaultdict(list)
    for line in head.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()].append(value.strip())
    titles = tuple(fields["TITLE"] + fields["ALT"])
    if fields["FRAME"]:
        frames = tuple(fields["FRAME"])
    else:
        frames = tuple(dict.fromkeys(t.rsplit(" in ", 1)[1].split()[0]
                                     for t in titles if " in " in t))
    frames = tuple(f for f in frames if f != "corrupted")
    return Case(path.name, titles, (fields["TYPE"] or [""])[0], frames, log)


@dataclass
class Tally:
    n: int = 0
    ok: int = 0

    def add(self, ok: bool) -> None:
        self.n += 1
        self.ok += ok

    @property
    def pct(self) -> float:
        return 100.0 * self.ok / self.n if self.n else 100.0


@dataclass
class Figures:
    total: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in GOALS})
    per_type: dict[str, dict[str, Tally]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def add(self, case: Case, figure: str, ok: bool, detail: str = "") -> None:
        self.total[figure].add(ok)
        t = self.per_type.setdefault(case.type or "(none)", {k: Tally() for k in GOALS})
        t[figure].add(ok)
        if not ok:
            self.misses.append(f"{case.name}: {figure}: {detail}")

    def summary(self) -> str:
        out = ["oops corpus figures (tests/data/oops-corpus), per TYPE: ok/counted"]
        out.append("  " + "  ".join(f"{k} {t.pct:.1f}% ({t.ok}/{t.n}, >= {GOALS[k]:g})"
                                     for k, t in self.total.items()))
        out.append(f"  {'TYPE':<40} " + " ".join(f"{k:>10}" for k in GOALS))
        for ty in sorted(self.per_type):
            row = self.per_type[ty]
            out.append(f"  {ty:<40} " + " ".join(
                f"{f'{t.ok}/{t.n}':>10}" if t.n else f"{'-':>10}" for t in row.values()))
        return "\n".join(out)


def measure(cases: list[Case]) -> Figures:
    fig = Figures()
    for c in cases:
        reports: list[Report] = scan_bytes(c.log)
        if not c.titles:
            fig.add(c, "clean", not reports, f"reported {[r.title for r in reports]}")
            continue
        fig.add(c, "recall", bool(reports), "no report")
        r = reports[0] if reports else None
        got_type = corpus_type(r.kind, r.title) if r else ""
        if c.type:
            fig.add(c, "kind", got_type == c.type,
                    f"{got_type or None} ({r.kind if r else None}) != {c.type}")
        if c.frames:
            got = r.guilty_frame if r else None
            fig.add(c, "frame", got in c.frames, f"{got} not in {c.frames}")
        fig.add(c, "title", r is not None and r.title in c.titles,
                f"{r.title if r else None!r} not in {c.titles}")
    return fig


def corpus() -> list[Case]:
    return [load(p) for p in sorted(CORPUS.iterdir(), key=lambda p: p.name)]


def test_corpus_is_there() -> None:
    cases = corpus()
    assert len(cases) == 362
    assert sum(1 for c in cases if not c.titles) >= 10


def test_golden_figures(terminal_summary: Callable[[str], None]) -> None:
    fig = measure(corpus())
    summary = fig.summary()
    terminal_summary(summary)
    below = {k: t.pct for k, t in fig.total.items() if t.pct < FLOOR[k]}
    assert not below, f"below the floor {FLOOR}: {below}\n{summary}"


# Every goal of issue 16 is met (recall 99.4, clean 100, kind 98.5, frame
# 95.3, title 89.8 at the last measure): the floor is the goals.
FLOOR = dict(GOALS)


if __name__ == "__main__":
    f = measure(corpus())
    if "-v" in sys.argv:
        print("\n".join(f.misses))
    print(f.summary())
