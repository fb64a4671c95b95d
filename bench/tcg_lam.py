#!/usr/bin/env python3
"""Cost of LAM emulated in TCG, as JSON on stdout.

The kernel of configs/lam-tcg.yaml (Debian 6.12 + lam-uapi + lam-repro,
lam-guest.config) booted under TCG with three QEMU setups, --runs times each:
  stock          Debian's qemu-system-x86_64, -cpu max
  patched_off    QEMU with patches/qemu/tcg-lam, -cpu max (no LAM offered)
  patched_lam    the same with -cpu max,+lam,enforce
Figures: QEMU start to first SSH command, and a memory-heavy guest workload,
bench/guest/memload.c (built static on the host, shipped as a payload), that
reads and writes every word of a 256 MiB buffer 7 times, timed on the
host around the SSH exec:
  workload_s             LAM not enabled by the process (every setup)
  lam_on_untagged_s      patched_lam: LAM_U57 enabled, plain pointers
  lam_on_tagged_s        patched_lam: LAM_U57 enabled, every access tagged
The ratios compare medians measured in the same run: patched vs stock (the
cost of having the patch), and LAM active vs LAM off on the same boot (the
cost of masking).
"""

from __future__ import annotations

import argparse
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

MEMLOAD = "/opt/bench/memload {mode} 256 6"
VARIANTS = {
    "stock": "{accel: tcg, cpu: max, lam: 'off', boot_timeout: 180}",
    "patched_off": ("{accel: tcg, cpu: max, lam: 'off', boot_timeout: 180, "
                    "qemu: {debian: qemu, patches: [ROOT/patches/qemu/tcg-lam]}}"),
    "patched_lam": ("{accel: tcg, cpu: max, lam: required, boot_timeout: 180, "
                    "qemu: {debian: qemu, patches: [ROOT/patches/qemu/tcg-lam]}}"),
}
LAM_MODES = {"lam_on_untagged_s": 1, "lam_on_tagged_s": 2}


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
    (work / "payload").mkdir()
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o", str(work / "payload" / "memload"),
                    str(ROOT / "bench" / "guest" / "memload.c")], check=True)
    kernel = (ROOT / "configs" / "lam-tcg.yaml").read_text().split("machine:")[0]
    kernel = kernel.replace("patches/", f"{ROOT}/patches/").replace(
        "configs/kconfig", f"{ROOT}/configs/kconfig")
    paths = Paths(Path(os.environ.get("HARNESS_KERNELS", ROOT / "kernels")), work / "results")
    facts = hostinfo.probe()
    out: dict[str, object] = {"workload": MEMLOAD, "runs": args.runs}
    results: dict[str, dict[str, list[float]]] = {}
    for name, machine in VARIANTS.items():
        p = work / f"{name}.yaml"
        p.write_text(kernel.replace("name: lam-tcg", f"name: {name}")
                     + f"machine: {machine.replace('ROOT', str(ROOT))}\n"
                     + f"payloads: [{{src: {work / 'payload'}, dst: /opt/bench}}]\n")
        cfg = config.load(p)
        r: dict[str, list[float]] = {"boot_to_ssh_s": [], "workload_s": []}
        for i in range(args.runs):
            with boot(cfg, work / f"{name}-{i}", paths, facts) as b:
                r["boot_to_ssh_s"].append(time.monotonic() - b.machine.timings.started)
                timed(b, MEMLOAD.format(mode=0))  # warm-up, not counted: the first
                # run after boot is slower (the guest is still settling)
                r["workload_s"].append(timed(b, MEMLOAD.format(mode=0)))
                if name == "patched_lam":
                    for key, mode in LAM_MODES.items():
                        r.setdefault(key, []).append(timed(b, MEMLOAD.format(mode=mode)))
        results[name] = r
        out[name] = {k: med(v) for k, v in r.items()}
    s = statistics.median
    ratios = {f"{n}_{k}": round(s(results[n][k]) / s(results["stock"][k]), 3)
              for n in ("patched_off", "patched_lam") for k in ("boot_to_ssh_s", "workload_s")}
    lam = results["patched_lam"]
    for key in LAM_MODES:
        ratios[f"{key[:-2]}_vs_lam_off_same_boot"] = round(s(lam[key]) / s(lam["workload_s"]), 3)
        ratios[f"{key[:-2]}_vs_stock"] = round(s(lam[key]) / s(results["stock"]["workload_s"]), 3)
    out["ratios"] = ratios
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
