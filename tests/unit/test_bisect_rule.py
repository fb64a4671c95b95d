"""The bisection decision rule, the confidence, and simulated bisections:
the real Bisection loop and rule on a fake 64-commit history whose bad
commits crash at a given rate (seeded: deterministic)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.bisect.chooser import LinearChooser
from harness.bisect.driver import Bisection, guess_title
from harness.bisect.rule import (
    Counts,
    Kind,
    Rule,
    Verdict,
    confidence,
    decide,
    rate_estimate,
    runs_for_good,
)
from harness.bisect.sim import OTHER, TITLE, FakeRunner, simulate
from harness.bisect.state import BisectState, RunRecord, classify

RULE = Rule()


def test_bad_needs_two_target_crashes() -> None:
    assert decide(Counts(target=1, clean=3), 0.3, RULE) is None
    d = decide(Counts(target=2, clean=3), 0.3, RULE)
    assert d is not None and d.verdict is Verdict.BAD and not d.weak


def test_good_after_enough_clean_runs_for_the_rate() -> None:
    # (1 - 0.3) ** 13 = 0.0097 <= 0.01 < 0.7 ** 12
    assert runs_for_good(0.3, RULE) == 13
    assert decide(Counts(clean=12), 0.3, RULE) is None
    d = decide(Counts(clean=13), 0.3, RULE)
    assert d is not None and d.verdict is Verdict.GOOD and "needed 13" in d.reason
    assert runs_for_good(1.0, RULE) == 1
    assert runs_for_good(None, Rule(runs=7)) == 7  # bisect-step without a rate
    assert runs_for_good(0.0, RULE) > RULE.max_runs
    # other crashes and errors are not clean runs
    assert decide(Counts(clean=12, other=5), 0.3, RULE) is None


def test_run_limit_gives_weak_verdicts() -> None:
    rule = Rule(max_runs=10)
    d = decide(Counts(target=1, clean=9), 0.05, rule)
    assert d is not None and d.verdict is Verdict.BAD and d.weak
    d = decide(Counts(clean=10), 0.05, rule)
    assert d is not None and d.verdict is Verdict.GOOD and d.weak
    d = decide(Counts(other=10), 0.05, rule)
    assert d is not None and d.verdict is Verdict.SKIP


def test_boot_failures_skip_after_a_retry() -> None:
    assert decide(Counts(errors=1), 0.3, RULE) is None  # one retry
    d = decide(Counts(errors=2), 0.3, RULE)
    assert d is not None and d.verdict is Verdict.SKIP
    assert decide(Counts(clean=5, errors=2), 0.3, RULE) is None  # sporadic: go on
    d = decide(Counts(target=1, errors=3), 0.3, RULE)
    assert d is not None and d.verdict is Verdict.BAD and d.weak


def test_rate_and_confidence() -> None:
    assert rate_estimate(0, 0, RULE) is None
    lo = rate_estimate(3, 10, RULE)
    assert lo is not None and 0.15 < lo < 0.3  # conservative: below the measured 0.3
    assert confidence([], 0.3) == 1.0
    assert confidence([13], 0.3) == pytest.approx(1 - 0.7 ** 13)
    assert confidence([13, 20], 0.3) == pytest.approx((1 - 0.7 ** 13) * (1 - 0.7 ** 20))


def test_classify_against_the_target() -> None:
    crash = RunRecord(1, "ran", crashes=[TITLE])
    other = RunRecord(2, "ran", crashes=[OTHER])
    both = RunRecord(3, "ran", crashes=[OTHER, TITLE])
    clean = RunRecord(4, "ran", failed=["lam-selftest"])
    err = RunRecord(5, "error", error="boot failed")
    assert [classify(r, TITLE) for r in (crash, other, both, clean, err)] == [
        Kind.TARGET, Kind.OTHER, Kind.TARGET, Kind.CLEAN, Kind.ERROR]
    assert classify(other, None) is Kind.TARGET  # no title: any crash
    assert classify(clean, "failed: lam-selftest") is Kind.TARGET
    assert guess_title([other, crash, both]) == OTHER  # most runs; first seen on a tie
    assert guess_title([crash, both, other]) == TITLE
    assert guess_title([clean]) == "failed: lam-selftest"
    assert guess_title([err]) is None


def _bisect(rate: float, culprit: int, rule: Rule, seed: int = 3, **kw: object) -> BisectState:
    history = [f"{i:040x}" for i in range(17)]
    runner = FakeRunner(history, culprit, rate, random.Random(seed), **kw)  # type: ignore[arg-type]
    st = BisectState("t.yaml", "repo", history[-1], [history[0]])
    return Bisection(st, runner, LinearChooser(history), rule).run()


def test_deterministic_bug_is_found_in_log2_steps() -> None:
    st = _bisect(1.0, 11, Rule(runs=3))
    assert st.culprit is not None and st.culprit["commit"] == f"{11:040x}"
    assert st.title == TITLE and st.title_source == "bad end"
    steps = [s for s in st.steps if s.role == "step"]
    assert [(int(s.commit, 16), s.verdict) for s in steps] == [
        (8, "good"), (12, "bad"), (10, "good"), (11, "bad")]
    # bad: two crashes; good: (1 - p) ** runs <= 1% at the rate's lower bound,
    # 3/3 at the bad end gives 0.58 (6 runs); with the bad step's 2/2, counted
    # as 1/1 (its last crash stopped it), 4/4 gives 0.67 (5 runs)
    assert [len(s.runs) for s in steps] == [6, 2, 5, 2]
    assert st.confidence["value"] == 1.0
    assert st.totals["vm_runs"] == 3 + sum(len(s.runs) for s in steps)


def test_unrelated_crashes_never_count_as_bad() -> None:
    # every commit crashes with an unrelated WARNING in 30% of runs
    st = _bisect(0.5, 6, Rule(runs=10), other_rate=0.3)
    assert st.culprit is not None and st.culprit["commit"] == f"{6:040x}"
    assert any(OTHER in r.crashes for s in st.steps for r in s.runs)
    assert st.title == TITLE


def test_broken_builds_are_skipped() -> None:
    st = _bisect(1.0, 11, Rule(runs=3), broken=frozenset({8}))
    assert st.culprit is not None and st.culprit["commit"] == f"{11:040x}"
    skipped = [s for s in st.steps if s.verdict == "skip"]
    assert [s.commit for s in skipped] == [f"{8:040x}"] and not skipped[0].runs
    assert skipped[0].reason.startswith("build failed")
    # the skipped commit right before the culprit: the answer is a range
    st = _bisect(1.0, 11, Rule(runs=3), broken=frozenset({10}))
    assert st.culprit is None and st.exit_code == 1
    assert [c["commit"] for c in st.candidates] == [f"{10:040x}", f"{11:040x}"]


@pytest.mark.parametrize(("rate", "max_runs", "min_found"), [
    (0.3, 40, 0.95),  # the acceptance figure
    (1.0, 40, 0.999),
    (0.1, 120, 0.95),
])
def test_simulated_bisections(rate: float, max_runs: int, min_found: float,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """1000 bisections of a 64-commit history, culprit uniformly placed."""
    r = simulate(1000, rate, Rule(runs=10, max_runs=max_runs), seed=20261125)
    with capsys.disabled():
        print(f"\nsimulated rate {rate}: found {r['found']:.3f}, mean runs per step "
              f"{r['mean_runs_per_step']:.1f}, per bisection {r['mean_runs_per_bisection']:.0f}"
              f" (bad end {r['mean_bad_end_runs']:.1f}), mean confidence "
              f"{r['mean_confidence']:.3f}")
    assert r["found"] >= min_found
    assert r["mean_steps"] == 6.0  # log2(64): flakiness costs runs, not steps


def test_simulation_with_noise_still_finds_the_culprit() -> None:
    """An older unrelated crash in 10% of runs at every commit, and 5% of boots
    failing.  Given the title, the culprit is still found; guessed at the bad
    end, the older crash is sometimes the only one seen there (then the
    answer is wrong: --title or --check-good guard against it)."""
    noise = {"other_rate": 0.1, "error_rate": 0.05}
    given = simulate(300, 0.3, Rule(), seed=11, title=TITLE, **noise)  # type: ignore[arg-type]
    assert given["found"] >= 0.95
    guessed = simulate(300, 0.3, Rule(), seed=11, **noise)  # type: ignore[arg-type]
    assert guessed["found"] >= 0.9


def test_crash_titles_drop_the_follow_up_panic_in_either_spelling() -> None:
    from harness.bisect.runner import crash_titles

    bug = "kernel BUG in demo_bug_fire"
    for panic in ("kernel panic: Fatal exception",  # the title convention
                  "Kernel panic - not syncing: Fatal exception"):  # runs recorded before it
        assert crash_titles([("kernel BUG", bug), ("panic", panic)]) == [bug]
        # boot oopses of older run.json files carry no kind: the title tells
        assert crash_titles([("", bug), ("", panic)]) == [bug]
        assert crash_titles([("", panic)]) == [panic]  # a panic alone is the bug
    old_bug = "kernel BUG at arch/x86/kernel/demo_bug.c:49!"
    assert crash_titles([("", old_bug), ("", "Kernel panic - not syncing: Fatal exception")]) == [
        "kernel BUG at arch/x86/kernel/demo_bug.c:NUM!"]
    assert crash_titles([("WARNING", "WARNING in f"), ("", "kernel panic: panic_on_warn set ...")]
                        ) == ["WARNING in f"]


def test_run_record_from_a_job() -> None:
    from harness.bisect.runner import config_at, run_record
    from harness.config import loads
    from harness.model import OopsRef, TestResult
    from harness.model import Verdict as V
    from harness.parse.oops import normalize_title
    from harness.results.schema import JobRecord

    raw = "kernel BUG in demo_bug_fire"
    crash = TestResult("demo", "demo", 1, V.CRASH, reason=raw,
                       oopses=[OopsRef(raw, "kernel BUG", "demo/oops-1.txt", 5, 30)])
    job = JobRecord("j", results=[TestResult("lam", "lam", 1, V.FAIL), crash,
                                  TestResult("after", "after", 1, V.NOTRUN)])
    r = run_record(job, 3)
    assert (r.index, r.status, r.failed) == (3, "ran", ["lam"])
    assert r.crashes == [normalize_title(raw)]
    lost = run_record(JobRecord("j", error="boot failed: no readiness marker in 120s"))
    assert lost.status == "error" and lost.error.startswith("boot failed")
    boot = run_record(JobRecord("j", error="guest lost", boot_oopses=[{"title": raw}]))
    assert boot.status == "ran" and boot.crashes == [normalize_title(raw)]
    ssh = run_record(JobRecord("j", results=[TestResult("t", "t", 1, V.ERROR, reason="SSH")]))
    assert ssh.status == "error" and "SSH" in ssh.error
    # the panic that follows an oops is its consequence, not a second bug
    panic = "kernel panic: Fatal exception"
    crash.oopses.append(OopsRef(panic, "panic", "demo/oops-2.txt", 31, 33))
    assert run_record(JobRecord("j", results=[crash])).crashes == [normalize_title(raw)]
    alone = TestResult("p", "p", 1, V.CRASH, reason=panic,
                       oopses=[OopsRef(panic, "panic", "p/oops-1.txt", 1, 3)])
    assert run_record(JobRecord("j", results=[alone])).crashes == [normalize_title(panic)]

    cfg = loads("name: c\nkernel:\n  source: {debian: linux-source-6.12}\n"
                "  patches: [a.patch]\n", "c.yaml")
    at = config_at(cfg, Path("/src/linux"), "abc123", ["b.patch"])
    assert at.kernel.source is not None and (at.kernel.source.git, at.kernel.source.ref) == (
        "/src/linux", "abc123")
    assert at.kernel.patches == ["a.patch", "b.patch"] and cfg.kernel.patches == ["a.patch"]
