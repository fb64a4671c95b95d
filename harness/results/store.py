"""The results folder: ``run.json`` written at the start and rewritten
atomically as the run goes, so a killed run still leaves a readable one.
Its layout (the records, the ``schema`` version) is ``results/schema.py``."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InfraError
from ..model import TestResult, Verdict
from ..parse.oops import normalize_title
from .schema import SCHEMA, JobRecord, lam_label


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# Weakest first: a job's LAM is only as strong as the weakest guest that ran it.
_LAM_RANK = {"": 0, "unknown": 0, "off": 1, "absent": 2, "available": 3}


def merge_lam(parts: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The LAM record of a job run in several guests (a runner pool): the
    part's own record when all agree, else the weakest status with
    ``source``/``label`` saying ``mixed: ...`` part by part, so emulated
    results are never labelled with another part's hardware."""
    if not parts:
        return {}
    labels = [(name, lam_label(lam)) for name, lam in parts]
    if len({lb for _, lb in labels}) == 1:
        return dict(parts[0][1])
    weakest = min((lam for _, lam in parts),
                  key=lambda lam: _LAM_RANK.get(str(lam.get("status") or ""), 0))
    by_label: dict[str, list[str]] = {}
    for name, lb in labels:
        by_label.setdefault(lb, []).append(name)
    mixed = "mixed: " + "; ".join(f"{lb} in {', '.join(names)}"
                                  for lb, names in by_label.items())
    reasons = [f"{name}: {r}" for name, lam in parts for r in lam.get("reasons") or []]
    return {"policy": parts[0][1].get("policy"), "status": weakest.get("status"),
            "source": "mixed", "label": mixed, "reasons": reasons,
            "parts": [{"part": name, "status": lam.get("status"), "source": lam.get("source"),
                       "label": lb} for (name, lam), (_, lb) in zip(parts, labels, strict=True)]}


def finished_status(error: str | None, results: list[TestResult]) -> str:
    """A finished job's status from its error and its results."""
    if error:
        return "error"
    if any(r.verdict.is_bad for r in results):
        return "failed"
    if any(r.verdict is Verdict.ERROR for r in results):
        return "error"
    return "passed"


def write_error(folder: Path, e: OSError) -> InfraError:
    """A results folder that cannot take a write (full, read-only, gone): one
    line naming the folder and the errno, an infrastructure error."""
    return InfraError(f"results folder {folder}: cannot write: {e.strerror or e}")


class RunStore:
    def __init__(self, root: Path, meta: dict[str, Any]) -> None:
        self.root = root
        self.meta = meta
        self.jobs: list[JobRecord] = []
        self.t0 = time.monotonic()
        # run.json is written from the main thread and from a pooled job's
        # part threads: one writer at a time, each through a temp file of its
        # own (two writers of one temp file: the second os.replace finds it
        # gone, FileNotFoundError)
        self._save_lock = threading.RLock()

    @staticmethod
    def create(results_dir: Path, name: str, meta: dict[str, Any]) -> RunStore:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
        try:
            results_dir.mkdir(parents=True, exist_ok=True)
            for n in range(1000):
                root = results_dir / (f"{stamp}-{safe}" + (f"-{n}" if n else ""))
                try:
                    root.mkdir()
                    break
                except FileExistsError:
                    continue
            store = RunStore(root, {"schema": SCHEMA, "run_id": root.name, "started": _now(),
                                    "status": "running", **meta})
            store.save()
        except OSError as e:
            raise write_error(results_dir, e) from None
        return store

    def job(self, name: str) -> JobRecord:
        j = JobRecord(name)
        self.jobs.append(j)
        self.job_dir(name).mkdir(parents=True, exist_ok=True)
        self.save()
        return j

    def job_dir(self, name: str) -> Path:
        return self.root / name

    def to_json(self) -> dict[str, Any]:
        d = dict(self.meta)
        d["elapsed_s"] = round(time.monotonic() - self.t0, 3)
        d["jobs"] = [j.to_json() for j in self.jobs]
        d["oops_titles"] = oops_titles(self.jobs)
        return d

    def save(self) -> None:
        with self._save_lock:
            tmp = self.root / f".run.json.{os.getpid()}.{threading.get_ident()}.tmp"
            try:
                tmp.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")
                os.replace(tmp, self.root / "run.json")
            finally:
                tmp.unlink(missing_ok=True)

    def finish(self, status: str, exit_code: int) -> None:
        self.meta.update(status=status, exit_code=exit_code, finished=_now())
        self.save()


def oops_titles(jobs: list[JobRecord]) -> list[dict[str, Any]]:
    """Every distinct oops title of the run (normalized, so the same bug is one
    issue however often it fired), with its count, the tests it hit, and the
    first report's file: the run's list of unique crashes."""
    seen: dict[str, dict[str, Any]] = {}
    for j in jobs:
        refs: list[tuple[str, Any]] = [("(boot)", o) for o in j.boot_oopses]
        refs += [(r.name, o) for r in j.results for o in r.oopses]
        for test, o in refs:
            title = normalize_title(str(_field(o, "title")))
            e = seen.get(title)
            if e is None:
                e = seen[title] = {"title": title, "kind": _field(o, "kind"), "count": 0,
                                   "tests": [], "first": f"{j.name}/{_field(o, 'file')}"}
            e["count"] += 1
            if test not in e["tests"]:
                e["tests"].append(test)
    return list(seen.values())


def _field(o: Any, key: str) -> Any:
    return o.get(key) if isinstance(o, dict) else getattr(o, key, None)
