"""KCIDB-style JSON (``kcidb.json``): checkouts, builds, tests, and the known
issues with their incidents, following KCIDB I/O schema v4.3 field names, so
that a submitter only has to rewrite the relative ``*_url`` fields with the
artifacts' base URL before ``kcidb-submit``.

Statuses are KCIDB's (FAIL > ERROR > MISS > PASS > DONE > SKIP): crash and fail
are FAIL, error is ERROR, notrun is MISS, pass is PASS, skip is SKIP.  A known
failure stays FAIL with ``waived: true`` (KCIDB has no XFAIL) and an incident
ties it to its issue.  One KCIDB test per test path (iterations folded, their
counts in ``misc``); ``log_excerpt`` holds the oops text (or the output's tail
for a plain failure), at most 16 KiB."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from ..results.schema import lam_label
from .compare import GONE, KNOWN, Comparison
from .runs import BOOT, KCIDB_STATUS, JobView, Result

ORIGIN = "lam_harness"
VERSION = {"major": 4, "minor": 3}
EXCERPT_MAX = 16 * 1024


def _id(*parts: str) -> str:
    local = ":".join(parts)
    # KCIDB ids are "origin:local"; keep the local part readable, but bounded.
    local = re.sub(r"[^A-Za-z0-9_.:#/+-]", "_", local)
    if len(local) > 200:
        local = local[:150] + "-" + hashlib.sha256(local.encode()).hexdigest()[:16]
    return f"{ORIGIN}:{local}"


def _read(path: Path, limit: int, tail: bool = False) -> str:
    try:
        with open(path, "rb") as f:
            if tail:
                size = os.fstat(f.fileno()).st_size
                f.seek(max(0, size - limit))
            data = f.read(limit)
    except OSError:
        return ""
    return data.decode("utf-8", "ignore")


def excerpt(run_dir: Path, r: Result) -> str:
    """The oops text (whole reports first), else the tail of stdout/stderr;
    at most EXCERPT_MAX bytes of UTF-8."""
    parts: list[str] = []
    budget = EXCERPT_MAX
    for o in r.oopses:
        if not o.file or budget <= 0:
            continue
        text = _read(run_dir / o.file, budget)
        parts.append(text)
        budget -= len(text.encode())
    if not parts:
        for f in r.outputs:
            text = _read(run_dir / f, 4096, tail=True)
            if text.strip():
                parts.append(f"--- {Path(f).name} ---\n{text}")
        if not parts and r.reason:
            parts.append(r.reason)
    out = "\n".join(parts).encode()
    return out[:EXCERPT_MAX].decode("utf-8", "ignore")


def _checkout(job: JobView, run_cfg: dict[str, Any]) -> dict[str, Any]:
    build = (job.record.get("kernel") or {}).get("build") or {}
    k = (run_cfg.get("kernel") or {})
    src = k.get("source") or {}
    ident = job.identity
    c: dict[str, Any] = {"id": _id("checkout", ident.kernel, *ident.patches,
                                   str(build.get("source") or job.kernel_version)),
                         "origin": ORIGIN, "valid": True}
    if src.get("git"):
        c["tree_name"] = Path(str(src["git"])).name
        if src.get("ref"):
            c["git_commit_name"] = str(src["ref"])
        m = re.search(r"\b([0-9a-f]{40})\b", str(build.get("source") or ""))
        if m:
            c["git_commit_hash"] = m.group(1)
    else:
        c["tree_name"] = ident.kernel.split(":", 1)[0]
    patches = [str(p) for p in build.get("patches") or []]
    if patches:
        c["patchset_files"] = [{"name": Path(p).name, "url": Path(p).name} for p in patches]
        # KCIDB: sha256 over each patch's sha256 hex digest, each followed by "\n".
        digests: list[str] = []
        for p in patches:
            try:
                digests.append(hashlib.sha256(Path(p).read_bytes()).hexdigest())
            except OSError:
                digests = []
                break
        if digests:
            c["patchset_hash"] = hashlib.sha256(
                "".join(d + "\n" for d in digests).encode()).hexdigest()
    c["misc"] = {"kernel": ident.kernel, "source": build.get("source"),
                 "patches": list(ident.patches)}
    return c


def _build(job: JobView, run_id: str, started: str, checkout_id: str) -> dict[str, Any]:
    rec = job.record
    kernel = rec.get("kernel") or {}
    build = kernel.get("build") or {}
    b: dict[str, Any] = {"id": _id(run_id, job.name, "build"), "origin": ORIGIN,
                         "checkout_id": checkout_id, "architecture": "x86_64",
                         "valid": bool(kernel.get("bzimage")) or not rec.get("error"),
                         "misc": {"kernel_version": job.kernel_version,
                                  "origin": kernel.get("origin"), "cache_key": build.get("key"),
                                  "cache_hit": build.get("hit")}}
    if started:
        b["start_time"] = started
    if job.identity.kconfig:
        b["config_name"] = job.identity.kconfig
    if build:
        b["log_url"] = f"{job.dir}/build.log"
    return b


def _path(r: Result) -> str:
    if r.path == BOOT:
        return "boot"
    return ".".join(re.sub(r"[^A-Za-z0-9_-]", "_", p.strip()) for p in r.path.split(" / "))


def to_kcidb(cmp: Comparison) -> dict[str, Any]:
    run = cmp.run
    cfg = run.data.get("config") or {}
    checkouts: dict[str, dict[str, Any]] = {}
    builds: list[dict[str, Any]] = []
    build_of: dict[str, str] = {}
    for job in run.jobs:
        co = _checkout(job, cfg)
        checkouts.setdefault(co["id"], co)
        b = _build(job, run.run_id, run.started, co["id"])
        builds.append(b)
        build_of[job.identity.key] = b["id"]
    jobs = {j.identity.key: j for j in run.jobs}
    tests: list[dict[str, Any]] = []
    issues: dict[str, dict[str, Any]] = {}
    incidents: list[dict[str, Any]] = []
    for c in cmp.items:
        if c.cls == GONE:
            continue
        r = c.result
        job = jobs[r.job.key]
        status = KCIDB_STATUS.get(r.verdict, "ERROR")
        t: dict[str, Any] = {
            "id": _id(run.run_id, job.name, r.path), "build_id": build_of[r.job.key],
            "origin": ORIGIN, "path": _path(r), "status": status,
            "waived": c.cls == KNOWN, "duration": round(r.duration, 3),
            "environment": {"comment": _environment(job),
                            "misc": {"accel": (job.record.get("accel") or {}).get("accel"),
                                     "lam": r.lam or lam_label(job.record.get("lam") or {})}},
            "misc": {"name": r.path, "job": job.name, "key": r.key, "class": c.cls,
                     "iterations": r.runs, "failed_iterations": r.bad,
                     "titles": list(r.titles)},
        }
        if run.started:
            t["start_time"] = run.started
        if r.reason:
            t["comment"] = f"{r.path}: {r.reason}"[:1000]
        if r.console:
            t["log_url"] = r.console
        if status in ("FAIL", "ERROR"):
            t["log_excerpt"] = excerpt(run.dir, r)
        files = [{"name": Path(o.file).name, "url": o.file} for o in r.oopses if o.file]
        files += [{"name": Path(f).name, "url": f} for f in r.outputs]
        if files:
            t["output_files"] = files
        tests.append(t)
        if c.cls == KNOWN and c.known is not None:
            iid = _id("known", str(c.known.id))
            issues.setdefault(iid, {
                "id": iid, "version": 1, "origin": ORIGIN, "report_url": c.known.link,
                "report_subject": c.known.reason, "culprit": {"code": True},
                "comment": c.known.reason,
                "misc": {k: v for k, v in c.known.to_json().items() if k not in ("where",)}})
            incidents.append({"id": _id(run.run_id, "incident", str(c.known.id), r.path),
                              "origin": ORIGIN, "issue_id": iid, "issue_version": 1,
                              "test_id": t["id"], "present": True})
    return {"version": VERSION, "checkouts": list(checkouts.values()), "builds": builds,
            "tests": tests, "issues": list(issues.values()), "incidents": incidents}


def _environment(job: JobView) -> str:
    acc = job.record.get("accel") or {}
    lam = job.record.get("lam") or {}
    lam_s = lam_label(lam)
    return f"QEMU {acc.get('accel', '?')}, -cpu {acc.get('cpu', '?')}, LAM {lam_s}"
