#!/usr/bin/env python3
"""Simulated flaky bisections, as JSON on stdout (no kernel, no VM: seconds).

The real decision rule and bisection loop (harness.bisect) on a fake
64-commit history, culprit uniformly placed, bad commits crashing with the
target title at each --rates value; also a noisy case (an older unrelated
crash in 10% of runs at every commit, 5% of boots failing), with the title
given and guessed.  docs/bisect.md quotes these figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.bisect.rule import Rule  # noqa: E402
from harness.bisect.sim import TITLE, simulate  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=1000, help="bisections per case (default 1000)")
    ap.add_argument("--rates", type=float, nargs="+", default=[1.0, 0.3, 0.1])
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()
    cases = []
    t0 = time.monotonic()
    for rate in args.rates:
        rule = Rule(max_runs=40 if rate >= 0.2 else 120)
        cases.append(simulate(args.n, rate, rule, seed=args.seed))
    noise = {"other_rate": 0.1, "error_rate": 0.05}
    cases.append(simulate(args.n, 0.3, Rule(), seed=args.seed, title=TITLE, **noise))
    cases.append(simulate(args.n, 0.3, Rule(), seed=args.seed, **noise))
    for c in cases:
        for k, v in list(c.items()):
            if isinstance(v, float):
                c[k] = round(v, 4)
    print(json.dumps({"cases": cases, "seconds": round(time.monotonic() - t0, 1)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
