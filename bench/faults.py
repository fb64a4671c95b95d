#!/usr/bin/env python3
"""Harness memory and time under output floods, as JSON on stdout.

Each measurement runs in a fresh child process (so its peak RSS is its own):

  console_lines      N MB of 80-byte console lines, written by another
                     process into a socket pair read by the real Console
                     (pexpect fdspawn, as QEMU's serial socket is), with
                     console.log capped at limits.console_log (default 64 MiB)
  console_noline     N MB without a single newline, the same way
  stdout             a command printing N MB of lines on a real OpenSSH
                     server (tests/sshd.py), run through harness.exec.run_test
                     (paramiko channel -> capped stdout file -> verdict), its
                     console end marker fed to a real Console

For each: wall_s, mb_per_s, rss_peak_mb (VmHWM of the child: its own address
space since its exec, Python and its imports included; not ru_maxrss, which
Linux starts at the forking parent's peak), and the size of the capped file.
Goal: RSS flat and under 200 MB at 1 GB, wall time linear in the bytes.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINE = "lam-harness bench: a console line of noise, printk-sized, to fill the log ....."
assert len(LINE) == 79


def _writer(kind: str, mb: int) -> list[str]:
    n = mb << 20
    if kind == "console_noline":
        return ["sh", "-c", f"head -c {n} /dev/zero | tr '\\0' x"]
    return ["sh", "-c", f"yes '{LINE}' | head -c {n}"]


def one_console(kind: str, mb: int, work: Path) -> dict[str, Any]:
    from harness.config import Limits
    from harness.vm.console import Console

    ours, theirs = socket.socketpair()
    c = Console(work / "console.log", "lam-harness: ready", Limits())
    t0 = time.monotonic()
    c.attach(ours)
    subprocess.run(_writer(kind, mb), stdout=theirs.fileno(), check=True)
    theirs.close()
    if not c.wait_closed(3600):
        raise SystemExit("console did not close")
    wall = time.monotonic() - t0
    c.close()
    return {"wall_s": round(wall, 2), "lines": c.lines,
            "file_mb": round((work / "console.log").stat().st_size / 2**20, 1),
            "dropped_mb": round(c.log_dropped / 2**20, 1)}


def one_stdout(mb: int, work: Path) -> dict[str, Any]:
    from harness.config import TestSpec
    from tests.faults._flood import run_on, sshd_guest

    test = TestSpec("flood", f"yes '{LINE}' | head -c {mb << 20}", timeout=3600)
    with sshd_guest(work) as guest:
        t0 = time.monotonic()
        r = run_on(guest, test, work / "job")
        wall = time.monotonic() - t0
    out = work / "job" / "flood" / "stdout"
    return {"wall_s": round(wall, 2), "verdict": r.verdict.value,
            "file_mb": round(out.stat().st_size / 2**20, 1), "notes": r.notes}


def _vm_hwm_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith("VmHWM:"))


def child(kind: str, mb: int) -> None:
    with tempfile.TemporaryDirectory(prefix="lamh-bench-faults-") as d:
        work = Path(d)
        res = one_stdout(mb, work) if kind == "stdout" else one_console(kind, mb, work)
    res["rss_peak_mb"] = round(_vm_hwm_kib() / 1024, 1)
    res["mb_per_s"] = round(mb / res["wall_s"], 1) if res["wall_s"] else None
    print(json.dumps(res))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,256,1024", help="MB, comma-separated")
    ap.add_argument("--kinds", default="console_lines,console_noline,stdout")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "MB"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], int(a.child[1]))
        return 0
    out: dict[str, Any] = {}
    for kind in a.kinds.split(","):
        out[kind] = {}
        for mb in (int(s) for s in a.sizes.split(",")):
            p = subprocess.run([sys.executable, __file__, "--child", kind, str(mb)],
                               capture_output=True, text=True, cwd=ROOT)
            if p.returncode != 0:
                out[kind][f"{mb}MB"] = {"error": p.stderr.strip()[-2000:]}
                continue
            out[kind][f"{mb}MB"] = json.loads(p.stdout.strip().splitlines()[-1])
            print(f"{kind} {mb} MB: {out[kind][f'{mb}MB']}", file=sys.stderr)
        ok = [v for v in out[kind].values() if "wall_s" in v]
        if len(ok) >= 2:
            out[kind]["s_per_gb_first_last"] = [round(v["wall_s"] * 1024 / mb, 1) for v, mb in (
                (ok[0], int(a.sizes.split(",")[0])), (ok[-1], int(a.sizes.split(",")[-1])))]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
