"""harness.stats: Fisher's exact test (values checked against SciPy 1.17's
``scipy.stats.fisher_exact`` and R's ``fisher.test``), binomial bounds, and
the A/B classes."""

from __future__ import annotations

import math

import pytest

from harness.stats import (
    ALPHA,
    Outcome,
    binom_tail,
    compare_ab,
    fisher_exact,
    iterations_to_decide,
    rate_lower_bound,
)


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


@pytest.mark.parametrize(("table", "two", "greater", "less"), [
    # Fisher's tea-tasting lady (R: p = 0.4857 two-sided, 0.2429 greater)
    ((3, 1, 1, 3), 0.48571428571428527, 0.24285714285714263, 0.9857142857142858),
    # the example: 37 of 200 crashed on base, 0 of 200 patched
    ((0, 200, 37, 163), 2.3220449712955925e-12, 1.0, 1.1610224856477963e-12),
    ((0, 5, 5, 0), 0.007936507936507936, 1.0, 0.003968253968253968),
    ((0, 4, 4, 0), 0.028571428571428571, 1.0, 0.014285714285714285),
    ((6, 14, 5, 15), 1.0, 0.5, 0.7599423244584534),
])
def test_fisher_matches_scipy(table: tuple[int, int, int, int], two: float, greater: float,
                              less: float) -> None:
    f = fisher_exact(*table)
    assert close(f.two_sided, two, 1e-7) and close(f.greater, greater, 1e-7)
    assert close(f.less, less, 1e-7)


def test_fisher_degenerate_tables() -> None:
    assert fisher_exact(0, 0, 0, 0).two_sided == 1.0
    assert fisher_exact(5, 0, 5, 0).two_sided == 1.0  # one column empty
    with pytest.raises(ValueError):
        fisher_exact(-1, 0, 0, 0)


def test_fisher_symmetry_and_bounds() -> None:
    for a, b, c, d in [(1, 9, 7, 3), (0, 10, 3, 7), (12, 30, 2, 40)]:
        f, g = fisher_exact(a, b, c, d), fisher_exact(c, d, a, b)
        assert close(f.two_sided, g.two_sided) and close(f.greater, g.less)
        assert 0 < f.two_sided <= 1 and f.two_sided <= 2 * min(f.greater, f.less) + 1e-12


def test_binomial_tail_and_lower_bound() -> None:
    assert close(binom_tail(3, 10, 0.3), 0.6172172136)
    assert binom_tail(0, 5, 0.1) == 1.0 and binom_tail(6, 5, 0.5) == 0.0
    # one-sided 80% Clopper-Pearson = SciPy's two-sided 60% exact interval's low end
    assert close(rate_lower_bound(3, 10, 0.8), 0.1576346589077768, 1e-7)
    assert close(rate_lower_bound(6, 20, 0.8), 0.2012795012269918, 1e-7)
    assert close(rate_lower_bound(10, 10, 0.8), 0.8513399225207846, 1e-9)
    assert rate_lower_bound(0, 10, 0.8) == 0.0


def test_classes() -> None:
    # base crashed 37/200, patched 0/200: fixes, p far below alpha
    fix = compare_ab(37, 200, 0, 200)
    assert fix.outcome is Outcome.FIXES and fix.p < 1e-9 and fix.p_better < 1e-9
    # the patch breaks the test every time (5 of 5): regresses
    reg = compare_ab(0, 5, 5, 5)
    assert reg.outcome is Outcome.REGRESSES and reg.p < ALPHA
    assert "regresses: base 0/5 bad, patched 5/5" in reg.describe()
    # 4 of 4 is not yet significant at 0.01: one more run per side decides it
    inc = compare_ab(0, 4, 4, 4)
    assert inc.outcome is Outcome.INCONCLUSIVE and inc.decide_at == 5
    assert inc.more_per_side == 1 and "about 1 more iterations per side" in inc.describe()
    # nothing bad on either side, or equal rates: no change
    assert compare_ab(0, 20, 0, 20).outcome is Outcome.NO_CHANGE
    assert compare_ab(6, 20, 6, 20).outcome is Outcome.NO_CHANGE
    # a small difference that ten times the runs would not make significant
    same = compare_ab(6, 20, 5, 20)
    assert same.outcome is Outcome.NO_CHANGE and same.p > 0.5
    # one crash on the patched side in 20: inconclusive, with a number
    one = compare_ab(0, 20, 1, 20)
    assert one.outcome is Outcome.INCONCLUSIVE and one.more_per_side is not None
    assert 20 < one.decide_at <= 200  # type: ignore[operator]
    # a side with nothing counted
    none = compare_ab(0, 0, 3, 10)
    assert none.outcome is Outcome.INCONCLUSIVE and "base side" in none.note


def test_iterations_to_decide_is_the_first_significant_n() -> None:
    at = iterations_to_decide(0, 20, 2, 20)
    assert at is not None
    r = 2 / 20
    p_at = fisher_exact(0, at, round(r * at), at - round(r * at)).two_sided
    assert p_at < ALPHA
    assert iterations_to_decide(3, 10, 3, 10) is None
    assert iterations_to_decide(30, 100, 31, 100, limit=1000) is None
