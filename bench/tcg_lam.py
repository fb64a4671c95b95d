#!/usr/bin/env python3
"""Cost of LAM emulated in TCG, as JSON on stdout.

The kernel of configs/lam-tcg.yaml (Debian 6.12 + lam-repro, lam-guest.config)
booted under TCG with three QEMUs, --runs times each:
  stock          Debian's qemu-system-x86_64, -cpu max
  patched_off    QEMU with patches/qemu/tcg-lam, -cpu max,-la57 (no LAM)
  patched_lam    the same with +lam (LAM offered; the workload process does not
                 enable it, so this is the cost of having it, not of masking)
Figures: QEMU start to first SSH command, and a memory-heavy guest workload
(512 MiB through a pipe into md5sum), timed on the host. For patched_lam also
the LAM-active workload: lam_repro_loop_64 50 (50 processes enabling LAM and
migrating). Ratios against stock, measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import config, progress  # noqa: E402
from harness.pipeline import Paths, boot  # noqa: E402
from harness.vm import hostinfo  # noqa: E402

WORKLOAD = "dd if=/dev/zero bs=1M count=512 2>/dev/null | md5sum"
VARIANTS = {
    "stock": "{accel: tcg, cpu: max, lam: off, boot_timeout: 180}",
    "patched_off": ("{accel: tcg, cpu: 'max,-la57', lam: off, boot_timeout: 180, "
                    "qemu: {debian: qemu, patches: [ROOT/patches/qemu/tcg-lam]}}"),
    "patched_lam": ("{accel: tcg, cpu: 'max,-la57', lam: required, boot_timeout: 180, "
                    "qemu: {debian: qemu, patches: [ROOT/patches/qemu/tcg-lam]}}"),
}


def med(xs: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(xs), 3), "min": round(min(xs), 3),
            "max": round(max(xs), 3), "n": len(xs)}


def timed(b: object, cmd: str) -> float:
    guest = b.guest  # type: ignore[attr-defined]
    alive = b.machine.alive  # type: ignore[attr-defined]
    t0 = time.monotonic()
    o = guest.run(cmd, io.BytesIO(), io.BytesIO(), 600, alive)
    assert o.status == 0, (cmd, o)
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    progress.quiet = True
    work = Path(tempfile.mkdtemp(prefix="lamh-bench-tcg-"))
    kernel = (ROOT / "configs" / "lam-tcg.yaml").read_text().split("machine:")[0]
    kernel = kernel.replace("patches/", f"{ROOT}/patches/").replace(
        "configs/kconfig", f"{ROOT}/configs/kconfig")
    paths = Paths(Path(os.environ.get("HARNESS_KERNELS", ROOT / "kernels")), work / "results")
    facts = hostinfo.probe()
    out: dict[str, object] = {"workload": WORKLOAD, "runs": args.runs}
    results: dict[str, dict[str, list[float]]] = {}
    for name, machine in VARIANTS.items():
        p = work / f"{name}.yaml"
        p.write_text(kernel.replace("name: lam-tcg", f"name: {name}")
                     + f"machine: {machine.replace('ROOT', str(ROOT))}\n")
        cfg = config.load(p)
        r: dict[str, list[float]] = {"boot_to_ssh_s": [], "workload_s": []}
        if name == "patched_lam":
            r["lam_active_workload_s"] = []
        for i in range(args.runs):
            with boot(cfg, work / f"{name}-{i}", paths, facts) as b:
                r["boot_to_ssh_s"].append(time.monotonic() - b.machine.timings.started)
                r["workload_s"].append(timed(b, WORKLOAD))
                if name == "patched_lam":
                    r["lam_active_workload_s"].append(
                        timed(b, "/opt/selftests/x86/lam_repro_loop_64 50 >/dev/null"))
        results[name] = r
        out[name] = {k: med(v) for k, v in r.items()}
    s = statistics.median
    out["ratios_vs_stock"] = {
        f"{n}_{k}": round(s(results[n][k]) / s(results["stock"][k]), 3)
        for n in ("patched_off", "patched_lam") for k in ("boot_to_ssh_s", "workload_s")}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
