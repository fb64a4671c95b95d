"""Output files are read within bounds: JUnit, HTML, KCIDB and the verdict
code never take a whole (up to 64 MiB) stdout into memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import exec as exec_mod
from harness.report import html, kcidb
from harness.results import junit

SIZE = 32 << 20


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("big") / "stdout"
    with open(p, "wb") as f:
        f.write(b"HEAD of the output\n")
        f.write(b"m" * SIZE)
        f.write(b"\n# SKIP the reason, at the TAIL\n")
    return p


def _peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_junit_output_keeps_head_and_tail_without_reading_it_all(big: Path) -> None:
    text, peak = _peak(lambda: junit._read(big))
    assert peak < 4 << 20
    assert text.startswith("HEAD of the output\n")
    assert text.endswith("# SKIP the reason, at the TAIL\n")
    assert "bytes not shown here]" in text and len(text) < junit.MAX_OUTPUT + 200


def test_kcidb_tail_read_is_bounded(big: Path) -> None:
    text, peak = _peak(lambda: kcidb._read(big, 4096, tail=True))
    assert peak < 4 << 20 and text.endswith("at the TAIL\n") and len(text) == 4096


def test_html_oops_read_is_bounded(big: Path) -> None:
    text, peak = _peak(lambda: html._read(big.parent, big.name))
    assert peak < 4 << 20 and text.startswith("HEAD") and "not shown here]" in text


def test_skip_reason_reads_the_tail_only(big: Path) -> None:
    reason, peak = _peak(lambda: exec_mod._skip_reason(big))
    assert peak < 4 << 20
    assert reason == "exit status 4 (kselftest skip): # SKIP the reason, at the TAIL"


def test_junit_failure_text_of_many_reports_is_bounded(tmp_path: Path) -> None:
    from harness.model import OopsRef, TestResult, Verdict
    from harness.results.schema import JobRecord

    (tmp_path / "job" / "w").mkdir(parents=True)
    refs = []
    for i in range(1, 101):
        (tmp_path / "job" / "w" / f"oops-{i}.txt").write_text(f"WARNING {i}\n" + "x" * 60_000)
        refs.append(OopsRef("WARNING in f", "WARNING", f"w/oops-{i}.txt", i, i))
    r = TestResult("w", "w", 1, Verdict.CRASH, reason="WARNING in f")
    r.oopses = refs
    job = JobRecord("job")
    job.results = [r]
    (case,) = junit.job_suite(job, tmp_path / "job").test_cases
    text = case.failures[0]["output"]
    assert text.startswith("WARNING 1\n") and len(text) < 5 * junit.MAX_OUTPUT
    assert text.endswith("more reports in their oops-N.txt files]")
