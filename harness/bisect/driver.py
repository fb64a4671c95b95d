"""The bisection loop: test the bad end (target title, repro rate), then let
the chooser (git) pick commits, decide each with the rule, feed the verdict
back, and report.  Everything it learns goes into the state at once, so a
second invocation on the same state resumes without redoing what is done."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK, EXIT_TEST_FAILED, InfraError, UserError
from ..pipeline import Interrupted
from .chooser import Chooser, Position
from .rule import FAILED_PREFIX, Counts, Rule, Verdict, confidence, decide, rate_estimate
from .runner import StepRunner
from .state import BisectState, RunRecord, StepRecord, classify

EXIT_NO_CULPRIT = EXIT_TEST_FAILED  # only skipped commits left: the answer is a range


class Bisection:
    def __init__(self, state: BisectState, runner: StepRunner, chooser: Chooser, rule: Rule,
                 root: Path | None = None, *, replay: Path | None = None,
                 check_good: bool = False, say: Callable[[str], None] = lambda s: None,
                 log: Callable[[], str] | None = None) -> None:
        self.st = state
        self.runner = runner
        self.chooser = chooser
        self.rule = rule
        self.root = root
        self.replay = replay
        self.check_good = check_good
        self.say = say
        self.git_log = log
        self.tester = StepTester(runner, rule, root, lambda: state.session, self.save, say)

    # -- persistence -------------------------------------------------------
    def save(self) -> None:
        if self.root is not None:
            self.st.save(self.root / "bisect.json")

    def save_log(self) -> None:
        if self.root is not None and self.git_log is not None:
            (self.root / "bisect.log").write_text(self.git_log())

    # -- the loop ----------------------------------------------------------
    def run(self) -> BisectState:
        st = self.st
        st.status, st.error = "running", None
        st.rule = self.rule.to_json()
        st.sessions.append({"started": datetime.now(UTC).isoformat(timespec="seconds")})
        self.save()
        try:
            pos = self._start()
            self._bad_end()
            if self.check_good or self._ambiguous():
                self._good_ends(auto=self._ambiguous())
            for s in st.steps:
                if s.role == "step" and s.verdict:
                    pos = self.chooser.mark(s.commit, Verdict(s.verdict))
            self.save_log()
            last = None
            while pos.next is not None:
                if pos.next == last:
                    raise InfraError(f"git bisect proposed {pos.next[:12]} again after its "
                                     "verdict")
                last = pos.next
                step = self._step_for(pos.next)
                self._evaluate(step)
                assert step.verdict is not None
                pos = self.chooser.mark(step.commit, Verdict(step.verdict))
                self.save_log()
                if pos.message:
                    self.say(pos.message)
            self._finish(pos)
        except BaseException as e:
            if isinstance(e, (KeyboardInterrupt, SystemExit, Interrupted)):
                st.status = "interrupted"
            else:
                st.status, st.error = "failed", str(e)
            self.save()
            raise
        self.save()
        return st

    def _start(self) -> Position:
        st = self.st
        if self.replay is None:
            return self.chooser.start(st.bad, st.good)
        replay = getattr(self.chooser, "replay", None)
        terms = getattr(self.chooser, "terms", None)
        if replay is None or terms is None:
            raise UserError("--replay needs git bisect")
        pos: Position = replay(self.replay)
        bad, goods = terms()
        if not bad or not goods:
            raise UserError(f"--replay {self.replay}: the log names no bad and good commit")
        st.bad, st.good = st.bad or bad, st.good or goods
        if not any(s.role == "log" for s in st.steps):
            from .git import log_marks

            for verdict, sha in log_marks(self.replay.read_text()):
                st.steps.append(StepRecord(sha, self.chooser.subject(sha), "log",
                                           verdict=verdict.value, reason="from --replay log"))
        return pos

    def _step_for(self, commit: str, role: str = "step") -> StepRecord:
        for s in self.st.steps:
            if s.commit == commit and s.role == role:
                return s
        s = StepRecord(commit, self.chooser.subject(commit), role,
                       dir=f"steps/{len(self.st.steps) + 1:02d}-{commit[:12]}")
        self.st.steps.append(s)
        self.save()
        return s

    def rate(self) -> tuple[int, int]:
        """Target crashes and runs, pooled over the bad end and bad steps.  A
        step stopped by its last crash (inverse sampling) counts without that
        run: ``(k - 1) / (n - 1)`` is the unbiased rate there, ``k / n`` is
        biased upwards, and an optimistic rate makes good verdicts too cheap."""
        k = n = 0
        for s in self.st.steps:
            if s.verdict == Verdict.BAD and s.role != "log" and s.runs:
                c = s.counts(self.st.title)
                stopped_by_crash = s.role == "step" and not s.weak and c.target > 1
                k += c.target - stopped_by_crash
                n += c.runs - stopped_by_crash
        return k, n

    def _evaluate(self, step: StepRecord) -> None:
        if not step.verdict:
            # the rate changes only when a step turns bad, never during one
            self.tester.evaluate(step, self.st.title, rate_estimate(*self.rate(), self.rule))

    def _bad_end(self) -> None:
        st, rule = self.st, self.rule
        step = self._step_for(st.bad, "bad end")
        if step.verdict:
            return
        self.tester.build(step)
        assert step.build is not None
        if not step.build.ok:
            err = UserError if step.build.blame == "user" else InfraError
            raise err(f"the bad revision {st.bad[:12]} does not build: {step.build.error}")
        while True:
            title = st.title or guess_title(step.runs)
            c = step.counts(title)
            # the bad end must work: twice the retries of a step before giving up
            if c.errors >= 2 * rule.max_errors and c.errors > c.attempts:
                last = next((r.error for r in reversed(step.runs) if r.error), "")
                raise InfraError(f"the bad revision {st.bad[:12]} does not boot or run: {last}")
            # --runs runs, and the target seen as often as a bad step needs
            if (title is not None and c.target >= rule.bad_crashes and c.attempts >= rule.runs
                    ) or c.attempts >= rule.max_runs:
                break
            self.tester.run(step, st.title)
        step_titles: Counter[str] = Counter()
        for r in step.runs:
            step_titles.update(set(r.crashes) | {f"failed: {t}" for t in r.failed})
        st.bad_end_titles = dict(step_titles.most_common())
        if st.title is None:
            st.title = guess_title(step.runs)
            st.title_source = "bad end"
        if st.title is None:
            raise UserError(f"the bad revision {st.bad[:12]} showed no crash and no failure in "
                            f"{len(step.runs)} runs: nothing to bisect (more --max-runs?)")
        for r in step.runs:
            r.kind = classify(r, st.title).value
        c = step.counts(st.title)
        if c.target == 0:
            raise UserError(f"the bad revision {st.bad[:12]} never showed {st.title!r} in "
                            f"{len(step.runs)} runs (seen: "
                            f"{', '.join(st.bad_end_titles) or 'nothing'})")
        step.verdict = Verdict.BAD.value
        step.reason = f"{c.target} target crashes in {c.runs} runs (the repro rate)"
        self.save()
        self.say(f"target: {st.title!r} ({st.title_source}); bad end: {step.reason}")

    def _ambiguous(self) -> bool:
        """No --title, and the bad end showed more than one crash title."""
        crashes = [t for t in self.st.bad_end_titles if not t.startswith(FAILED_PREFIX)]
        return self.st.title_source != "--title" and len(crashes) > 1

    def _good_ends(self, auto: bool) -> None:
        """Test the good end(s).  ``auto``: the target was guessed among several
        titles; one that shows at a good end too is an older bug, so the next
        title of the bad end that does not show there becomes the target."""
        st = self.st
        while True:
            steps = []
            for g in st.good:
                steps.append(self._step_for(g, "good end"))
                self._evaluate(steps[-1])
                if steps[-1].verdict == Verdict.BAD:
                    break
            bad = next((s for s in steps if s.verdict == Verdict.BAD), None)
            if bad is None:
                return
            seen = {t for s in steps for r in s.runs for t in r.crashes}
            nxt = next((t for t in st.bad_end_titles if t not in seen and t != st.title
                        and not t.startswith(FAILED_PREFIX)), None) if auto else None
            if nxt is None:
                raise UserError(f"the good revision {bad.commit[:12]} shows the target "
                                f"{st.title!r} too ({bad.reason}): it is not good"
                                + ("" if st.title_source == "--title" else
                                   "; give the crash to bisect with --title"))
            self.say(f"{st.title!r} shows at the good end {bad.commit[:12]} too (an older "
                     f"bug): the target is now {nxt!r}")
            st.title, st.title_source = nxt, "bad end, not at the good end"
            end = next(s for s in st.steps if s.role == "bad end")
            for r in end.runs:
                r.kind = classify(r, st.title).value
            c = end.counts(st.title)
            end.reason = f"{c.target} target crashes in {c.runs} runs (the repro rate)"
            for s in st.steps:
                if s.role == "good end":
                    s.verdict, s.reason, s.weak = None, "", False
                    for r in s.runs:
                        r.kind = classify(r, st.title).value
            self.save()

    def _finish(self, pos: Position) -> None:
        st = self.st
        if pos.culprit:
            st.culprit = {"commit": pos.culprit, "subject": self.chooser.subject(pos.culprit)}
            st.candidates = []
            st.exit_code = EXIT_OK
        else:
            st.culprit = None
            st.candidates = [{"commit": c, "subject": self.chooser.subject(c)}
                             for c in pos.candidates]
            st.exit_code = EXIT_NO_CULPRIT
        k, n = self.rate()
        point = k / n if n else 0.0
        lower = rate_estimate(k, n, self.rule) or 0.0
        st.rate = {"target_crashes": k, "runs": n, "rate": point, "lower_bound": lower,
                   "confidence_level": self.rule.rate_confidence}
        goods = [s.counts(st.title).runs for s in st.steps
                 if s.verdict == Verdict.GOOD and s.role in ("step", "good end")]
        st.confidence = {"value": confidence(goods, point), "at_lower_bound":
                         confidence(goods, lower), "good_steps": len(goods),
                         "weak_steps": sum(1 for s in st.steps if s.weak)}
        st.totals = totals(st)
        st.status = "done"


class StepTester:
    """Builds and runs one commit until the rule decides it (shared by the
    bisection and ``bisect-step``)."""

    def __init__(self, runner: StepRunner, rule: Rule, root: Path | None,
                 session: Callable[[], int], save: Callable[[], None],
                 say: Callable[[str], None]) -> None:
        self.runner = runner
        self.rule = rule
        self.root = root
        self.session = session
        self.save = save
        self.say = say

    def dir(self, step: StepRecord) -> Path | None:
        if self.root is None:
            return None
        d = self.root / step.dir
        d.mkdir(parents=True, exist_ok=True)
        return d

    def build(self, step: StepRecord) -> None:
        if step.build is None:
            self.say(f"{step.role} {step.commit[:12]} {step.subject}: building")
            step.build = self.runner.build(step.commit, self.dir(step))
            step.build.session = self.session()
            self.save()
            how = ("cache hit" if step.build.hit else "built" if step.build.ok
                   else "build FAILED")
            self.say(f"{step.commit[:12]}: {how} in {step.build.seconds:.1f}s")

    def run(self, step: StepRecord, title: str | None) -> RunRecord:
        index = len(step.runs) + 1
        r = self.runner.run(step.commit, self.dir(step), index)
        r.index, r.session = index, self.session()
        r.dir = f"{step.dir}/run-{index}" if step.dir else f"run-{index}"
        r.kind = classify(r, title).value if title or step.role != "bad end" else ""
        step.runs.append(r)
        self.save()
        what = ", ".join(r.crashes) or (f"failed: {', '.join(r.failed)}" if r.failed else
                                        r.error or "clean")
        self.say(f"{step.commit[:12]} run {index}: {r.kind or r.status}: {what}")
        return r

    def evaluate(self, step: StepRecord, title: str | None, rate: float | None) -> None:
        """Build, then run until decided; a failed build is a skip."""
        if step.verdict:
            return
        self.build(step)
        assert step.build is not None
        if not step.build.ok:
            err = step.build.error.strip()
            first = err.splitlines()[0] if err else ""
            step.verdict, step.reason = Verdict.SKIP.value, f"build failed: {first}"[:300]
            self.save()
            return
        counts = step.counts(title)
        while True:
            d = decide(counts, rate, self.rule)
            if d is not None:
                step.verdict, step.weak, step.reason = d.verdict.value, d.weak, d.reason
                self.save()
                self.say(f"{step.commit[:12]} {step.subject}: {d.verdict.value} "
                         f"({d.reason}{', weak' if d.weak else ''})")
                return
            counts.add(classify(self.run(step, title), title))


def guess_title(runs: list[RunRecord]) -> str | None:
    """The target when none is given: the crash title seen in most runs (the
    first seen on a tie); failing that, the test that failed most."""
    crashes: Counter[str] = Counter()
    fails: Counter[str] = Counter()
    for r in runs:
        crashes.update(set(r.crashes))
        fails.update(set(r.failed))
    order = {t: i for i, t in enumerate(t for r in runs for t in r.crashes)}
    if crashes:
        return max(crashes, key=lambda t: (crashes[t], -order[t]))
    if fails:
        return "failed: " + fails.most_common(1)[0][0]
    return None


def totals(st: BisectState) -> dict[str, Any]:
    builds = [s.build for s in st.steps if s.build is not None]
    tested = [s for s in st.steps if s.role != "log" and s.build is not None]
    runs = sum(len(s.runs) for s in st.steps)
    steps = [s for s in tested if s.role == "step" and s.runs]
    return {"builds": len(builds), "built": sum(1 for b in builds if b.ok and not b.hit),
            "cache_hits": sum(1 for b in builds if b.hit),
            "build_failures": sum(1 for b in builds if not b.ok),
            "build_seconds": round(sum(b.seconds for b in builds), 1),
            "vm_runs": runs, "tested_steps": len(tested),
            "mean_runs_per_step": round(sum(len(s.runs) for s in steps) / len(steps), 2)
            if steps else 0.0,
            "run_seconds": round(sum(r.seconds for s in st.steps for r in s.runs), 1)}


def _counts_text(s: StepRecord, title: str | None) -> tuple[str, str, str, str]:
    if not s.runs:
        return "-", "-", "-", "-"
    c: Counts = s.counts(title)
    return str(len(s.runs)), str(c.target), str(c.other), str(c.errors)


def report(st: BisectState, root: Path | None = None) -> str:
    """The human report: culprit, target, rate, confidence, the step table."""
    out: list[str] = []
    if st.culprit:
        out.append(f"first bad commit: {st.culprit['commit']} {st.culprit['subject']}")
    elif st.candidates:
        out.append("no single culprit: only skipped commits are left; the first bad commit is "
                   "one of:")
        out.extend(f"  {c['commit']} {c['subject']}" for c in st.candidates)
    else:
        out.append(f"bisection {st.status}" + (f": {st.error}" if st.error else ""))
    if st.title:
        how = {"--title": "given with --title", "bad end": "seen at the bad end"}.get(
            st.title_source, st.title_source)
        out.append(f"target: {st.title}  ({how})")
    if st.rate:
        r = st.rate
        out.append(f"repro rate: {r['target_crashes']}/{r['runs']} runs = {r['rate']:.2f} at "
                   f"the bad end and bad steps (lower bound {r['lower_bound']:.2f} at "
                   f"{r['confidence_level']:.0%})")
    if st.confidence:
        c = st.confidence
        weak = f"; {c['weak_steps']} weak step(s)" if c["weak_steps"] else ""
        out.append(f"confidence: {c['value']:.3f} (product over {c['good_steps']} good step(s) "
                   f"of 1-(1-p)^runs at the measured rate; {c['at_lower_bound']:.3f} at its "
                   f"lower bound{weak})")
    out.append("")
    out.append(f"{'#':>2}  {'commit':<12}  {'subject':<32}  {'role':<8}  {'build':<16}  "
               f"{'runs':>4}  {'target':>6}  {'other':>5}  {'errors':>6}  verdict")
    for i, s in enumerate(st.steps, 1):
        if s.build is None:
            b = "-"
        elif not s.build.ok:
            b = f"FAILED {s.build.seconds:.1f}s"
        else:
            b = f"{'cached' if s.build.hit else 'built'} {s.build.seconds:.1f}s"
        runs, target, other, errors = _counts_text(s, st.title)
        verdict = (s.verdict or "(open)") + (" (weak)" if s.weak else "")
        reason = f"  {s.reason}" if s.reason else ""
        subj = s.subject if len(s.subject) <= 32 else s.subject[:31] + "~"
        out.append(f"{i:>2}  {s.commit[:12]:<12}  {subj:<32}  {s.role:<8}  {b:<16}  "
                   f"{runs:>4}  {target:>6}  {other:>5}  {errors:>6}  {verdict}{reason}")
        others = sorted({t for r in s.runs for t in r.crashes if t != st.title})
        if others:
            out.append(f"{'':>4}other crashes: {'; '.join(others)}")
    if st.totals:
        t = st.totals
        out.append("")
        out.append(f"builds: {t['builds']} ({t['built']} built, {t['cache_hits']} cache hits, "
                   f"{t['build_failures']} failed; {t['build_seconds']}s); VM runs: "
                   f"{t['vm_runs']} ({t['run_seconds']}s); mean {t['mean_runs_per_step']} "
                   "runs per bisection step")
    if root is not None:
        out.append(f"results: {root}  (bisect.txt, bisect.json, bisect.log, steps/)")
    return "\n".join(out) + "\n"
