"""Synthetic run folders (run.json + the files it names) for report tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Spec = str | tuple[str, str] | list[str | tuple[str, str]]


def _test(name: str, test: str, it: int, v: str | tuple[str, str], job_dir: Path,
          duration: float) -> dict[str, Any]:
    verdict, title = (v, "") if isinstance(v, str) else v
    rel = name.replace("#", "-")
    (job_dir / rel).mkdir(parents=True, exist_ok=True)
    (job_dir / rel / "stdout").write_text(f"output of {name}\n")
    (job_dir / rel / "stderr").write_text("")
    oopses = []
    if verdict == "crash":
        title = title or "kernel panic: sysrq triggered crash"
        header = title.replace("kernel panic: ", "Kernel panic - not syncing: ", 1)
        (job_dir / rel / "oops-1.txt").write_text(f"{header}\nCall Trace:\n dummy+0x1/0x2\n")
        oopses = [{"title": title, "kind": "panic", "file": f"{rel}/oops-1.txt",
                   "first_line": 10, "last_line": 12, "corrupted": False}]
    return {"name": name, "test": test, "iteration": it, "verdict": verdict,
            "reason": title or ("exit status 1" if verdict == "fail" else ""),
            "exit_status": 1 if verdict == "fail" else 0, "duration": duration,
            "stdout": f"{rel}/stdout", "stderr": f"{rel}/stderr", "oopses": oopses,
            "subtests": [], "notes": []}


def make_run(results: Path, run_id: str, tests: dict[str, Spec], *, name: str = "it",
             started: str | None = None, kernel: str = "6.12.1", status: str | None = None,
             durations: dict[str, float] | None = None, job_error: str | None = None,
             config: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> Path:
    """``tests``: name -> verdict, (verdict, oops title), or a list of those
    (iterations, named t#1..t#N)."""
    root = results / run_id
    job_dir = root / name
    job_dir.mkdir(parents=True)
    (job_dir / "console.log").write_text("Linux version 6.12\n" * 20)
    recs: list[dict[str, Any]] = []
    for t, spec in tests.items():
        d = (durations or {}).get(t, 1.0)
        if isinstance(spec, list):
            recs += [_test(f"{t}#{i}", t, i, v, job_dir, d / len(spec))
                     for i, v in enumerate(spec, 1)]
        else:
            recs.append(_test(t, t, 1, spec, job_dir, d))
    bad = any(r["verdict"] in ("fail", "crash") for r in recs)
    cfg = {"name": name, "kernel": {"debian": "linux-image-6.12.*-cloud-amd64-unsigned",
                                    "patches": [], "config": None},
           "machine": {"accel": "auto", "cpu": None, "lam": "auto", "smp": 2, "memory": "1G",
                       "cmdline": ""},
           "tests": [{"name": t} for t in tests], **(config or {})}
    data = {"schema": 1, "run_id": run_id,
            "started": started or f"2026-11-{run_id[6:8]}T02:00:00+00:00",
            "status": status or ("error" if job_error else "failed" if bad else "passed"),
            "exit_code": 3 if job_error else 1 if bad else 0,
            "config": cfg, "host": {"kernel": "host", "cpu_model": "cpu"},
            "jobs": [{"name": name, "status": "error" if job_error else "passed",
                      "error": job_error, "qemu_pid": 1,
                      "accel": {"accel": "tcg", "reason": "x", "cpu": "max"},
                      "lam": {"status": "absent"},
                      "kernel": {"origin": "debian", "version": kernel},
                      "timings": {"qemu_start_to_ssh_s": 2.0}, "notes": [], "boot_oopses": [],
                      "tests": recs}],
            **(extra or {})}
    (root / "run.json").write_text(json.dumps(data, indent=2))
    return root
