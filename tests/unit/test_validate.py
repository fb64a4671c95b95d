"""validate: per-test A/B classes from fake runs (the real runner is the
pipeline's run_job; e2e/test_bisect.py runs it for real)."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from harness import validate as validate_mod
from harness.config import loads
from harness.errors import UserError
from harness.kernel.build import BuildError
from harness.model import OopsRef, TestResult, Verdict
from harness.parse.oops import normalize_title
from harness.results.schema import JobRecord
from harness.results.store import RunStore
from harness.stats import Outcome
from harness.validate import compare, side_configs, summary, validate, write

TITLE = "kernel BUG in demo_bug_fire"


def _result(test: str, verdict: Verdict, it: int = 1) -> TestResult:
    r = TestResult(test if it == 1 else f"{test}#{it}", test, it, verdict)
    if verdict is Verdict.CRASH:
        r.reason = TITLE
        r.oopses = [OopsRef(TITLE, "kernel BUG", f"{test}/oops-1.txt", 10, 40)]
    return r


class FakeAB:
    """``plan[side]`` = list of per-run {test: verdict}; runs cycle through it."""

    def __init__(self, plan: dict[str, list[dict[str, Verdict]]],
                 broken: str | None = None) -> None:
        self.plan = plan
        self.broken = broken
        self.calls: list[tuple[str, int]] = []

    def build(self, side: str) -> dict[str, Any]:
        if side == self.broken:
            raise BuildError("make bzImage failed (exit 2):\nfoo.c:1:1: error: oops")
        return {"label": f"{side} kernel", "key": side, "hit": False}

    def run(self, side: str, index: int, store: RunStore) -> JobRecord:
        self.calls.append((side, index))
        rec = store.job(f"{side}-{index}")
        outcomes = self.plan[side][(index - 1) % len(self.plan[side])]
        rec.results = [_result(t, v) for t, v in outcomes.items()]
        rec.status = "failed" if any(r.verdict.is_bad for r in rec.results) else "passed"
        return rec

    def meta(self) -> dict[str, Any]:
        return {}


def _store(tmp_path: Path) -> RunStore:
    return RunStore.create(tmp_path, "validate-t", {})


PASS = {"demo-bug": Verdict.PASS, "lam": Verdict.SKIP}
CRASH = {"demo-bug": Verdict.CRASH, "lam": Verdict.SKIP}


def test_regression_with_counts_titles_and_p(tmp_path: Path) -> None:
    fake = FakeAB({"base": [PASS], "patched": [CRASH]})
    store = _store(tmp_path)
    rep = validate(fake, "t", ["demo-bug", "lam"], 10, store)
    # interleaved: base 1, patched 1, base 2, ...
    assert fake.calls[:4] == [("base", 1), ("patched", 1), ("base", 2), ("patched", 2)]
    demo, lam = rep.tests
    assert demo.outcome is Outcome.REGRESSES and demo.overall.p < 1e-4
    assert (demo.base.verdicts["pass"], demo.patched.verdicts["crash"]) == (10, 10)
    norm = normalize_title(TITLE)
    assert dict(demo.patched.titles) == {norm: 10}
    assert demo.titles[norm].outcome is Outcome.REGRESSES
    assert lam.outcome is Outcome.INCONCLUSIVE and lam.overall.base_n == 0
    assert rep.exit_code == 1
    text = write(rep, store)
    assert "demo-bug: REGRESSES" in text and "base 0/10, patched 10/10" in text
    assert f"[{norm} x10]" in text and "result: REGRESSION (exit 1)" in text
    assert "lam: INCONCLUSIVE" in text and "no counted iteration" in text
    data = json.loads((store.root / "validate.json").read_text())
    assert data["tests"][0]["outcome"] == "regresses"
    assert data["tests"][0]["sides"]["patched"]["titles"] == {norm: 10}
    cases = {c.get("name"): c for c in ET.parse(store.root / "junit.xml").getroot()
             .iter("testcase")}
    assert cases["demo-bug"].find("failure") is not None
    assert cases["lam"].find("skipped") is not None


def test_fix_and_no_change(tmp_path: Path) -> None:
    # base crashes in 3 of 10 runs, patched never: with 10 runs, inconclusive...
    flaky = [CRASH, PASS, PASS, CRASH, PASS, PASS, CRASH, PASS, PASS, PASS]
    rep = validate(FakeAB({"base": flaky, "patched": [PASS]}), "t", ["demo-bug"], 10,
                   _store(tmp_path))
    t = rep.tests[0]
    assert t.outcome is Outcome.INCONCLUSIVE and t.more_per_side is not None
    assert "more run(s) per side would decide it" in summary(rep)
    assert rep.exit_code == 0
    # ...with 40, it fixes
    rep = validate(FakeAB({"base": flaky, "patched": [PASS]}), "t", ["demo-bug"], 40,
                   _store(tmp_path))
    assert rep.tests[0].outcome is Outcome.FIXES and rep.exit_code == 0
    # base vs base
    rep = validate(FakeAB({"base": [PASS], "patched": [PASS]}), "t", ["demo-bug"], 5,
                   _store(tmp_path))
    assert rep.tests[0].outcome is Outcome.NO_CHANGE and rep.exit_code == 0


def test_a_new_crash_title_regresses_even_when_the_test_count_does_not(
        tmp_path: Path) -> None:
    base = [JobRecord("b")]
    base[0].results = [_result("t", Verdict.FAIL, i) for i in range(1, 11)]
    patched = [JobRecord("p")]
    patched[0].results = [_result("t", Verdict.CRASH, i) for i in range(1, 11)]
    (t,) = compare(base, patched, ["t"])
    assert t.overall.outcome is Outcome.NO_CHANGE  # 10/10 bad on both sides
    assert t.outcome is Outcome.REGRESSES  # but the crash is new


def test_patched_kernel_that_does_not_build_regresses(tmp_path: Path) -> None:
    fake = FakeAB({"base": [PASS], "patched": [PASS]}, broken="patched")
    store = _store(tmp_path)
    rep = validate(fake, "t", ["demo-bug"], 5, store)
    assert rep.build_regression and rep.exit_code == 1 and not fake.calls
    assert "build: REGRESSES" in write(rep, store)
    with pytest.raises(BuildError):  # the base must build: infrastructure
        validate(FakeAB({"base": [PASS], "patched": [PASS]}, broken="base"), "t", ["x"], 1,
                 _store(tmp_path))


def test_side_configs(tmp_path: Path) -> None:
    patch = tmp_path / "fix.patch"
    patch.write_text("x")
    (tmp_path / "repo").mkdir()
    cfg = loads(f"name: v\nkernel:\n  source: {{git: {tmp_path / 'repo'}, ref: main}}\n"
                "  patches: []\n", "v.yaml", path=tmp_path / "v.yaml")
    base, patched = side_configs(cfg, [patch], "v6.11")
    assert base.kernel.source is not None and base.kernel.source.ref == "v6.11"
    assert base.kernel.patches == [] and patched.kernel.patches == [str(patch.resolve())]
    deb = loads("name: v\nkernel:\n  source: {debian: linux-source-6.12}\n", "d.yaml")
    with pytest.raises(UserError, match="--base needs a git source"):
        side_configs(deb, [patch], "v6.11")
    with pytest.raises(UserError, match="no such file"):
        side_configs(cfg, [tmp_path / "nope.patch"], None)
    img = loads("name: v\nkernel:\n  image: /boot/vmlinuz\n", "i.yaml")
    with pytest.raises(UserError, match="kernel.source"):
        side_configs(img, [patch], None)


def test_cli_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    made: list[Any] = []

    class Fake(FakeAB):
        def __init__(self, base: Any, patched: Any, kernels: Path, tests: Any) -> None:
            super().__init__({"base": [{"demo-bug": Verdict.PASS}],
                              "patched": [{"demo-bug": Verdict.CRASH}]})
            made.append((base, patched, tests))

    monkeypatch.setattr(validate_mod, "PipelineABRunner", Fake)
    patch = tmp_path / "demo.patch"
    patch.write_text("x")
    cfg = tmp_path / "v.yaml"
    cfg.write_text(textwrap.dedent("""\
        name: v
        kernel:
          source: {debian: linux-source-6.12}
        tests:
          - {name: demo-bug, run: [/opt/demo_bug_64]}
          - {name: lam, run: [/opt/lam_64]}
        """))
    code = cli.main(["-q", "validate", str(cfg), "--patch", str(patch), "--runs", "6",
                     "--only", "demo-bug", "--results", str(tmp_path / "r")])
    assert code == 1
    out = capsys.readouterr().out
    assert "demo-bug: REGRESSES" in out and "lam" not in out.split("result:")[0]
    (run_dir,) = (tmp_path / "r").iterdir()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "failed" and run["exit_code"] == 1
    assert [j["name"] for j in run["jobs"]][:2] == ["base-1", "patched-1"]
    assert run["validate"]["tests"][0]["outcome"] == "regresses"
    assert made[0][2] == ["demo-bug"]
    assert cli.main(["validate", str(cfg), "--patch", str(tmp_path / "none"),
                     "--results", str(tmp_path / "r")]) == 2
