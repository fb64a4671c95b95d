from __future__ import annotations

import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.config import TestSpec
from harness.exec import remote_command, result_name
from harness.model import OopsRef, TestResult, Verdict
from harness.pipeline import exit_code
from harness.results import junit
from harness.results.schema import JobRecord
from harness.results.store import RunStore


def test_remote_command_quotes_user_input() -> None:
    t = TestSpec(name="t", run="echo 'a b'; rm -rf \"$x\"")
    cmd = remote_command(t, "t.1")
    assert shlex.split(cmd) == ["exec", "lamh-run", "t.1", "sh", "-c",
                                "echo 'a b'; rm -rf \"$x\""]
    argv = TestSpec(name="t", run=["/opt/x", "$(reboot)", "a;b"])
    assert shlex.split(remote_command(argv, "t.1"))[3:] == ["/opt/x", "$(reboot)", "a;b"]


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
    crash = R("c", Verdict.CRASH, "kernel panic: x")
    crash.oopses = [OopsRef("kernel panic: x", "panic", "c/oops-1.txt", 10, 20)]
    jobs = [_job(R("p", Verdict.PASS), R("f", Verdict.FAIL, "exit status 1"), crash,
                 R("s", Verdict.SKIP, "no lam"), R("n", Verdict.NOTRUN, "guest crashed"),
                 R("e", Verdict.ERROR, "SSH lost"))]
    root = ET.parse(junit.write(jobs, tmp_path)).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"p", "f", "c", "s", "n", "e"}
    assert cases["f"].find("failure").get("message") == "exit status 1"  # type: ignore[union-attr]
    fail = cases["c"].find("failure")
    assert fail is not None and "Kernel panic - not syncing: x" in (fail.text or "")
    assert fail.get("message") == "crash: kernel panic: x"
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


LAM_FAILS_BUT_EXITS_0 = b"""TAP version 13
ok 1 MALLOC: untag address
not ok 2 MALLOC: tagged address with lam_u57
ok 3 BITS: enable LAM
1..3
"""


def _tap(output: bytes, status: int) -> TestResult:
    from harness.exec import _tap_verdict

    r = TestResult("lam", "lam", 1, Verdict.PASS, exit_status=status)
    _tap_verdict(r, output, status)
    return r


def test_tap_inner_results_decide_whatever_the_exit_code() -> None:
    r = _tap(LAM_FAILS_BUT_EXITS_0, 0)
    assert r.verdict is Verdict.FAIL
    assert "1 of 3 TAP results failed: MALLOC: tagged address with lam_u57" in r.reason
    assert [s.verdict for s in r.subtests] == [Verdict.PASS, Verdict.FAIL, Verdict.PASS]
    ok = _tap(LAM_FAILS_BUT_EXITS_0.replace(b"not ok 2", b"ok 2"), 1)
    assert ok.verdict is Verdict.PASS


def test_tap_without_lam_is_a_skip_with_the_reason() -> None:
    r = _tap(b"# Unsupported LAM feature!\n", 4)
    assert r.verdict is Verdict.SKIP and "Unsupported LAM feature" in r.reason
    old = _tap(b"# Unsupported LAM feature!\n", 255)  # older lam_64
    assert old.verdict is Verdict.SKIP


def test_tap_truncated_output_fails() -> None:
    r = _tap(b"TAP version 13\n1..10\nok 1 a\nok 2 b\n", 0)
    assert r.verdict is Verdict.FAIL and r.notes


def test_tap_no_results_fails() -> None:
    assert _tap(b"segfault\n", 0).verdict is Verdict.FAIL


def test_junit_has_a_testcase_per_subtest(tmp_path: Path) -> None:
    r = _tap(LAM_FAILS_BUT_EXITS_0, 0)
    root = ET.parse(junit.write([_job(r)], tmp_path)).getroot()
    names = [c.get("name") for c in root.iter("testcase")]
    assert names == ["lam", "lam / MALLOC: untag address",
                     "lam / MALLOC: tagged address with lam_u57", "lam / BITS: enable LAM"]
    bad = root.find(".//testcase[@name='lam / MALLOC: tagged address with lam_u57']/failure")
    assert bad is not None


def test_run_json_lists_each_oops_title_once_with_its_count() -> None:
    from harness.results.store import oops_titles

    def crash(name: str, title: str, n: int) -> TestResult:
        r = R(name, Verdict.CRASH, title)
        r.oopses = [OopsRef(title, "kernel BUG", f"{name}/oops-{i}.txt", 10 * i, 10 * i + 5)
                    for i in range(1, n + 1)]
        return r

    j = _job(crash("a#1", "kernel BUG in f", 1), R("a#2", Verdict.PASS),
             crash("a#3", "kernel BUG in f", 2), crash("b", "WARNING in g", 1))
    j.boot_oopses = [{"title": "WARNING in g", "kind": "WARNING", "file": "./oops-1.txt"}]
    got = {e["title"]: e for e in oops_titles([j])}
    assert list(got) == ["WARNING in g", "kernel BUG in f"]
    assert got["kernel BUG in f"]["count"] == 3 and got["kernel BUG in f"]["tests"] == [
        "a#1", "a#3"]
    assert got["kernel BUG in f"]["first"] == "job/a#1/oops-1.txt"
    assert got["WARNING in g"]["count"] == 2 and got["WARNING in g"]["tests"] == ["(boot)", "b"]


def test_run_json_saved_from_many_threads_at_once(tmp_path: Path) -> None:
    """A pooled job's part threads and the main thread all save run.json:
    every save lands whole, none fails on another's temp file."""
    import threading

    store = RunStore.create(tmp_path, "many", {})
    errors: list[BaseException] = []

    def saver() -> None:
        try:
            for _ in range(200):
                store.save()
        except BaseException as e:  # noqa: BLE001 - asserted below
            errors.append(e)

    threads = [threading.Thread(target=saver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads((store.root / "run.json").read_text())["run_id"] == store.root.name
    assert sorted(p.name for p in store.root.iterdir()) == ["run.json"]
