"""harness/results/schema.py: the records the writer has are what readers
get back, the checker's field types are the records', and the version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.model import OopsRef, SubResult, TestResult, Verdict
from harness.report import runcheck
from harness.report.runs import load_run
from harness.results.schema import (
    JOB_EXTRA,
    SCHEMA,
    JobRecord,
    RunHeader,
    RunJsonError,
    field_types,
    header_from_json,
    job_from_json,
    version,
)
from harness.results.store import RunStore


def _job() -> JobRecord:
    rec = JobRecord("j", "failed", None, 1234, {"accel": "tcg"}, {"status": "absent"},
                    {"version": "6.12"}, {"qemu_start_to_ssh_s": 2.5}, ["a note"],
                    [{"title": "WARNING in f", "kind": "WARNING", "file": "oops-1.txt",
                      "first_line": 3, "last_line": 9, "corrupted": False}])
    rec.results = [
        TestResult("t", "t", 1, Verdict.CRASH, "kernel BUG in f", None, 1.5, "t/stdout",
                   "t/stderr", [OopsRef("kernel BUG in f", "kernel BUG", "t/oops-1.txt", 10, 20,
                                        True, "f", True, "part-2/console.log")],
                   notes=["n"], lam="absent", console="part-2/console.log"),
        TestResult("t#2", "t", 2, Verdict.PASS, exit_status=0, duration=0.5, lam="absent"),
        TestResult("k", "k", 1, Verdict.FAIL, "1 of 2 failed", 1,
                   subtests=[SubResult("a", Verdict.PASS), SubResult("b", Verdict.FAIL, "x")],
                   lam="absent"),
    ]
    return rec


def test_a_job_read_back_is_the_record_written() -> None:
    rec = _job()
    again = job_from_json(json.loads(json.dumps(rec.to_json())))
    assert again == rec
    assert again.results[0].oopses[0].console == "part-2/console.log"


def test_console_is_written_only_when_set() -> None:
    tests = _job().to_json()["tests"]
    assert tests[0]["console"] == "part-2/console.log"
    assert "console" not in tests[1]
    assert "console" in tests[0]["oopses"][0]


def test_an_iteration_without_test_folds_into_its_name() -> None:
    t = job_from_json({"name": "j", "tests": [{"name": "x#3", "verdict": "pass"}]}).results[0]
    assert (t.test, t.iteration, t.verdict) == ("x", 1, Verdict.PASS)


def test_every_field_the_writer_writes_is_declared(tmp_path: Path) -> None:
    """What RunStore writes has a declared type for every key (a field added
    to a record without the checker knowing would show here)."""
    store = RunStore.create(tmp_path, "it", {"config_file": "c.yaml", "config": {},
                                             "reproducer": "lam-harness run c.yaml",
                                             "host": {}, "versions": {}})
    store.jobs.append(_job())
    store.finish("failed", 1)
    data = json.loads((store.root / "run.json").read_text())
    assert data["schema"] == SCHEMA
    assert set(data) <= set(field_types(RunHeader))
    job = data["jobs"][0]
    assert set(job) <= set(field_types(JobRecord)) | set(JOB_EXTRA)
    for t in job["tests"]:
        assert set(t) <= set(field_types(TestResult))
        for o in t["oopses"]:
            assert set(o) <= set(field_types(OopsRef))
        for s in t["subtests"]:
            assert set(s) <= set(field_types(SubResult))
    assert header_from_json(data).status == "failed"


def test_field_types_are_json_types() -> None:
    assert field_types(OopsRef)["corrupted"] is bool
    assert field_types(OopsRef)["guilty_frame"] is str  # str | None
    assert field_types(TestResult)["verdict"] is str  # a StrEnum
    assert field_types(TestResult)["duration"] == (int, float)
    assert field_types(JobRecord)["tests"] is list and "results" not in field_types(JobRecord)


def _file(tmp_path: Path, data: dict[str, Any]) -> Path:
    f = tmp_path / "run.json"
    f.write_text(json.dumps(data))
    return f


def test_a_file_without_schema_is_version_1(tmp_path: Path) -> None:
    data = {"run_id": "r", "jobs": [{"name": "j", "status": "passed",
                                     "tests": [{"name": "t", "verdict": "pass"}]}]}
    f = _file(tmp_path, data)
    assert version(data, f) == 1
    runcheck.check(data, f)
    (tmp_path / "j").mkdir()
    assert [r.path for r in load_run(tmp_path).results.values()] == ["(boot)", "t"]
    assert header_from_json(data).schema == 1


@pytest.mark.parametrize(("value", "says"), [
    (2, "run.json schema 2 is not one this lam-harness reads (it reads 1): written by a "
        "newer lam-harness"),
    (0, "schema 0 is not one this lam-harness reads (it reads 1): written by another"),
    ("1", "run.schema: expected an integer, got str"),
    (True, "run.schema: expected an integer, got bool"),
    (None, "run.schema: expected an integer, got NoneType"),
])
def test_another_version_is_one_line(tmp_path: Path, value: Any, says: str) -> None:
    data = {"schema": value, "jobs": []}
    f = _file(tmp_path, data)
    with pytest.raises(RunJsonError) as e:
        runcheck.check(data, f)
    assert str(e.value).startswith(f"{f}: ") and says in str(e.value)
    assert "\n" not in str(e.value)
