#!/usr/bin/env python3
"""BUG_ON rate of the LKML LAM repro on emulated LAM, as JSON on stdout.

Two kernels, both Debian 6.12 + lam-uapi + lam-repro on the LAM-emulating QEMU
(TCG, 2 vCPUs):
  good  configs/lam-tcg.yaml: the upstream fix (IPIs to synchronize LAM
        enablement) in place;
  bad   configs/lam-repro-bad.yaml: the fix reverted.
One iteration is `lam_repro_loop_64 1`: one fresh process enabling LAM (with
the repro kthread racing it) and touching tagged memory on every CPU. A BUG_ON
panics the guest; the harness then boots a new one and goes on until
--iterations have run. Reported per kernel: iterations, crashes, crash titles,
rate with a 95% Wilson interval, boots, and wall time.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import config, progress  # noqa: E402
from harness.errors import BootError  # noqa: E402
from harness.pipeline import Paths, boot  # noqa: E402
from harness.results.schema import JobRecord  # noqa: E402
from harness.vm import hostinfo  # noqa: E402

KERNELS = {"good": "lam-tcg.yaml", "bad": "lam-repro-bad.yaml"}
COMMAND = "/opt/selftests/x86/lam_repro_loop_64 1"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (round(max(0.0, c - h), 4), round(min(1.0, c + h), 4))


def measure(cfg: config.Config, iterations: int, work: Path, paths: Paths,
            facts: hostinfo.HostFacts) -> dict[str, object]:
    done = crashes = boots = errors = 0
    titles: Counter[str] = Counter()
    source = ""
    t0 = time.monotonic()
    boot_failures: list[str] = []
    while done < iterations:
        boots += 1
        rec = JobRecord(cfg.name)
        try:
            booted = boot(cfg, work / f"boot-{boots}", paths, facts, record=rec)
            b = booted.__enter__()
        except BootError as e:  # counted and reported, never an iteration
            boot_failures.append(f"boot-{boots}: {e}"[:300])
            if len(boot_failures) > 5:
                raise
            continue
        try:
            source = f"{rec.lam.get('status')} ({rec.lam.get('source')})"
            console = b.machine.console
            assert console is not None
            while done < iterations:
                seen = len(console.reports)
                o = b.guest.run(COMMAND, io.BytesIO(), io.BytesIO(), 120, b.machine.alive)
                done += 1
                if o.lost is not None or len(console.reports) > seen:
                    deadline = time.monotonic() + 10
                    while len(console.reports) == seen and time.monotonic() < deadline:
                        time.sleep(0.1)
                    if len(console.reports) > seen:
                        crashes += 1
                        titles[console.reports[seen].report.title] += 1
                    else:
                        errors += 1
                    break
                if o.status != 0:
                    errors += 1
        finally:
            booted.__exit__(None, None, None)
    return {"iterations": done, "crashes": crashes, "rate": round(crashes / done, 4),
            "rate_95ci": wilson(crashes, done), "titles": dict(titles), "boots": boots,
            "non_crash_failures": errors, "boot_failures": boot_failures, "lam": source,
            "wall_s": round(time.monotonic() - t0, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--kernels", nargs="+", default=list(KERNELS), choices=list(KERNELS))
    args = ap.parse_args()
    progress.quiet = True
    work = Path(tempfile.mkdtemp(prefix="lamh-bench-repro-"))
    paths = Paths(Path(os.environ.get("HARNESS_KERNELS", ROOT / "kernels")), work / "results")
    facts = hostinfo.probe()
    out: dict[str, object] = {"command": COMMAND, "smp": None}
    for name in args.kernels:
        cfg = config.load(ROOT / "configs" / KERNELS[name])
        out["smp"] = cfg.machine.smp
        out[name] = {"config": f"configs/{KERNELS[name]}",
                     **measure(cfg, args.iterations, work / name, paths, facts)}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
