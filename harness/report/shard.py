"""``run --shard K/N``: a deterministic, balanced slice of a config's tests.

A config is one job today (plan.py), so the unit of sharding is the test
(all its iterations together): each shard boots its own guest and runs its
tests in config order.  With durations from the history window (median over
the runs that ran the test) the tests go to shards longest first, each to the
least loaded shard (ties: lowest shard, then config order); tests that history
does not know count as the median of those it does.  Without any duration the
tests are dealt round-robin in config order.  Every runner computes the same
plan from the same config and history; each shard records the whole plan in
its run.json, and ``merge`` checks that the shards agree."""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
from dataclasses import dataclass
from typing import Any

from .runs import BOOT, RunView


def parse_shard(value: str) -> tuple[int, int]:
    """``K/N`` -> (K, N), 1 <= K <= N (an argparse type)."""
    try:
        k_s, n_s = value.split("/")
        k, n = int(k_s), int(n_s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected K/N, e.g. 1/4") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"{value!r}: need 1 <= K <= N")
    return k, n


@dataclass
class ShardPlan:
    count: int
    method: str  # "durations" | "round-robin"
    tests: list[str]  # every test, config order
    assignment: dict[str, int]  # test -> shard (1-based)
    expected_s: dict[int, float]  # shard -> expected seconds (durations method)

    def tests_for(self, k: int) -> list[str]:
        return [t for t in self.tests if self.assignment[t] == k]

    @property
    def digest(self) -> str:
        blob = json.dumps([self.count, sorted(self.assignment.items())])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_json(self, k: int) -> dict[str, Any]:
        return {"index": k, "count": self.count, "method": self.method,
                "tests": self.tests_for(k), "all_tests": self.tests,
                "assignment": self.assignment,
                "expected_s": {str(s): round(v, 3) for s, v in self.expected_s.items()},
                "digest": self.digest}


def durations(history: list[RunView], job_key: str) -> dict[str, float]:
    """Median duration per test (iterations summed) over the runs that ran it."""
    seen: dict[str, list[float]] = {}
    for run in history:
        for r in run.results.values():
            if (r.job.key != job_key or r.path == BOOT or " / " in r.path
                    or r.verdict == "notrun"):
                continue
            seen.setdefault(r.path, []).append(r.duration)
    return {t: statistics.median(v) for t, v in seen.items()}


def plan(tests: list[str], n: int, known: dict[str, float] | None = None) -> ShardPlan:
    if n < 1:
        raise ValueError("shard count must be >= 1")
    known = {t: d for t, d in (known or {}).items() if t in tests}
    if not known:
        assignment = {t: i % n + 1 for i, t in enumerate(tests)}
        return ShardPlan(n, "round-robin", list(tests), assignment, {})
    fill = statistics.median(known.values())
    cost = {t: known.get(t, fill) for t in tests}
    order = sorted(range(len(tests)), key=lambda i: (-cost[tests[i]], i))
    load = dict.fromkeys(range(1, n + 1), 0.0)
    assignment = {}
    for i in order:
        k = min(load, key=lambda s: (load[s], s))
        assignment[tests[i]] = k
        load[k] += cost[tests[i]]
    return ShardPlan(n, "durations", list(tests), assignment, load)
