from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.config import TestSpec
from harness.exec import remote_command, result_name
from harness.model import OopsRef, TestResult, Verdict
from harness.pipeline import exit_code
from harness.results import junit
from harness.results.store import JobRecord, RunStore


def test_remote_command_quotes_user_input() -> None:
    t = TestSpec(name="t", run="echo 'a b'; rm -rf \"$x\"")
    cmd = remote_command(t, "t.1")
    assert shlex.split(cmd) == ["exec", "setsid", "lamh-run", "t.1", "sh", "-c",
                                "echo 'a b'; rm -rf \"$x\""]
    argv = TestSpec(name="t", run=["/opt/x", "$(reboot)", "a;b"])
    assert shlex.split(remote_command(argv, "t.1"))[4:] == ["/opt/x", "$(reboot)", "a;b"]


def test_result_names_per_iteration() -> None:
    assert result_name(TestSpec("t", "x"), 1) == "t"
    assert result_name(TestSpec("t", "x", repeat=3), 2) == "t#2"


def _job(*results: TestResult, error: str | None = None) -> JobRecord:
    j = JobRecord("job", error=error)
    j.results = list(results)
    return j


def R(name: str, v: Verdict, reason: str = "") -> TestResult:  # noqa: N802
    return TestResult(name, name, 1, v, reason=reason)


def test_exit_codes() -> None:
    assert exit_code([_job(R("a", Verdict.PASS), R("b", Verdict.SKIP))]) == 0
    assert exit_code([_job(R("a", Verdict.FAIL))]) == 1
    assert exit_code([_job(R("a", Verdict.CRASH), R("b", Verdict.NOTRUN))]) == 1
    assert exit_code([_job(R("a", Verdict.NOTRUN), error="boot failed")]) == 3
    assert exit_code([_job(R("a", Verdict.ERROR))]) == 3


def test_junit_maps_verdicts(tmp_path: Path) -> None:
    (tmp_path / "job" / "c").mkdir(parents=True)
    (tmp_path / "job" / "c" / "oops-1.txt").write_text("Kernel panic - not syncing: x\n")
    crash = R("c", Verdict.CRASH, "Kernel panic - not syncing: x")
    crash.oopses = [OopsRef("Kernel panic - not syncing: x", "panic", "c/oops-1.txt", 10, 20)]
    jobs = [_job(R("p", Verdict.PASS), R("f", Verdict.FAIL, "exit status 1"), crash,
                 R("s", Verdict.SKIP, "no lam"), R("n", Verdict.NOTRUN, "guest crashed"),
                 R("e", Verdict.ERROR, "SSH lost"))]
    root = ET.parse(junit.write(jobs, tmp_path)).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"p", "f", "c", "s", "n", "e"}
    assert cases["f"].find("failure").get("message") == "exit status 1"  # type: ignore[union-attr]
    fail = cases["c"].find("failure")
    assert fail is not None and "Kernel panic" in (fail.text or "")
    assert cases["s"].find("skipped").get("message") == "no lam"  # type: ignore[union-attr]
    assert "not run" in cases["n"].find("skipped").get("message")  # type: ignore[union-attr]
    assert cases["e"].find("error") is not None


def test_run_json_is_written_at_start_and_on_update(tmp_path: Path) -> None:
    import json

    s = RunStore.create(tmp_path, "demo", {"config_file": "x.yaml"})
    d = json.loads((s.root / "run.json").read_text())
    assert d["status"] == "running" and d["jobs"] == []
    j = s.job("demo")
    j.results.append(R("a", Verdict.PASS))
    s.save()
    d = json.loads((s.root / "run.json").read_text())
    assert d["jobs"][0]["tests"][0]["verdict"] == "pass"
    s.finish("passed", 0)
    assert json.loads((s.root / "run.json").read_text())["exit_code"] == 0
