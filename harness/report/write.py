"""The report of a run folder: compare.json, kcidb.json, summary.txt,
summary.html, and junit.xml rewritten with known failures skipped.  Every
file is a function of run.json (and the baseline, history and known-issues
inputs), so a report can be made again at any time with other inputs."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import OopsRef, SubResult, TestResult, Verdict
from ..results import junit
from ..results.store import JobRecord
from . import html, kcidb, known, text
from .compare import KNOWN, Comparison, classify
from .runs import RunView, load_history, load_run

FILES = ("compare.json", "kcidb.json", "summary.txt", "summary.html", "junit.xml")
DEFAULT_WINDOW = 10


@dataclass
class Inputs:
    """What a run is compared with; loaded (and so checked) before a run starts."""

    baseline: RunView | None = None
    history_dir: Path | None = None
    known: known.KnownFile | None = None
    window: int = DEFAULT_WINDOW

    @staticmethod
    def load(baseline: str | None, history: str | None, known_file: str | None,
             window: int = DEFAULT_WINDOW) -> Inputs:
        hist = Path(history) if history else None
        if hist is not None:
            load_history(hist)  # checks the folder exists
        return Inputs(load_run(Path(baseline)) if baseline else None, hist,
                      known.load(Path(known_file)) if known_file else None, window)


def compare_run(run_dir: Path, inputs: Inputs, today: dt.date | None = None) -> Comparison:
    run = load_run(run_dir)
    history: list[RunView] = []
    if inputs.history_dir is not None:
        history = load_history(inputs.history_dir, exclude={run.run_id},
                               related_to=run.job_keys or None, window=inputs.window)
    return classify(run, inputs.baseline, history, inputs.known, today)


def _atomic(path: Path, content: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)


def job_records(data: dict[str, Any]) -> list[JobRecord]:
    """run.json's jobs back as the records the JUnit writer takes."""
    out = []
    for j in data.get("jobs", []):
        rec = JobRecord(str(j.get("name")), str(j.get("status", "")), j.get("error"),
                        j.get("qemu_pid"), j.get("accel") or {}, j.get("lam") or {},
                        j.get("kernel") or {}, j.get("timings") or {}, list(j.get("notes") or []),
                        list(j.get("boot_oopses") or []))
        for t in j.get("tests", []):
            rec.results.append(TestResult(
                str(t["name"]), str(t.get("test") or t["name"]), int(t.get("iteration") or 1),
                Verdict(t.get("verdict", "error")), str(t.get("reason") or ""),
                t.get("exit_status"), float(t.get("duration") or 0.0), str(t.get("stdout") or ""),
                str(t.get("stderr") or ""),
                [OopsRef(str(o.get("title", "")), str(o.get("kind", "")), str(o.get("file", "")),
                         int(o.get("first_line") or 0), int(o.get("last_line") or 0),
                         bool(o.get("corrupted"))) for o in t.get("oopses") or []],
                [SubResult(str(s.get("name")), Verdict(s.get("verdict", "error")),
                           str(s.get("reason") or "")) for s in t.get("subtests") or []],
                list(t.get("notes") or []), lam=str(t.get("lam") or "")))
        out.append(rec)
    return out


def waived(cmp: Comparison) -> dict[tuple[str, str], str]:
    """JUnit testcases of known failures -> the skip message."""
    out: dict[tuple[str, str], str] = {}
    for c in cmp.items:
        if c.cls == KNOWN and c.known is not None:
            msg = f"{c.known.reason} ({c.known.link}) [{c.known.id}]"
            for name in c.result.names:
                out[(c.result.job.name, name)] = msg
    return out


def write_report(cmp: Comparison, fail_on: str | None = None) -> dict[str, Path]:
    root = cmp.run.dir
    paths = {name: root / name for name in FILES}
    _atomic(paths["compare.json"], json.dumps(cmp.to_json(fail_on), indent=2) + "\n")
    _atomic(paths["kcidb.json"], json.dumps(kcidb.to_kcidb(cmp), indent=2) + "\n")
    _atomic(paths["summary.txt"], text.summary(cmp, fail_on))
    _atomic(paths["summary.html"], html.render(cmp, fail_on))
    junit.write(job_records(cmp.run.data), root, waived(cmp))
    return paths


def report(run_dir: Path, inputs: Inputs, fail_on: str | None = None,
           today: dt.date | None = None) -> tuple[Comparison, int]:
    """Compare, write every report file; the exit code per ``fail_on``
    (``any`` when None)."""
    cmp = compare_run(run_dir, inputs, today)
    write_report(cmp, fail_on)
    return cmp, cmp.exit_code(fail_on or "any")
