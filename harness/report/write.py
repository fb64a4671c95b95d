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

from ..results import junit
from ..results.schema import JobRecord, job_from_json
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
    return [job_from_json(j) for j in data.get("jobs") or []]


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
