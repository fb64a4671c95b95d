"""``lam-harness merge DIR... --out DIR``: shard run folders joined into one run.

The merged folder is an ordinary run folder: run.json (jobs joined by name,
tests in config order, each test's files copied to ``<job>/<test>/`` as in an
unsharded run), junit.xml, and the report files.  Each shard's job-level files
(console.log, qemu.log, qemu.cmdline, build.log, boot oopses) go to
``<job>/shard-K/``; every test records its ``console`` (relative to the job
folder) so that oops line numbers still point into the right log.  Keys and
initramfs images are not copied.  Tests of the config that no shard ran are
recorded ``notrun``; a test two shards ran keeps the lower shard's result."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import EXIT_INFRA, EXIT_OK, EXIT_TEST_FAILED, UserError
from ..model import TestResult, Verdict
from ..pipeline import exit_code
from ..results.schema import SCHEMA, JobRecord, RunJsonError
from .runs import read_run_json
from .write import job_records

SKIP_FILES = {"initramfs.cpio"}
SKIP_DIRS = {"keys"}
JOB_STATUS_ORDER = ("interrupted", "error", "failed", "passed")


def find_runs(dirs: list[Path]) -> list[Path]:
    """Each DIR is a run folder, or a folder of run folders (a --results dir)."""
    out: list[Path] = []
    for d in dirs:
        if (d / "run.json").is_file():
            out.append(d)
            continue
        subs = sorted(p for p in d.iterdir() if (p / "run.json").is_file()) if d.is_dir() else []
        if not subs:
            raise UserError(f"merge: {d}: no run.json in it or in its subfolders")
        out += subs
    return out


def _shard_index(data: dict[str, Any], pos: int) -> int:
    s = data.get("shard") or {}
    return int(s.get("index") or pos + 1)  # an int: checked by runcheck


def _parse_time(s: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(s) if s else None
    except ValueError:
        return None


def _no_links_out(job_dir: Path) -> None:
    """A shard folder is untrusted: a symlink in it that leads out of its run
    folder would copy (or later show) a file from elsewhere; refused."""
    root = job_dir.parent.resolve()
    for folder, dirs, files in os.walk(job_dir):
        for n in dirs + files:
            p = Path(folder) / n
            if p.is_symlink() and not p.resolve().is_relative_to(root):
                raise RunJsonError(f"{p}: a symlink out of the run folder {job_dir.parent}")


def _copy_job(src: Path, dst: Path, shard_dir: str) -> None:
    """Test folders into ``dst``, job-level files into ``dst/shard_dir``."""
    if not src.is_dir():
        return
    _no_links_out(src)
    (dst / shard_dir).mkdir(parents=True, exist_ok=True)
    for p in sorted(src.iterdir()):
        if p.name in SKIP_FILES or p.name in SKIP_DIRS:
            continue
        if p.is_dir():
            if not (dst / p.name).exists():
                shutil.copytree(p, dst / p.name, symlinks=True)
        elif p.is_file():
            shutil.copy2(p, dst / shard_dir / p.name)


def merge(dirs: list[Path], out: Path) -> Path:
    runs = find_runs(dirs)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"merge: --out {out} exists and is not empty")
    loaded = [(p, read_run_json(p)) for p in runs]
    names = {str((d.get("config") or {}).get("name") or "") for _, d in loaded}
    if len(names) > 1:
        raise UserError(f"merge: runs of different configs: {', '.join(sorted(names))}")
    counts = {int((d.get("shard") or {}).get("count") or 0) for _, d in loaded} - {0}
    if len(counts) > 1:
        raise UserError(f"merge: shards of different splits (N = {sorted(counts)})")
    loaded.sort(key=lambda pd: (_shard_index(pd[1], 0), str(pd[0])))
    problems: list[str] = []
    indexes = [_shard_index(d, i) for i, (_, d) in enumerate(loaded)]
    if len(set(indexes)) != len(indexes):
        indexes = list(range(1, len(loaded) + 1))
        problems.append("shard indexes repeat: numbered in the order given")
    digests = {(d.get("shard") or {}).get("digest") for _, d in loaded} - {None}
    if len(digests) > 1:
        problems.append("the shards planned different splits (different --history?): some "
                        "tests may be missing or doubled")
    if counts and len(loaded) != next(iter(counts)):
        problems.append(f"{len(loaded)} shard folder(s) for a split into {next(iter(counts))}")

    first = loaded[0][1]
    config = first.get("config") or {}
    order = {t.get("name"): i for i, t in enumerate(config.get("tests") or [])}
    out.mkdir(parents=True, exist_ok=True)
    jobs: dict[str, dict[str, Any]] = {}
    shards_meta: list[dict[str, Any]] = []
    for (path, data), k in zip(loaded, indexes, strict=True):
        sd = f"shard-{k}"
        shards_meta.append({"index": k, "dir": str(path), "run_id": data.get("run_id"),
                            "status": data.get("status"), "exit_code": data.get("exit_code"),
                            "started": data.get("started"), "finished": data.get("finished"),
                            "elapsed_s": data.get("elapsed_s"),
                            "host": {k2: (data.get("host") or {}).get(k2)
                                     for k2 in ("kernel", "cpu_model", "cpu_lam")},
                            "tests": (data.get("shard") or {}).get("tests")})
        if data.get("error"):
            problems.append(f"{sd}: {data['error']}")
        for job in data.get("jobs", []):
            name = str(job.get("name"))
            _copy_job(path / name, out / name, sd)
            m = jobs.get(name)
            if m is None:
                m = jobs[name] = {**{k2: v for k2, v in job.items() if k2 != "tests"},
                                  "qemu_pid": None, "tests": [], "error": None,
                                  "notes": [], "boot_oopses": [], "consoles": [],
                                  "shards": [], "status": "passed"}
            m["consoles"].append(f"{sd}/console.log")
            m["shards"].append({"index": k, "status": job.get("status"),
                                "error": job.get("error"), "timings": job.get("timings"),
                                "accel": job.get("accel"),
                                "lam_status": (job.get("lam") or {}).get("status"),
                                "kernel_version": (job.get("kernel") or {}).get("version")})
            if job.get("error"):
                m["error"] = "; ".join(filter(None, [m["error"], f"{sd}: {job['error']}"]))
            m["notes"] += [f"{sd}: {n}" for n in job.get("notes") or []]
            for o in job.get("boot_oopses") or []:
                f = os.path.normpath(str(o.get("file", "")))
                m["boot_oopses"].append({**o, "file": f"{sd}/{f}",
                                         "console": f"{sd}/console.log"})
            have = {t.get("test") or t.get("name") for t in m["tests"]}
            mine = [t for t in job.get("tests", []) if (t.get("test") or t.get("name")) in have]
            if mine:
                problems.append(f"{sd}: {name}: ran tests another shard ran too (kept the "
                                f"first): {', '.join(sorted({str(t.get('name')) for t in mine}))}")
            for t in job.get("tests", []):
                if (t.get("test") or t.get("name")) in have:
                    continue
                m["tests"].append({**t, "console": f"{sd}/console.log"})
            ranks = [JOB_STATUS_ORDER.index(s) if s in JOB_STATUS_ORDER else 1
                     for s in (m["status"], job.get("status"))]
            m["status"] = JOB_STATUS_ORDER[min(ranks)]
    # Tests that no shard ran.
    ran = {(t.get("test") or t.get("name")) for j in jobs.values() for t in j["tests"]}
    planned = set()
    for _, d in loaded:
        planned |= set((d.get("shard") or {}).get("all_tests") or [])
    missing = sorted(planned - ran, key=lambda t: order.get(t, 1 << 30))
    if missing:
        why = "not run by any shard"
        problems.append(f"{why}: {', '.join(missing)}")
        name = str(config.get("name") or "job")
        m = jobs.setdefault(name, {**JobRecord(name, "error").to_json(), "consoles": [],
                                   "shards": []})
        m["tests"] += [TestResult(t, t, 1, Verdict.NOTRUN, why).to_json() for t in missing]
    for m in jobs.values():
        m["tests"].sort(key=lambda t: (order.get(t.get("test") or t.get("name"), 1 << 30),
                                       int(t.get("iteration") or 1)))
        verdicts = {t.get("verdict") for t in m["tests"]}
        if m["error"]:
            m["status"] = "error"
        elif verdicts & {"fail", "crash"}:
            m["status"] = "failed"
        elif "error" in verdicts:
            m["status"] = "error"

    starts = [t for t in (_parse_time(d.get("started")) for _, d in loaded) if t]
    ends = [t for t in (_parse_time(d.get("finished")) for _, d in loaded) if t]
    first_id = min(str(d.get("run_id") or p.name) for p, d in loaded)
    merged: dict[str, Any] = {
        k: v for k, v in first.items() if k not in ("jobs", "shard", "elapsed_s", "error")}
    merged.update({
        "schema": SCHEMA,  # read as this version whatever the shards said (all readable)
        "run_id": f"{first_id}-merged",
        "started": min(starts).isoformat() if starts else first.get("started"),
        "finished": max(ends).isoformat() if ends else first.get("finished"),
        "elapsed_s": max([float(d.get("elapsed_s") or 0) for _, d in loaded] + [0.0]),
        "reproducer": " ; ".join(str(d.get("reproducer") or "") for _, d in loaded),
        "merged_from": shards_meta, "merge_problems": problems, "merge_missing": missing,
        "jobs": list(jobs.values()),
    })
    code = exit_code(job_records(merged))
    if any(d.get("status") == "interrupted" for _, d in loaded):
        status = "interrupted"
    elif code == EXIT_OK and (missing or any(d.get("error") for _, d in loaded)):
        code, status = EXIT_INFRA, "error"
    else:
        status = {EXIT_OK: "passed", EXIT_TEST_FAILED: "failed"}.get(code, "error")
    merged.update(status=status, exit_code=code)
    tmp = out / ".run.json.tmp"
    tmp.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    os.replace(tmp, out / "run.json")
    return out
