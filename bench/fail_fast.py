#!/usr/bin/env python3
"""How fast a boot that cannot succeed ends, as JSON on stdout.

The tests check that these runs end with the right error (tests/integration/
test_run.py: test_kernel_that_cannot_boot_is_infra_error,
test_forced_kvm_never_hangs); how long they take is a figure, measured here
on Debian's 6.12 cloud kernel, --runs times each (default 3), through the CLI
(``lam-harness run``), from start to exit:
  panic       ``rdinit=/nowhere``: the kernel panics at boot (boot_timeout 120 s)
  forced_kvm  ``accel: kvm``: on a kvm_pvm host QEMU stops on a KVM internal
              error (boot_timeout 240 s); on a real KVM host it boots and passes
Each figure carries the exit codes seen and the job's error, so a run that
ended for another reason (or at the boot timeout) is visible.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "linux-image-6.12.*-cloud-amd64-unsigned"
CASES = {
    "panic": 'machine: {cmdline: "rdinit=/nowhere init=/nowhere", boot_timeout: 120}',
    "forced_kvm": "machine: {accel: kvm, boot_timeout: 240}",
}


def one(name: str, machine: str, work: Path) -> tuple[float, int, str]:
    cfg = work / f"{name}.yaml"
    cfg.write_text(f'name: {name}\nkernel: {{debian: "{KERNEL}"}}\n{machine}\n'
                   'tests:\n  - {name: t, run: "true"}\n')
    results = Path(tempfile.mkdtemp(prefix="results-", dir=work))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.setdefault("HARNESS_KERNELS", str(ROOT / "kernels"))
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "harness", "-q", "run", str(cfg),
                        "--results", str(results)], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=600)
    took = time.monotonic() - t0
    runs = list(results.glob("*/run.json"))
    error = ((json.loads(runs[0].read_text())["jobs"][0].get("error") or "") if runs
             else p.stderr)
    return took, p.returncode, error


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lamh-bench-failfast-"))
    out: dict[str, object] = {}
    for name, machine in CASES.items():
        times, codes, errors = [], set(), set()
        for _ in range(args.runs):
            took, code, error = one(name, machine, work)
            times.append(took)
            codes.add(code)
            errors.add(error[:160])
        out[name] = {"seconds": {"median": round(statistics.median(times), 2),
                                 "min": round(min(times), 2), "max": round(max(times), 2),
                                 "n": len(times)},
                     "exit_codes": sorted(codes), "errors": sorted(errors)}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
