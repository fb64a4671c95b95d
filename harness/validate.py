"""``lam-harness validate``: one-shot A/B of a patch.

The base kernel (the config's source and patches, at ``--base`` for a git
source) and the patched one (the same plus ``--patch``) are built through the
shared cache, then booted alternately (base 1, patched 1, base 2, ...: drift
in the host hits both sides alike), each run executing the config's tests.
Per test, every iteration that passed, failed or crashed counts (skip,
notrun and error do not: they say nothing about the kernel); "bad" is fail or
crash.  Each test, and each crash title within it, is compared with Fisher's
exact test and classified (:func:`harness.stats.compare_ab`).

Exit code: 1 when anything regresses (a test, a crash title, or the patched
kernel no longer builds), else 0; 3 when a side never ran (infrastructure);
2 and 3 as usual before that.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from junit_xml import TestCase, TestSuite, to_xml_report_string

from .bisect.runner import crash_titles
from .config import Config, KernelSource
from .errors import EXIT_INFRA, EXIT_OK, EXIT_TEST_FAILED, UserError
from .kernel.build import BuildError
from .model import Verdict
from .results.schema import JobRecord
from .results.store import RunStore
from .stats import ALPHA, ABComparison, Outcome, compare_ab, format_p

SIDES = ("base", "patched")
COUNTED = (Verdict.PASS, Verdict.FAIL, Verdict.CRASH)
_RANK = {Outcome.NO_CHANGE: 0, Outcome.INCONCLUSIVE: 1, Outcome.FIXES: 2, Outcome.REGRESSES: 3}


class ABRunner(Protocol):
    def build(self, side: str) -> dict[str, Any]:
        """Build one side; raises ``BuildError`` (or another HarnessError)."""

    def run(self, side: str, index: int, store: RunStore) -> JobRecord:
        """One boot of that side running the tests, recorded in ``store`` as a
        job named ``<side>-<index>``."""

    def meta(self) -> dict[str, Any]:
        """Host facts and versions for run.json."""


@dataclass
class SideTally:
    verdicts: Counter[str] = field(default_factory=Counter)
    titles: Counter[str] = field(default_factory=Counter)  # iterations crashing with it

    @property
    def bad(self) -> int:
        return self.verdicts[Verdict.FAIL] + self.verdicts[Verdict.CRASH]

    @property
    def counted(self) -> int:
        return sum(self.verdicts[v] for v in COUNTED)


@dataclass
class TestComparison:
    __test__ = False  # not a pytest test class
    test: str
    base: SideTally
    patched: SideTally
    overall: ABComparison
    titles: dict[str, ABComparison]
    outcome: Outcome

    @property
    def more_per_side(self) -> int | None:
        mores = [c.more_per_side for c in (self.overall, *self.titles.values())
                 if c.outcome is Outcome.INCONCLUSIVE and c.more_per_side is not None]
        return max(mores) if mores else None

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, "outcome": self.outcome.value,
                "more_per_side": self.more_per_side, "overall": self.overall.to_json(),
                "sides": {s: {"verdicts": dict(t.verdicts), "titles": dict(t.titles),
                              "bad": t.bad, "counted": t.counted}
                          for s, t in (("base", self.base), ("patched", self.patched))},
                "titles": {k: v.to_json() for k, v in self.titles.items()}}


def tally(records: list[JobRecord]) -> dict[str, SideTally]:
    """Per config test name: its verdicts over all runs and iterations, and
    how many iterations crashed with each (normalized) title."""
    out: dict[str, SideTally] = {}
    for rec in records:
        for r in rec.results:
            t = out.setdefault(r.test, SideTally())
            t.verdicts[r.verdict.value] += 1
            if r.verdict is Verdict.CRASH:
                t.titles.update(crash_titles([(o.kind, o.title) for o in r.oopses]
                                             or [("", r.reason)]))
    return out


def compare(base: list[JobRecord], patched: list[JobRecord], tests: list[str],
            alpha: float = ALPHA) -> list[TestComparison]:
    tb, tp = tally(base), tally(patched)
    names = list(dict.fromkeys([*tests, *tb, *tp]))
    out = []
    for name in names:
        b, p = tb.get(name, SideTally()), tp.get(name, SideTally())
        overall = compare_ab(b.bad, b.counted, p.bad, p.counted, alpha)
        titles = {title: compare_ab(b.titles[title], b.counted, p.titles[title], p.counted,
                                    alpha)
                  for title in dict.fromkeys([*b.titles, *p.titles])}
        outcome = max((overall.outcome, *(c.outcome for c in titles.values())),
                      key=lambda o: _RANK[o])
        out.append(TestComparison(name, b, p, overall, titles, outcome))
    return out


@dataclass
class ValidateReport:
    name: str
    runs: int
    alpha: float
    builds: dict[str, dict[str, Any]] = field(default_factory=dict)
    build_regression: str | None = None
    tests: list[TestComparison] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)  # runs with no verdict, per side
    worked: dict[str, int] = field(default_factory=dict)  # runs that ran, per side

    @property
    def exit_code(self) -> int:
        if self.build_regression or any(t.outcome is Outcome.REGRESSES for t in self.tests):
            return EXIT_TEST_FAILED
        if any(self.worked.get(s, 0) == 0 for s in SIDES):
            return EXIT_INFRA
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "runs": self.runs, "alpha": self.alpha,
                "builds": self.builds, "build_regression": self.build_regression,
                "errors": self.errors, "worked": self.worked, "exit_code": self.exit_code,
                "tests": [t.to_json() for t in self.tests]}


def validate(runner: ABRunner, name: str, tests: list[str], runs: int, store: RunStore,
             alpha: float = ALPHA, say: Callable[[str], None] = lambda s: None
             ) -> ValidateReport:
    rep = ValidateReport(name, runs, alpha)
    for side in SIDES:
        t0 = time.monotonic()
        try:
            info = runner.build(side)
        except BuildError as e:
            if side == "base":
                raise
            rep.build_regression = str(e)
            rep.builds[side] = {"ok": False, "error": str(e)[-3000:],
                                "seconds": round(time.monotonic() - t0, 1)}
            say(f"the patched kernel does not build: {str(e).splitlines()[0]}")
            return rep
        rep.builds[side] = {"ok": True, "seconds": round(time.monotonic() - t0, 1), **info}
    records: dict[str, list[JobRecord]] = {s: [] for s in SIDES}
    for i in range(1, runs + 1):
        for side in SIDES:
            rec = runner.run(side, i, store)
            records[side].append(rec)
            bad = [r for r in rec.results if r.verdict.is_bad]
            say(f"{side} run {i}/{runs}: " + (rec.error or (", ".join(
                f"{r.name} {r.verdict.value}" for r in bad) if bad else "no failure")))
    for side in SIDES:
        rep.errors[side] = sum(1 for r in records[side] if r.error)
        rep.worked[side] = sum(1 for r in records[side] if not r.error)
    rep.tests = compare(records["base"], records["patched"], tests, alpha)
    return rep


def _verdicts(t: SideTally) -> str:
    order = [v.value for v in Verdict]
    return ", ".join(f"{v} {t.verdicts[v]}" for v in order if t.verdicts[v]) or "nothing ran"


def summary(rep: ValidateReport) -> str:
    out = [f"validate {rep.name}: {rep.runs} run(s) per side, alpha {rep.alpha}"]
    for side in SIDES:
        b = rep.builds.get(side, {})
        what = b.get("label") or ("does not build" if b.get("ok") is False else "-")
        err = f", {rep.errors[side]} run(s) without a verdict" if rep.errors.get(side) else ""
        out.append(f"  {side:<8} {what}{err}")
    if rep.build_regression:
        first = rep.build_regression.strip().splitlines()[0]
        out.append(f"build: REGRESSES: the patched kernel does not build ({first})")
    for t in rep.tests:
        out.append(f"{t.test}: {t.outcome.value.upper()}")
        for side, tally_ in (("base", t.base), ("patched", t.patched)):
            titles = "; ".join(f"{k} x{v}" for k, v in tally_.titles.most_common())
            out.append(f"  {side:<8} {_verdicts(tally_)}" + (f"  [{titles}]" if titles else ""))
        o = t.overall
        out.append(f"  bad (fail or crash): base {o.base_bad}/{o.base_n}, patched "
                   f"{o.patched_bad}/{o.patched_n}; p = {format_p(o.p)} (two-sided Fisher: "
                   f"the chance of a difference this large if the patch changed nothing)")
        for title, c in t.titles.items():
            if c.outcome is not Outcome.NO_CHANGE or len(t.titles) > 1:
                out.append(f"  {title}: {c.describe()}")
        if t.outcome is Outcome.INCONCLUSIVE:
            more = t.more_per_side
            out.append("  inconclusive: " + (
                f"about {more} more run(s) per side would decide it if these rates held"
                if more else (o.note or "no number of runs would decide it")))
    verdict = {EXIT_OK: "no regression", EXIT_TEST_FAILED: "REGRESSION",
               EXIT_INFRA: "a side never ran"}[rep.exit_code]
    out.append(f"result: {verdict} (exit {rep.exit_code})")
    return "\n".join(out) + "\n"


def junit_suite(rep: ValidateReport) -> TestSuite:
    cases = []
    if rep.build_regression:
        tc = TestCase("build", classname=f"validate.{rep.name}")
        tc.add_failure_info(message="the patched kernel does not build",
                            output=rep.build_regression, failure_type="regresses")
        cases.append(tc)
    for t in rep.tests:
        tc = TestCase(t.test, classname=f"validate.{rep.name}", stdout=t.overall.describe())
        msg = f"{t.outcome.value}: {t.overall.describe()}"
        if t.outcome is Outcome.REGRESSES:
            tc.add_failure_info(message=msg, failure_type="regresses")
        elif t.outcome is Outcome.INCONCLUSIVE:
            tc.add_skipped_info(message=msg)
        cases.append(tc)
    props = {f"{s}_kernel": str(rep.builds.get(s, {}).get("label", "")) for s in SIDES}
    props.update(runs=str(rep.runs), alpha=str(rep.alpha))
    return TestSuite(f"validate-{rep.name}", cases, properties=props)


def write(rep: ValidateReport, store: RunStore) -> str:
    """validate.json, validate.txt, junit.xml (the comparison suite), and the
    comparison in run.json; returns the text summary."""
    text = summary(rep)
    store.meta["validate"] = rep.to_json()
    (store.root / "validate.json").write_text(json.dumps(rep.to_json(), indent=2) + "\n")
    (store.root / "validate.txt").write_text(text)
    tmp = store.root / ".junit.xml.tmp"
    tmp.write_text(to_xml_report_string([junit_suite(rep)], encoding="utf-8"), encoding="utf-8")
    tmp.replace(store.root / "junit.xml")
    return text


# -- the real runner ------------------------------------------------------


def side_configs(cfg: Config, patches: list[Path], base_rev: str | None
                 ) -> tuple[Config, Config]:
    src = cfg.kernel.source
    if src is None:
        raise UserError("validate builds kernels: the config needs kernel.source",
                        where=cfg.where("kernel"))
    if base_rev is not None:
        if src.git is None:
            raise UserError("--base needs a git source (kernel.source.git)",
                            where=cfg.where("kernel.source"))
        src = KernelSource(git=str(cfg.resolve_path(src.git, "kernel.source.git")), ref=base_rev)
    for p in patches:
        if not p.exists():
            raise UserError(f"--patch {p}: no such file or directory")
    base_kernel = dataclasses.replace(cfg.kernel, source=src)
    patched_kernel = dataclasses.replace(
        base_kernel, patches=list(cfg.kernel.patches) + [str(p.resolve()) for p in patches])
    return (dataclasses.replace(cfg, kernel=base_kernel),
            dataclasses.replace(cfg, kernel=patched_kernel))


class PipelineABRunner:
    def __init__(self, base: Config, patched: Config, kernels: Path,
                 tests: list[str] | None) -> None:
        from . import hosts

        self.cfgs = {"base": base, "patched": patched}
        self.kernels = kernels
        self.tests = tests
        # The config's runner (host:, or the first of hosts:): local or over SSH.
        self.runners = hosts.runners(base)
        self.host = self.runners[0].host
        self.facts = self.host.facts(base.machine.qemu)

    def meta(self) -> dict[str, Any]:
        from .pipeline import host_meta

        return host_meta(self.facts)

    def build(self, side: str) -> dict[str, Any]:
        from .kernel.build import build

        b = build(self.cfgs[side], self.kernels)
        return {"label": b.describe(), "key": b.key, "hit": b.hit, "dir": str(b.dir),
                "patches": b.info.get("patches")}

    def run(self, side: str, index: int, store: RunStore) -> JobRecord:
        from .pipeline import Paths, run_job
        from .plan import Job, plan

        cfg = self.cfgs[side]
        job = plan(cfg, self.tests)[0]
        return run_job(Job(f"{side}-{index}", cfg, job.tests), store,
                       Paths(self.kernels, store.root.parent), self.facts, host=self.host)


__all__ = ["ABRunner", "PipelineABRunner", "TestComparison",
           "ValidateReport", "compare", "side_configs", "summary", "tally", "validate",
           "write"]
