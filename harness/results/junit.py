"""JUnit XML with junit-xml: one testsuite per job, one testcase per test
(per iteration where repeated).  crash and fail are failures carrying the
title and text, skip and notrun are skipped with the reason, infrastructure
problems are errors.  Known failures (``waived``: from a known-issues file,
see harness/report/) become skipped with the issue's reason, the failure
text kept as the skip's output."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from junit_xml import TestCase, TestSuite, to_xml_report_string

from ..bounded import read_bounded
from ..model import Verdict
from .schema import JobRecord, lam_label

MAX_OUTPUT = 64 * 1024


def _read(path: Path, limit: int = MAX_OUTPUT) -> str:
    """At most ``limit`` bytes: the head and tail of a longer file, a marker between."""
    try:
        data = read_bounded(path, limit)
    except OSError:
        return ""
    return data.decode("utf-8", "replace")


def _reports_text(job_dir: Path, files: list[str], budget: int = 4 * MAX_OUTPUT) -> str:
    """The reports' text for a failure, at most about ``budget`` bytes (a
    flood of WARNINGs keeps up to limits.max_reports files)."""
    parts: list[str] = []
    for n, f in enumerate(files):
        if budget <= 0:
            parts.append(f"[lam-harness: {len(files) - n} more reports in their oops-N.txt files]")
            break
        text = _read(job_dir / f, min(MAX_OUTPUT, budget))
        parts.append(text)
        budget -= len(text.encode())
    return "\n".join(parts)


def waive(tc: TestCase, message: str) -> None:
    """A known failure or error: skipped with ``message``, the failure kept as output."""
    was = tc.failures + tc.errors
    if not was:
        return
    text = "\n".join(f"{w.get('message') or ''}\n{w.get('output') or ''}".strip() for w in was)
    tc.failures, tc.errors = [], []
    tc.add_skipped_info(message=f"known issue: {message}", output=text or None)


def job_suite(job: JobRecord, job_dir: Path,
              waived: Mapping[tuple[str, str], str] | None = None) -> TestSuite:
    """``waived``: (job name, testcase name) -> message, for known failures."""
    cases: list[TestCase] = []
    if job.error:
        boot = TestCase("boot", classname=job.name, elapsed_sec=job.timings.get("boot_s"))
        boot.add_error_info(message=job.error, error_type="infrastructure")
        cases.append(boot)
    suite_lam = lam_label(job.lam) if job.lam else ""
    for r in job.results:
        out = _read(job_dir / r.stdout) if r.stdout else None
        r_lam = job.result_lam(r)
        if r_lam and r_lam != suite_lam:
            # A pool of runners: the suite's LAM is "mixed"; each testcase
            # says which LAM the guest that ran it had.
            out = f"[lam-harness] LAM of the guest that ran this test: {r_lam}\n" + (out or "")
        tc = TestCase(r.name, classname=job.name, elapsed_sec=r.duration,
                      stdout=out,
                      stderr=_read(job_dir / r.stderr) if r.stderr else None)
        if r.verdict is Verdict.CRASH:
            text = _reports_text(job_dir, [o.file for o in r.oopses])
            tc.add_failure_info(message=f"crash: {r.reason}", output=text, failure_type="crash")
        elif r.verdict is Verdict.FAIL:
            tc.add_failure_info(message=r.reason, failure_type="fail")
        elif r.verdict is Verdict.SKIP:
            tc.add_skipped_info(message=r.reason)
        elif r.verdict is Verdict.NOTRUN:
            tc.add_skipped_info(message=f"not run: {r.reason}")
        elif r.verdict is Verdict.ERROR:
            tc.add_error_info(message=r.reason, error_type="infrastructure")
        cases.append(tc)
        for sub in r.subtests:
            st = TestCase(f"{r.name} / {sub.name}", classname=f"{job.name}.{r.name}")
            if sub.verdict is Verdict.FAIL:
                st.add_failure_info(message=sub.reason or "not ok", failure_type="fail")
            elif sub.verdict is Verdict.SKIP:
                st.add_skipped_info(message=sub.reason or "skipped")
            cases.append(st)
    if waived:
        for tc in cases:
            msg = waived.get((job.name, tc.name))
            if msg is not None:
                waive(tc, msg)
    lam = lam_label(job.lam) if job.lam else None
    props = {k: str(v) for k, v in (("accel", job.accel.get("accel")),
                                     ("lam", lam),
                                     ("kernel", job.kernel.get("origin"))) if v}
    return TestSuite(job.name, cases, properties=props)


def write(jobs: list[JobRecord], root: Path,
          waived: Mapping[tuple[str, str], str] | None = None) -> Path:
    suites = [job_suite(j, root / j.name, waived) for j in jobs]
    out = root / "junit.xml"
    tmp = root / ".junit.xml.tmp"
    tmp.write_text(to_xml_report_string(suites, encoding="utf-8"), encoding="utf-8")
    tmp.replace(out)
    return out
