#!/usr/bin/env python3
"""Boot and SSH figures for the run pipeline, as JSON on stdout.

For each of --runs boots (default 5) of the same kernel and initramfs:
  (a) QEMU start -> readiness marker on the serial console (through the harness)
  (b) QEMU start -> first successful SSH command (`true`)
and, in the last booted guest, (c) the round trip of a trivial SSH exec
(`true` on the open transport), median of --execs (default 50).
Reference, measured in the same run: QEMU started by hand with the same
command line but the console on stdio, to the same marker (no harness).
Ratios: b/a (target <= 1.2) and a/reference.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import config, progress  # noqa: E402
from harness.pipeline import Paths, boot  # noqa: E402
from harness.vm import hostinfo  # noqa: E402

CONFIG = """\
name: bench
kernel: {debian: "linux-image-6.12.*-cloud-amd64-unsigned"}
machine: {accel: auto, smp: 2, memory: 1G, boot_timeout: 120}
"""


def stats(xs: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(xs), 4), "min": round(min(xs), 4),
            "max": round(max(xs), 4), "n": len(xs)}


def reference_boot(argv: list[str], marker: str) -> float:
    """QEMU alone: the harness's command line with the console on stdio,
    read until the same readiness marker."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    assert p.stdout is not None
    buf = b""
    try:
        while marker.encode() not in buf:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError("QEMU exited before the marker")
            buf = buf[-4096:] + chunk
        return time.monotonic() - t0
    finally:
        p.kill()
        p.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--execs", type=int, default=50)
    args = ap.parse_args()
    progress.quiet = True
    work = Path(tempfile.mkdtemp(prefix="lamh-bench-"))
    cfg_path = work / "bench.yaml"
    cfg_path.write_text(CONFIG)
    cfg = config.load(cfg_path)
    paths = Paths(Path(os.environ.get("HARNESS_KERNELS", ROOT / "kernels")), work / "results")
    facts = hostinfo.probe()
    ready, first_ssh, refs, execs = [], [], [], []
    accel = None
    for run in range(args.runs):
        job_dir = work / f"run{run}"
        with boot(cfg, job_dir, paths, facts) as b:
            t_start = b.machine.timings.started
            ready.append(b.machine.timings.ready or 0.0)
            o = b.guest.run("true", io.BytesIO(), io.BytesIO(), 30, b.machine.alive)
            assert o.status == 0, o
            first_ssh.append(time.monotonic() - t_start)
            accel = b.machine.inv.accel.accel
            inv = dataclasses.replace(b.machine.inv, qmp_sock=work / "ref-qmp.sock")
            argv = inv.argv(console_stdio=True)
            if run == args.runs - 1:
                for _ in range(args.execs):
                    t0 = time.perf_counter()
                    o = b.guest.run("true", io.BytesIO(), io.BytesIO(), 30, b.machine.alive,
                                    poll=0.05)
                    execs.append(time.perf_counter() - t0)
                    assert o.status == 0
            marker = b.machine.ready_line
        refs.append(reference_boot(argv, marker))
    a, bb, ref = stats(ready), stats(first_ssh), stats(refs)
    out = {
        "kernel": "debian linux-image-6.12 cloud",
        "accel": accel,
        "runs": args.runs,
        "a_qemu_start_to_ready_s": a,
        "b_qemu_start_to_first_ssh_s": bb,
        "c_trivial_ssh_exec_ms": {k: (round(v * 1000, 2) if k != "n" else v)
                                  for k, v in stats(execs).items()},
        "reference_qemu_alone_to_ready_s": ref,
        "ratio_b_over_a": round(bb["median"] / a["median"], 3),
        "ratio_a_over_reference": round(a["median"] / ref["median"], 3),
        "targets": {"ratio_b_over_a_max": 1.2, "c_trivial_ssh_exec_ms_max": 30},
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
