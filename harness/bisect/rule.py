"""The decision rule of one bisection step (pure), the repro-rate estimate and
the confidence of the answer.  docs/bisect.md explains the choices.

A *run* is one boot running the selected tests.  Against the target title
each run is one of:

- ``target``: a crash with the target title (or, for a ``failed: TEST``
  target, that test failing): evidence that the commit is bad;
- ``clean``: the tests ran to their end without the target (pass, fail or
  skip): evidence that it is good;
- ``other``: another crash and not the target: the guest died of something
  else, which may have masked the target; recorded, counted as neither;
- ``error``: no verdict at all (boot failure, guest lost without an oops).

Given the counts and the conservative repro rate ``p`` (see
:func:`rate_estimate`), a step is

- **bad** once ``target >= bad_crashes`` (2);
- **good** once ``target == 0`` and ``clean >= runs_for_good(p)``, the fewest
  clean runs with ``(1 - p) ** runs <= miss``: a bad commit would have shown
  the bug with probability at least ``1 - miss``;
- **skip** when runs mostly fail (``errors >= max_errors`` and more errors
  than runs that worked): a kernel that does not boot gets two tries;
- at ``max_runs`` runs, whatever the evidence says, marked *weak*: one target
  crash is bad, clean runs are good (their confidence is lower and counted),
  only ``other`` crashes is skip;
- otherwise: run again.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass

from ..stats import rate_lower_bound

FAILED_PREFIX = "failed: "  # target signature of a test failing without a crash


class Verdict(enum.StrEnum):
    GOOD = "good"
    BAD = "bad"
    SKIP = "skip"


class Kind(enum.StrEnum):
    TARGET = "target"
    CLEAN = "clean"
    OTHER = "other"
    ERROR = "error"


@dataclass(frozen=True)
class Rule:
    runs: int = 10  # runs at the bad end (the rate measurement); good threshold without a rate
    max_runs: int = 40  # runs at most per step (target + clean + other)
    bad_crashes: int = 2  # target crashes that make a step bad at once
    miss: float = 0.01  # accepted chance that one bad commit passes as good
    rate_confidence: float = 0.8  # one-sided confidence of the rate's lower bound
    max_errors: int = 2  # infrastructure failures before a step is skipped

    def __post_init__(self) -> None:
        if self.runs < 1 or self.max_runs < 1:
            raise ValueError("runs and max_runs must be at least 1")
        if not 0 < self.miss < 1 or not 0 < self.rate_confidence < 1:
            raise ValueError("miss and rate_confidence must be in (0, 1)")

    def to_json(self) -> dict[str, float | int]:
        return {"runs": self.runs, "max_runs": self.max_runs, "bad_crashes": self.bad_crashes,
                "miss": self.miss, "rate_confidence": self.rate_confidence,
                "max_errors": self.max_errors}


@dataclass
class Counts:
    target: int = 0
    clean: int = 0
    other: int = 0
    errors: int = 0

    @property
    def runs(self) -> int:
        """Runs that tell something about the target: target + clean."""
        return self.target + self.clean

    @property
    def attempts(self) -> int:
        return self.target + self.clean + self.other

    def add(self, kind: Kind) -> None:
        if kind is Kind.TARGET:
            self.target += 1
        elif kind is Kind.CLEAN:
            self.clean += 1
        elif kind is Kind.OTHER:
            self.other += 1
        else:
            self.errors += 1

    @staticmethod
    def of(kinds: Iterable[Kind]) -> Counts:
        c = Counts()
        for k in kinds:
            c.add(k)
        return c


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    weak: bool = False


def runs_for_good(rate: float | None, rule: Rule) -> int:
    """Clean runs that make a step good: the fewest ``n`` with
    ``(1 - rate) ** n <= miss``; ``rule.runs`` when no rate is known."""
    if rate is None:
        return rule.runs
    if rate >= 1.0:
        return 1
    if rate <= 0.0:
        return rule.max_runs + 1  # never by the rule: the run limit decides
    return max(1, math.ceil(math.log(rule.miss) / math.log1p(-rate) - 1e-9))


def decide(c: Counts, rate: float | None, rule: Rule) -> Decision | None:
    """The step's verdict, or None: run again."""
    if c.target >= rule.bad_crashes:
        return Decision(Verdict.BAD, f"{c.target} of {c.runs} runs crashed with the target")
    need = runs_for_good(rate, rule)
    if c.target == 0 and c.clean >= need:
        return Decision(Verdict.GOOD, f"{c.clean} clean runs (needed {need}"
                        + (f" at rate {rate:.2f})" if rate is not None else ")"))
    if c.errors >= rule.max_errors and c.errors > c.attempts:
        if c.target:
            return Decision(Verdict.BAD, f"{c.target} target crash, then {c.errors} runs "
                            "failed to boot or run", weak=True)
        return Decision(Verdict.SKIP, f"{c.errors} runs failed to boot or run"
                        + (f" ({c.attempts} worked)" if c.attempts else ""))
    if c.attempts >= rule.max_runs:
        if c.target:
            return Decision(Verdict.BAD, f"{c.target} target crash in {c.runs} runs "
                            f"(run limit {rule.max_runs})", weak=True)
        if c.clean:
            return Decision(Verdict.GOOD, f"{c.clean} clean runs, fewer than the {need} "
                            f"needed (run limit {rule.max_runs})", weak=True)
        return Decision(Verdict.SKIP, f"all {c.other} runs crashed with other titles")
    return None


def rate_estimate(target: int, runs: int, rule: Rule) -> float | None:
    """The conservative repro rate: the one-sided lower bound of the target
    rate pooled over the bad end and the steps judged bad; None without any
    run."""
    if runs <= 0:
        return None
    return rate_lower_bound(target, runs, rule.rate_confidence)


def confidence(good_runs: Iterable[int], rate: float) -> float:
    """Chance that no good verdict was a bad commit that missed at ``rate``:
    the product over good steps of ``1 - (1 - rate) ** runs``."""
    out = 1.0
    for n in good_runs:
        out *= 1.0 - (1.0 - rate) ** n
    return out
