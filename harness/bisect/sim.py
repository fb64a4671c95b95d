"""Simulated bisections: the real :class:`~.driver.Bisection` and rule over a
fake history (``LinearChooser``) and a fake runner whose bad commits crash
with the target title at a given rate.  Used by the unit tests (the rule's
figures are asserted there) and by ``bench/bisect_sim.py``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import HarnessError
from .chooser import LinearChooser
from .driver import Bisection
from .rule import Rule
from .state import BisectState, BuildRecord, RunRecord

TITLE = "kernel BUG in demo_bug_fire"
OTHER = "WARNING in unrelated_function"


class FakeRunner:
    """Commits at index >= ``culprit`` are bad: each run crashes with the
    target title with probability ``rate``.  Any run may also die of an
    unrelated crash (``other_rate``) or fail to boot (``error_rate``); the
    commits in ``broken`` do not build."""

    def __init__(self, commits: list[str], culprit: int, rate: float, rng: random.Random,
                 other_rate: float = 0.0, error_rate: float = 0.0,
                 broken: frozenset[int] = frozenset()) -> None:
        self.index = {c: i for i, c in enumerate(commits)}
        self.culprit = culprit
        self.rate = rate
        self.rng = rng
        self.other_rate = other_rate
        self.error_rate = error_rate
        self.broken = broken
        self.builds = 0
        self.runs = 0

    def build(self, commit: str, step_dir: Path | None) -> BuildRecord:
        self.builds += 1
        if self.index[commit] in self.broken:
            return BuildRecord(False, 1.0, error="error: deliberately broken", blame="user")
        return BuildRecord(True, 1.0)

    def run(self, commit: str, step_dir: Path | None, index: int) -> RunRecord:
        self.runs += 1
        if self.error_rate and self.rng.random() < self.error_rate:
            return RunRecord(index, "error", error="boot failed: simulated")
        if self.other_rate and self.rng.random() < self.other_rate:
            return RunRecord(index, "ran", crashes=[OTHER])
        if self.index[commit] >= self.culprit and self.rng.random() < self.rate:
            return RunRecord(index, "ran", crashes=[TITLE])
        return RunRecord(index, "ran")


@dataclass
class SimOutcome:
    found: bool
    steps: int  # bisection steps tested (the bad end not included)
    step_runs: int  # runs in those steps
    bad_end_runs: int
    confidence: float


def simulate_one(rng: random.Random, rate: float, rule: Rule, commits: int = 64,
                 other_rate: float = 0.0, error_rate: float = 0.0, title: str | None = None,
                 check_good: bool = False) -> SimOutcome:
    history = [f"{i:040x}" for i in range(commits + 1)]  # [0] good ... [commits] bad
    culprit = rng.randint(1, commits)
    runner = FakeRunner(history, culprit, rate, rng, other_rate, error_rate)
    st = BisectState("sim.yaml", "sim", history[-1], [history[0]], title=title,
                     title_source="--title" if title else "")
    try:
        Bisection(st, runner, LinearChooser(history), rule, check_good=check_good).run()
    except HarnessError:  # e.g. the good end shows the guessed title: no answer
        pass
    steps = [s for s in st.steps if s.role == "step"]
    bad_end = next(s for s in st.steps if s.role == "bad end")
    return SimOutcome(bool(st.culprit and st.culprit["commit"] == history[culprit]),
                      len(steps), sum(len(s.runs) for s in steps), len(bad_end.runs),
                      float(st.confidence.get("value", 0.0)))


def simulate(n: int, rate: float, rule: Rule, seed: int = 1, commits: int = 64,
             other_rate: float = 0.0, error_rate: float = 0.0, title: str | None = None,
             check_good: bool = False) -> dict[str, Any]:
    """``n`` bisections of a ``commits``-commit history, culprit uniformly
    placed; the figures docs/bisect.md quotes."""
    rng = random.Random(seed)
    outs = [simulate_one(rng, rate, rule, commits, other_rate, error_rate, title, check_good)
            for _ in range(n)]
    steps = sum(o.steps for o in outs)
    step_runs = sum(o.step_runs for o in outs)
    return {"bisections": n, "commits": commits, "rate": rate, "seed": seed,
            "rule": rule.to_json(), "other_rate": other_rate, "error_rate": error_rate,
            "title_given": title is not None, "check_good": check_good,
            "found": sum(o.found for o in outs) / n,
            "mean_steps": steps / n,
            "mean_runs_per_step": step_runs / steps if steps else 0.0,
            "mean_bad_end_runs": sum(o.bad_end_runs for o in outs) / n,
            "mean_runs_per_bisection": (step_runs + sum(o.bad_end_runs for o in outs)) / n,
            "mean_confidence": sum(o.confidence for o in outs) / n}
