"""Exact small-sample statistics for A/B runs and flaky bisection (pure, stdlib).

- :func:`fisher_exact`: Fisher's exact test on a 2x2 table, from the
  hypergeometric distribution computed with log-factorials (``math.lgamma``),
  two-sided (R's and SciPy's convention: the sum of the probabilities of all
  tables no more likely than the observed one) and both one-sided tails.
- :func:`binom_tail` / :func:`rate_lower_bound`: the binomial upper tail and
  the one-sided Clopper-Pearson lower bound of a rate (bisection's
  conservative repro rate).
- :func:`compare_ab`: a per-test A/B outcome -- fixes, regresses, no change,
  inconclusive -- with, when inconclusive, how many iterations per side would
  decide it if the observed rates held.

SciPy would give the same numbers; it is not a dependency of the harness and
these few functions are exact and short, so the stdlib it is.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass

ALPHA = 0.01  # significance level of validate's classes (docs/bisect.md)
PRACTICAL_FACTOR = 10  # "inconclusive" only if <= this many times the iterations would decide
_REL_TOL = 1 + 1e-7  # ties in the two-sided sum (as R's fisher.test)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


@dataclass(frozen=True)
class Fisher:
    """p-values of a 2x2 table ``[[a, b], [c, d]]``; ``greater``: the first
    row has at least ``a`` in the first column (``P(X >= a)``), ``less``:
    at most (``P(X <= a)``)."""

    two_sided: float
    greater: float
    less: float


def fisher_exact(a: int, b: int, c: int, d: int) -> Fisher:
    """Fisher's exact test of ``[[a, b], [c, d]]`` (all counts >= 0)."""
    if min(a, b, c, d) < 0:
        raise ValueError(f"negative count in [[{a}, {b}], [{c}, {d}]]")
    r1, r2, c1 = a + b, c + d, a + c
    lo, hi = max(0, c1 - r2), min(r1, c1)
    if hi == lo:
        return Fisher(1.0, 1.0, 1.0)
    logs = [_log_choose(r1, x) + _log_choose(r2, c1 - x) for x in range(lo, hi + 1)]
    top = max(logs)
    w = [math.exp(v - top) for v in logs]
    total = math.fsum(w)
    obs = w[a - lo]
    two = math.fsum(v for v in w if v <= obs * _REL_TOL) / total
    greater = math.fsum(w[a - lo:]) / total
    less = math.fsum(w[:a - lo + 1]) / total
    return Fisher(min(1.0, two), min(1.0, greater), min(1.0, less))


def binom_tail(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    return min(1.0, math.fsum(math.exp(_log_choose(n, i) + i * lp + (n - i) * lq)
                              for i in range(k, n + 1)))


@functools.lru_cache(maxsize=4096)
def rate_lower_bound(k: int, n: int, confidence: float) -> float:
    """One-sided Clopper-Pearson lower bound of a rate seen ``k`` times in
    ``n``: the smallest rate under which seeing ``k`` or more still has
    probability ``1 - confidence``."""
    if n <= 0 or k <= 0:
        return 0.0
    alpha = 1.0 - confidence
    if k == n:
        return float(alpha ** (1.0 / n))
    lo, hi = 0.0, k / n
    for _ in range(60):
        mid = (lo + hi) / 2
        if binom_tail(k, n, mid) < alpha:
            lo = mid
        else:
            hi = mid
    return lo


class Outcome(enum.StrEnum):
    FIXES = "fixes"
    REGRESSES = "regresses"
    NO_CHANGE = "no change"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class ABComparison:
    """Bad iterations (fail or crash) out of counted ones on each side."""

    base_bad: int
    base_n: int
    patched_bad: int
    patched_n: int
    outcome: Outcome
    p: float  # two-sided Fisher: the chance of a difference at least this large if nothing changed
    p_worse: float  # one-sided: patched at least this much worse by chance
    p_better: float  # one-sided: patched at least this much better by chance
    decide_at: int | None = None  # iterations per side that would decide it (inconclusive)
    note: str = ""

    @property
    def more_per_side(self) -> int | None:
        if self.decide_at is None:
            return None
        return max(1, self.decide_at - max(self.base_n, self.patched_n))

    def describe(self) -> str:
        s = (f"{self.outcome.value}: base {self.base_bad}/{self.base_n} bad, patched "
             f"{self.patched_bad}/{self.patched_n}, p = {format_p(self.p)}")
        if self.outcome is Outcome.INCONCLUSIVE and self.more_per_side is not None:
            s += (f"; about {self.more_per_side} more iterations per side would decide it "
                  f"if these rates held")
        if self.note:
            s += f" ({self.note})"
        return s

    def to_json(self) -> dict[str, object]:
        return {"base_bad": self.base_bad, "base_n": self.base_n,
                "patched_bad": self.patched_bad, "patched_n": self.patched_n,
                "outcome": self.outcome.value, "p": self.p, "p_worse": self.p_worse,
                "p_better": self.p_better, "decide_at": self.decide_at,
                "more_per_side": self.more_per_side, "note": self.note}


def format_p(p: float) -> str:
    if p >= 0.001:
        return f"{p:.3g}"
    return f"{p:.1e}"


def _p_at(r_base: float, r_patched: float, n: int) -> float:
    a, c = round(r_base * n), round(r_patched * n)
    return fisher_exact(a, n - a, c, n - c).two_sided


def iterations_to_decide(base_bad: int, base_n: int, patched_bad: int, patched_n: int,
                         alpha: float = ALPHA, limit: int = 100_000) -> int | None:
    """The smallest number of iterations per side (at least the larger side
    done so far) at which the observed rates, if they held, would give a
    two-sided p < ``alpha``; None if equal rates or beyond ``limit``.  The
    rounding of counts makes p slightly non-monotone in n: the answer is
    "about"."""
    if base_n <= 0 or patched_n <= 0:
        return None
    rb, rp = base_bad / base_n, patched_bad / patched_n
    if rb == rp:
        return None
    lo = max(base_n, patched_n, 1)
    if _p_at(rb, rp, lo) < alpha:
        return lo
    hi = lo
    while True:
        hi *= 2
        if hi > limit:
            if _p_at(rb, rp, limit) >= alpha:
                return None
            hi = limit
            break
        if _p_at(rb, rp, hi) < alpha:
            break
        lo = hi
    while hi - lo > 1:  # p(lo) >= alpha, p(hi) < alpha
        mid = (lo + hi) // 2
        if _p_at(rb, rp, mid) < alpha:
            hi = mid
        else:
            lo = mid
    return hi


def compare_ab(base_bad: int, base_n: int, patched_bad: int, patched_n: int,
               alpha: float = ALPHA, factor: int = PRACTICAL_FACTOR) -> ABComparison:
    """Classify one test (or one crash title) of an A/B run.

    - **regresses** / **fixes**: two-sided Fisher p < ``alpha``, patched worse
      / better;
    - **inconclusive**: p >= ``alpha``, but at most ``factor`` times the
      iterations done, at the observed rates, would make it significant
      (``decide_at``); also when a side has no counted iteration;
    - **no change**: p >= ``alpha`` and not even that would (equal rates
      included).
    """
    if base_n <= 0 or patched_n <= 0:
        side = "base" if base_n <= 0 else "patched"
        return ABComparison(base_bad, base_n, patched_bad, patched_n, Outcome.INCONCLUSIVE,
                            1.0, 1.0, 1.0, None, f"no counted iteration on the {side} side")
    f = fisher_exact(patched_bad, patched_n - patched_bad, base_bad, base_n - base_bad)
    if f.two_sided < alpha:
        worse = patched_bad / patched_n > base_bad / base_n
        return ABComparison(base_bad, base_n, patched_bad, patched_n,
                            Outcome.REGRESSES if worse else Outcome.FIXES,
                            f.two_sided, f.greater, f.less)
    limit = factor * max(base_n, patched_n)
    at = iterations_to_decide(base_bad, base_n, patched_bad, patched_n, alpha, limit)
    outcome = Outcome.NO_CHANGE if at is None else Outcome.INCONCLUSIVE
    return ABComparison(base_bad, base_n, patched_bad, patched_n, outcome, f.two_sided,
                        f.greater, f.less, at)


__all__ = ["ALPHA", "ABComparison", "Fisher", "Outcome", "binom_tail", "compare_ab",
           "fisher_exact", "format_p", "iterations_to_decide", "rate_lower_bound"]
