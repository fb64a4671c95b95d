"""Parse TAP 13/14 and KTAP v1 output of Linux kselftests into results.

Pure: no I/O, stdlib only.  ``parse(text)`` never raises; everything odd about
the output ends up in ``TapReport.problems`` as a human sentence.

What it understands:

* kselftest framing: ``TAP version 13`` / ``KTAP version 1``, the plan ``1..N``
  first *or last* (``lam_64`` prints it after its results), ``ok N name``,
  ``not ok N name``, directives ``# SKIP`` / ``# TODO`` / ``# XFAIL`` /
  ``# XPASS`` / ``# TIMEOUT`` / ``# ERROR``, ``# Totals: pass:.. fail:..``,
  ``# Planned tests != run tests (N != M)``, ``Bail out!``.
* nested results, attached to the parent result line that follows them:

  - KTAP/TAP 14 indentation (4 spaces per level, optional ``# Subtest: name``);
  - the ``run_kselftest.sh`` layout: ``# selftests: x86: lam_64``, then the
    test's own output prefixed with ``# `` (so its results read ``# ok 1 ..``),
    then ``ok 1 selftests: x86: lam_64``.  When that inner output is TAP its
    results become subtests; otherwise its lines are the result's diagnostics.

* results glued after unterminated output (``# Get segmentation fault(11).ok 2
  MALLOC: ...``): recovered when ``ok N`` / ``not ok N`` follows punctuation
  (never inside a word: ``token 5`` is not a result).
* duplicated results (``lam_64`` forks with a fully buffered stdout, so every
  child re-flushes the parent's pending lines): de-duplicated by number within
  a TAP stream, keeping the first copy, or the worst one if the copies disagree.
* truncated output (a kernel that died mid-test): no plan, fewer results than
  planned, a subtest block or ``# selftests:`` section without its result line.
  These set ``TapReport.incomplete`` and make the verdict ``fail``.

A ``TAP version`` line at the same level *after* results starts a new stream
(``run_kselftest.sh`` of older kernels prints one per collection, numbering
from 1 again): numbers are de-duplicated per stream and the plans add up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["pass", "fail", "skip", "xfail", "timeout", "error"]

#: Nesting deeper than this is not parsed as subtests (keeps recursion bounded).
MAX_DEPTH = 8

_SEVERITY: dict[str, int] = {
    "pass": 0, "skip": 1, "xfail": 2, "fail": 3, "timeout": 4, "error": 5,
}
_BAD: frozenset[str] = frozenset({"fail", "timeout", "error"})

_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_RESULT_RE = re.compile(r"(not ok|ok)(?:[ \t]+(\d+))?(?:[ \t]+(.*))?$")
# A result glued after output that lacked its newline: "ok N" right after
# punctuation ("fault(11).ok 2"), never after a letter/digit ("token 5").
_GLUED_RE = re.compile(r"(?<=[^\w\s])(?:not ok|ok)[ \t]+\d+(?=[ \t]|$)")
_PLAN_RE = re.compile(r"1\.\.(\d+)[ \t]*(?:#[ \t]*(.*))?$")
_VERSION_RE = re.compile(r"(K?TAP) version (\d+)$", re.IGNORECASE)
_BAIL_RE = re.compile(r"Bail out!(.*)$", re.IGNORECASE)
_PRAGMA_RE = re.compile(r"pragma [+-]")
_DIRECTIVE_RE = re.compile(
    r"(SKIP|TODO|XFAIL|XPASS|TIMEOUT|ERROR)\S*(?:\s+(.*))?$", re.IGNORECASE
)
_TOTALS_RE = re.compile(r"Totals:\s*(.*)$")
_TOTALS_ITEM_RE = re.compile(r"(\w+):\s*(\d+)")
_PLANNED_RE = re.compile(r"Planned tests != run tests \((\d+) != (\d+)\)")
_SELFTEST_HDR_RE = re.compile(r"selftests: \S")
_SUBTEST_RE = re.compile(r"Subtest:\s*(.*)$")


@dataclass
class TapResult:
    """One ``ok`` / ``not ok`` line, with what was printed for it."""

    number: int | None
    name: str
    status: Status
    reason: str = ""
    diagnostics: list[str] = field(default_factory=list)
    subtests: list[TapResult] = field(default_factory=list)
    #: its subtests' output is cut short (short plan, no result line...)
    incomplete: bool = False

    @property
    def outcome(self) -> Status:
        """The status once subtests are taken into account.

        A failing (or incomplete) subtest fails the parent even when the parent
        line says ``ok`` (``run_kselftest.sh`` judges by exit code and
        ``lam_64`` exits 0 after failures); a passing parent whose subtests all
        skipped is a skip.  ``xfail`` / ``fail`` / ``timeout`` / ``error``
        parents keep their own status.
        """
        if self.status in _BAD or self.status == "xfail":
            return self.status
        if self.incomplete:
            return "fail"
        subs = [s.outcome for s in self.subtests]
        if any(s in _BAD for s in subs):
            return "fail"
        if self.status == "pass" and subs and all(s == "skip" for s in subs):
            return "skip"
        return self.status

    @property
    def skip_reason(self) -> str:
        """The directive's text, or the last diagnostic line when it has none."""
        if self.reason:
            return self.reason
        for sub in self.subtests:
            if sub.outcome == "skip" and sub.skip_reason:
                return sub.skip_reason
        return self.diagnostics[-1] if self.diagnostics else ""


@dataclass
class TapReport:
    """A parsed TAP stream.  ``results`` are the top-level results in order."""

    results: list[TapResult] = field(default_factory=list)
    plan: int | None = None
    bail_out: str | None = None
    totals: dict[str, int] | None = None
    problems: list[str] = field(default_factory=list)
    #: comment of the plan line ("1..0 # SKIP no LAM" -> "SKIP no LAM")
    plan_comment: str = ""
    #: "TAP version 13", "KTAP version 1"... (first one seen)
    version: str | None = None
    #: diagnostic / non-TAP lines after the last result (all of them when none)
    diagnostics: list[str] = field(default_factory=list)
    #: results are missing: truncated output, short or missing plan, bail out
    incomplete: bool = False

    @property
    def verdict(self) -> Status:
        """``fail``: a failed/timed-out/errored result (at any depth), a bail
        out, or missing results; ``error``: no results and no skip plan;
        ``skip``: every result skipped, or ``1..0``; else ``pass``."""
        if self.incomplete or self.bail_out is not None:
            return "fail"
        outcomes = [r.outcome for r in self.results]
        if any(o in _BAD for o in outcomes):
            return "fail"
        if not outcomes:
            return "skip" if self.plan == 0 else "error"
        if all(o == "skip" for o in outcomes):
            return "skip"
        return "pass"

    @property
    def skip_reason(self) -> str:
        """Why it skipped: the ``1..0 # SKIP`` reason, the skipped results'
        reasons (``"; "``-joined), or with no results the last diagnostic line
        (``Unsupported LAM feature!``).  Empty when nothing was skipped."""
        if self.plan == 0 and not self.results:
            return _plan_skip_reason(self.plan_comment)
        if not self.results:
            return self.diagnostics[-1] if self.diagnostics else ""
        if all(r.outcome == "skip" for r in self.results):
            reasons: list[str] = []
            for r in self.results:
                why = r.skip_reason
                if why and why not in reasons:
                    reasons.append(why)
            return "; ".join(reasons)
        return ""

    def walk(self) -> Iterator[tuple[tuple[str, ...], TapResult]]:
        """Every result, depth first, parents after their subtests' paths:
        ``(("selftests: x86: lam_64", "MALLOC: ..."), result)``."""
        def rec(prefix: tuple[str, ...], results: list[TapResult]
                ) -> Iterator[tuple[tuple[str, ...], TapResult]]:
            for r in results:
                path = (*prefix, r.name or f"#{r.number}")
                yield path, r
                yield from rec(path, r.subtests)
        yield from rec((), self.results)


def parse(text: str | bytes) -> TapReport:
    """Parse kselftest TAP/KTAP output.  Never raises."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        lines = list(enumerate(_LINE_SPLIT.split(text), 1))
        return _parse_level(lines, 0).report
    except Exception as exc:  # pragma: no cover - safety net, must not happen
        return TapReport(problems=[f"internal parser error: {exc!r}"], incomplete=True)


# --------------------------------------------------------------------------
# Implementation


def _parse_result(line: str) -> TapResult | None:
    m = _RESULT_RE.match(line)
    if m is None:
        return None
    ok = m.group(1) == "ok"
    number = int(m.group(2)) if m.group(2) is not None else None
    name, comment = _split_description(m.group(3) or "")
    status: Status = "pass" if ok else "fail"
    reason = ""
    if comment is not None:
        d = _DIRECTIVE_RE.match(comment)
        if d is None:
            reason = comment  # "# exit=1": a plain comment, status unchanged
        else:
            reason = (d.group(2) or "").strip()
            kind = d.group(1).upper()
            if kind == "SKIP":
                status = "skip"
            elif kind == "XFAIL":
                status = "xfail"
            elif kind == "TIMEOUT":
                status = "timeout"
            elif kind == "ERROR":
                status = "error"
            elif kind == "TODO":
                status = "pass" if ok else "xfail"
        if not name and status == "skip":
            # kselftest's ksft_test_result_skip() prints "ok 4 # SKIP <name>"
            name = reason
    return TapResult(number=number, name=name, status=status, reason=reason)


def _split_description(desc: str) -> tuple[str, str | None]:
    """``"- name # SKIP why"`` -> ``("name", "SKIP why")``; ``\\#`` is a literal #."""
    start = 0
    cut = -1
    while True:
        j = desc.find("#", start)
        if j < 0:
            break
        if j > 0 and desc[j - 1] == "\\":
            start = j + 1
            continue
        cut = j
        break
    name, comment = (desc, None) if cut < 0 else (desc[:cut], desc[cut + 1:].strip())
    name = name.replace("\\#", "#").strip()
    if name == "-":
        name = ""
    elif name.startswith("- "):
        name = name[2:].lstrip()
    return name, comment


@dataclass
class _Stream:
    """Results between two ``TAP version`` lines: one numbering, one plan."""

    plan: int | None = None
    index: dict[int, int] = field(default_factory=dict)  # number -> results index
    count: int = 0


class _Level:
    """Parses the lines of one nesting level; children recurse."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.report = TapReport()
        self.is_tap = False
        self.subtest_name = ""
        self.pending: list[str] = []
        self.child: list[tuple[int, str]] = []
        self.prefixed = False  # inside a "# selftests: ..." section
        self.header = ""
        self.streams: list[_Stream] = [_Stream()]
        self.copies: dict[tuple[int, int], int] = {}

    # -- lines ----------------------------------------------------------

    def feed(self, n: int, raw: str) -> None:
        text = raw.rstrip()
        if not text:
            return
        nested = self.depth < MAX_DEPTH
        if self.prefixed and text.startswith("#"):
            inner = text[2:] if text.startswith("# ") else text[1:]
            self._prefixed_line(n, inner)
            return
        if nested and not self.prefixed and text.startswith("    "):
            self.child.append((n, text[4:]))
            return
        line = text.strip()
        if _RESULT_RE.match(line):
            self._result(n, line)
            return
        m = _BAIL_RE.match(line)
        if m:
            self.is_tap = True
            reason = m.group(1).strip()
            if self.report.bail_out is None:
                self.report.bail_out = reason
            self.report.problems.append(f"Bail out! {reason}".rstrip())
            self.report.incomplete = True
            return
        if self.prefixed:  # stray unprefixed output of the running test
            self.child.append((n, line))
            return
        m = _PLAN_RE.match(line)
        if m:
            self._plan(int(m.group(1)), (m.group(2) or "").strip())
            return
        m = _VERSION_RE.match(line)
        if m:
            self.is_tap = True
            if self.report.version is None:
                self.report.version = line
            if self.streams[-1].count:
                self.streams.append(_Stream())
            return
        if _PRAGMA_RE.match(line):
            return
        if line.startswith("#"):
            body = line[1:]
            self._diagnostic(n, body[1:] if body.startswith(" ") else body)
            return
        if not self._glued(n, line):
            self.pending.append(line)

    def _prefixed_line(self, n: int, inner: str) -> None:
        """A line of a ``# selftests:`` section; its runner result line may be
        glued at its end when the test's last output had no newline."""
        m = _GLUED_RE.search(inner)
        if m is not None and self.header:
            res = _parse_result(inner[m.start():])
            if res is not None and res.name == self.header:
                before = inner[:m.start()]
                if before.strip():
                    self.child.append((n, before))
                self._note_glued(n, before, inner[m.start():])
                self._result(n, inner[m.start():])
                return
        self.child.append((n, inner))

    def _diagnostic(self, n: int, body: str) -> None:
        nested = self.depth < MAX_DEPTH
        stripped = body.strip()
        if nested and _SELFTEST_HDR_RE.match(stripped):
            self.prefixed = True
            self.header = stripped
            self.pending.append(stripped)
            return
        if nested and _VERSION_RE.match(stripped):
            self.prefixed = True
            self.child.append((n, body))
            return
        if self._glued(n, body):
            return
        m = _TOTALS_RE.match(stripped)
        if m:
            items = {k.lower(): int(v) for k, v in _TOTALS_ITEM_RE.findall(m.group(1))}
            if items and self.report.totals is None:
                self.report.totals = items
            if items:
                return
        m = _PLANNED_RE.match(stripped)
        if m:
            planned, ran = int(m.group(1)), int(m.group(2))
            self.report.problems.append(f"kselftest: planned tests != run tests "
                                        f"({planned} != {ran})")
            if planned > ran:
                self.report.incomplete = True
            return
        m = _SUBTEST_RE.match(stripped)
        if m:
            self.subtest_name = self.subtest_name or m.group(1).strip()
            return
        self.pending.append(body)

    def _glued(self, n: int, line: str) -> bool:
        m = _GLUED_RE.search(line)
        if m is None:
            return False
        before, rest = line[:m.start()], line[m.start():]
        if before.strip():
            self.pending.append(before.strip())
        self._note_glued(n, before, rest)
        self._result(n, rest)
        return True

    def _note_glued(self, n: int, before: str, rest: str) -> None:
        rest_head = " ".join(rest.split()[:3])
        self.report.problems.append(
            f"glued line recovered (line {n}): {rest_head!r} came right after "
            f"{_clip(before.strip())!r} (printed without a newline)")

    def _plan(self, count: int, comment: str) -> None:
        self.is_tap = True
        stream = self.streams[-1]
        if stream.plan is None:
            stream.plan = count
            if not self.report.plan_comment:
                self.report.plan_comment = comment
        elif count != stream.plan:
            self.report.problems.append(
                f"several plan lines (1..{stream.plan}, 1..{count}): kept 1..{stream.plan}")

    # -- results --------------------------------------------------------

    def _result(self, n: int, line: str) -> None:
        res = _parse_result(line)
        if res is None:  # pragma: no cover - callers matched _RESULT_RE
            return
        self.is_tap = True
        diags = self.pending
        self.pending = []
        if self.child or self.prefixed:
            sub = _parse_level(self.child, self.depth + 1)
            self.child = []
            diags.extend(sub.report.diagnostics)
            if sub.is_tap:
                self._adopt(res, sub)
        self.prefixed = False
        self.header = ""
        res.diagnostics = diags
        self._add(res)

    def _adopt(self, res: TapResult, sub: _Level) -> None:
        res.subtests = sub.report.results
        res.incomplete = res.incomplete or sub.report.incomplete
        label = res.name or (f"#{res.number}" if res.number is not None else "subtests")
        self.report.problems.extend(f"{label}: {p}" for p in sub.report.problems)
        if not res.reason and sub.report.plan == 0 and not sub.report.results:
            res.reason = _plan_skip_reason(sub.report.plan_comment)

    def _add(self, res: TapResult) -> None:
        stream = self.streams[-1]
        if res.number is not None:
            idx = stream.index.get(res.number)
            if idx is not None:
                key = (len(self.streams) - 1, res.number)
                self.copies[key] = self.copies.get(key, 1) + 1
                old = self.report.results[idx]
                if (old.status, old.name, old.reason) != (res.status, res.name, res.reason):
                    keep = res if _SEVERITY[res.status] > _SEVERITY[old.status] else old
                    self.report.problems.append(
                        f"duplicate results #{res.number} disagree "
                        f"({_describe(old)!r} vs {_describe(res)!r}): kept {keep.status}")
                    if keep is res:
                        self.report.results[idx] = res
                        return
                # a dropped copy's diagnostics belong to what comes next
                self.pending = res.diagnostics + self.pending
                return
            stream.index[res.number] = len(self.report.results)
        stream.count += 1
        self.report.results.append(res)

    # -- end of input ---------------------------------------------------

    def finish(self) -> None:
        rep = self.report
        if self.child or self.prefixed:
            sub = _parse_level(self.child, self.depth + 1)
            self.child = []
            if self.header or sub.is_tap:
                name = self.header or sub.subtest_name or "subtests"
                orphan = TapResult(
                    number=None, name=name, status="error",
                    reason="no result line: output truncated?",
                    diagnostics=self.pending + sub.report.diagnostics, incomplete=True)
                self.pending = []
                self.is_tap = True
                self._adopt(orphan, sub)
                rep.problems.append(f"{name}: no result line after its output: "
                                    "output truncated?")
                rep.incomplete = True
                self._check_streams()
                rep.results.append(orphan)
                self._dup_summary()
                return
            self.pending.extend(sub.report.diagnostics)
        rep.diagnostics = self.pending
        self._check_streams()
        self._dup_summary()

    def _check_streams(self) -> None:
        rep = self.report
        plans = [s.plan for s in self.streams if s.plan is not None]
        rep.plan = sum(plans) if plans else None
        for s in self.streams:
            if s.plan is None:
                if s.count:
                    rep.problems.append(
                        f"no plan line (1..N) after {s.count} results: output truncated?")
                    rep.incomplete = True
                continue
            if s.count < s.plan:
                seen = set(s.index)
                missing = ""
                if s.plan <= 100_000:
                    gaps = [str(i) for i in range(1, s.plan + 1) if i not in seen]
                    if 0 < len(gaps) <= 10:
                        missing = f" (missing {', '.join(gaps)})"
                    elif gaps:
                        missing = f" (missing {', '.join(gaps[:10])}...)"
                rep.problems.append(f"plan says {s.plan} but {s.count} results"
                                    f"{missing}: output truncated?")
                rep.incomplete = True
            elif s.count > s.plan:
                rep.problems.append(f"plan says {s.plan} but {s.count} results")
        totals = rep.totals
        if totals:
            failed = totals.get("fail", 0) + totals.get("error", 0)
            if failed and not any(r.status in _BAD for r in rep.results):
                rep.problems.append(f"totals report {failed} failures/errors but no "
                                    "failing result was parsed")
                rep.incomplete = True

    def _dup_summary(self) -> None:
        if not self.copies:
            return
        items = [f"#{num} x{k}" for (_, num), k in self.copies.items()]
        more = "..." if len(items) > 10 else ""
        self.report.problems.append(
            "duplicate results de-duplicated (forked children re-flushing a buffered "
            f"stdout?): {', '.join(items[:10])}{more}")


def _parse_level(lines: list[tuple[int, str]], depth: int) -> _Level:
    level = _Level(depth)
    for n, raw in lines:
        level.feed(n, raw)
    level.finish()
    return level


def _describe(res: TapResult) -> str:
    return f"{res.status} {res.name}".rstrip()


def _plan_skip_reason(comment: str) -> str:
    """``"SKIP no LAM"`` -> ``"no LAM"``; other plan comments are kept whole."""
    m = _DIRECTIVE_RE.match(comment)
    if m and m.group(1).upper() == "SKIP":
        return (m.group(2) or "").strip()
    return comment


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."
