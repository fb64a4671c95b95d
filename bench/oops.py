#!/usr/bin/env python3
"""Oops parser throughput, as JSON on stdout.

Writes a console log of --mb MB (default 200): boot and runtime noise lines
with printk timestamps, taken from the real console logs in tests/data/console
(including the lines that look like reports but are not: mitigation
"WARNING:"s, "INFO: lockdep is turned off", user-space segfaults...) and a
few real reports spliced in (the demo BUG_ON + panic, a sysrq panic, a WARN,
a KASAN report, a hung task).  Then measures, median of --runs:

* ``scan_bytes``: the fast whole-buffer path (what ``lam-harness oops`` uses);
* ``grep -c -E`` over the same file with the alternation of the parser's
  prefilter literals: the floor a line-oriented literal search sets;
* once, the streaming line API (``OopsScanner.feed`` per line, what the live
  console uses) over the first --line-mb MB.

Also: the size of the knowledge tables (harness/parse/oops_tables.py) and the
time to parse the labelled corpus (tests/data/oops-corpus, report-dense: the
cost of larger tables), and whether 4x the adversarial inputs takes < 10x the
time (linear, not quadratic).

Checks that the reports found are the ones spliced in, and linearity.
Goal: >= 100 MB/s.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.parse.oops import PREFILTER, OopsScanner, scan, scan_bytes  # noqa: E402
from harness.parse.oops_tables import GENERIC_FRAMES, HEADERS, SUPPRESSIONS  # noqa: E402

CONSOLE = ROOT / "tests" / "data" / "console"
_TS = re.compile(r"^\[ *\d+\.\d+\] ?")

# Runtime noise a long test run prints besides the boot log.
RUNTIME = [
    "lam-harness: start lam-selftest.{n}",
    "lam-harness: end lam-selftest.{n} rc=0",
    "virtio_net virtio0 eth0: link up",
    "random: crng reseeded on system resumption",
    "sh[{n}]: segfault at 0 ip 0000000000401000 sp 00007ffd5b7e8d40 error 4 in sh[401000+95000]",
    "traps: lam_64[{n}] general protection fault ip:401d40 sp:7ffc5b7e8d40 error:0 in lam_64",
    "INFO: lockdep is turned off.",
    "audit: type=1400 audit({n}.123:45): apparmor=\"STATUS\" operation=\"profile_load\"",
    "EXT4-fs (vda1): mounted filesystem 0a1b2c3d r/w with ordered data mode. Quota mode: none.",
    "Out of memory: Killed process {n} (stress) total-vm:1234kB, anon-rss:1000kB, file-rss:0kB",
    "ok {n} selftests: x86: lam_64",
    "# PASS: tagged pointer with LAM_U57 ({n})",
    "kworker/u4:{n} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
    "e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX",
]

WARN_REPORT = """\
------------[ cut here ]------------
WARNING: CPU: 1 PID: 88 at drivers/misc/lkdtm/bugs.c:111 lkdtm_WARNING+0x21/0x30
Modules linked in:
CPU: 1 UID: 0 PID: 88 Comm: sh Not tainted 6.12.0 #1
RIP: 0010:lkdtm_WARNING+0x21/0x30
Call Trace:
 <TASK>
 ? __warn+0x81/0x130
 ? report_bug+0x171/0x1a0
 lkdtm_do_action+0x15/0x30
 direct_entry+0x9b/0xe0
 vfs_write+0xf9/0x440
 </TASK>
---[ end trace 0000000000000000 ]---"""

KASAN_REPORT = """\
==================================================================
BUG: KASAN: slab-use-after-free in foo_read+0x4c/0x70
Read of size 8 at addr ffff888103e1b100 by task sh/85
CPU: 0 UID: 0 PID: 85 Comm: sh Tainted: G    B   6.12.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 print_report+0x174/0x505
 kasan_report+0xc8/0x100
 foo_read+0x4c/0x70
 vfs_read+0xb1/0x300
 </TASK>
==================================================================="""

HUNG_REPORT = """\
INFO: task sh:85 blocked for more than 122 seconds.
      Not tainted 6.12.0 #1
"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
task:sh              state:D stack:0     pid:85    tgid:85    ppid:1      flags:0x00004002
Call Trace:
 <TASK>
 __schedule+0x3f1/0xb80
 schedule+0x27/0xf0
 __mutex_lock.constprop.0+0x3d0/0x6f0
 foo_flush+0x1c/0x30
 </TASK>"""


def _real(name: str, first: str, last: str) -> str:
    lines = [_TS.sub("", x) for x in (CONSOLE / name).read_text(errors="replace").splitlines()]
    i = next(k for k, x in enumerate(lines) if first in x)
    j = next(k for k in range(i, len(lines)) if last in lines[k])
    return "\n".join(lines[i:j + 1])


def _opens_report(line: str) -> bool:
    """A report header of a real log ("INFO: task ... blocked", "WARNING: CPU:
    ..."): not noise.  Look-alikes the parser suppresses stay noise."""
    scanner = OopsScanner()
    scanner.feed(line)
    return scanner.in_report


def make_log(path: Path, mb: int, seed: int = 1) -> list[str]:
    """Write the log; return the expected report titles, in order."""
    noise = []
    for log in sorted(CONSOLE.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            body = _TS.sub("", line)
            if not any(lit in body for lit in ("cut here", "BUG", "Oops", "Kernel panic",
                                               "Call Trace", "RIP:", "end trace", "Code:",
                                               "Linux version")) and not _opens_report(body):
                noise.append(body)
    noise += RUNTIME
    reports = [
        (_real("demo-bug-6.12-tcg.log", "[ cut here ]", "Kernel Offset:"),
         ["kernel BUG in demo_bug_fire", "kernel panic: Fatal exception"]),
        (_real("sysrq-crash-debian-cloud-6.12-tcg.log", "Kernel panic", "Kernel Offset:"),
         ["kernel panic: sysrq triggered crash"]),
        (WARN_REPORT, ["WARNING in lkdtm_WARNING"]),
        (KASAN_REPORT, ["KASAN: slab-use-after-free Read in foo_read"]),
        (HUNG_REPORT, ["INFO: task hung in foo_flush"]),
    ]
    rnd = random.Random(seed)
    target = mb * 1_000_000
    at = sorted(rnd.sample(range(1, 99), len(reports)))  # where, in percent of the file
    expected: list[str] = []
    t = 0.0
    size = 0
    chunk = ["[    0.000000] Linux version 6.12.117+ (lam-harness@lam-harness) (gcc (Debian "
             "12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #4 SMP\n"]
    spliced = 0
    with open(path, "w") as f:
        while size < target:
            t += rnd.random() * 0.002
            if at and size >= target * at[0] / 100:
                at.pop(0)
                text, titles = reports[spliced]
                spliced += 1
                expected += titles
                for line in text.splitlines():
                    chunk.append(f"[{t:12.6f}] {line}\n")
                continue
            line = f"[{t:12.6f}] {rnd.choice(noise).replace('{n}', str(rnd.randrange(1000)))}\n"
            chunk.append(line)
            size += len(line)
            if len(chunk) >= 10_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    return expected


# Inputs built to be slow (formerly timed in tests/unit/test_oops_fuzz.py):
# 4x the input must take about 4x the time, not 16x.
ADVERSARIAL = [
    # headers on every line: one report per line
    "BUG: KASAN: " + " in " * 200 + "\n",
    "WARNING: " + "at " * 300 + "\n",
    # a report that never ends until max lines, with long frame-like lines
    "BUG: soft lockup\n" + "Call Trace:\n" + (" f+0x1/0x2" * 50 + "\n") * 10,
    # cut-here storms and rulers
    "------------[ cut here ]------------\n" + "=" * 300 + "\n",
    # long lines full of literals
    "[#" * 500 + "BUG" * 300 + "\n",
    "[   1.000000][  T1] ------------[ cut here ]------------\n[   1.0][  T2] x\n",
]
CORPUS = ROOT / "tests" / "data" / "oops-corpus" / "syzkaller-linux"


def _best(fn: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def linearity() -> list[dict[str, object]]:
    """Time of 4x the input over time of 1x, per adversarial block and path."""
    out: list[dict[str, object]] = []
    for block in ADVERSARIAL:
        small, big = (block * 200).encode(), (block * 800).encode()
        t1 = _best(functools.partial(scan_bytes, small))
        t4 = _best(functools.partial(scan_bytes, big))
        s1 = _best(functools.partial(scan, small.decode()))
        s4 = _best(functools.partial(scan, big.decode()))
        out.append({"block": block[:30], "scan_bytes_4x_ratio": round(t4 / max(t1, 1e-6), 2),
                    "scan_4x_ratio": round(s4 / max(s1, 1e-6), 2),
                    "linear": t4 < 10 * max(t1, 1e-3) and s4 < 10 * max(s1, 1e-3)})
    return out


def tables_cost() -> dict[str, object]:
    """The size of the knowledge tables, and the time to parse the labelled
    corpus (report-dense logs: what the larger tables cost)."""
    logs = [p.read_bytes() for p in sorted(CORPUS.iterdir())] if CORPUS.is_dir() else []
    size = sum(len(x) for x in logs)
    dt = _best(lambda: [scan_bytes(x) for x in logs]) if logs else 0.0
    return {"headers": len(HEADERS), "generic_frames": len(GENERIC_FRAMES),
            "suppressions": len(SUPPRESSIONS),
            "skip_patterns": sum(len(h.skip.pattern.split("|(?:")) for h in HEADERS if h.skip),
            "corpus_files": len(logs), "corpus_mb": round(size / 1e6, 2),
            "corpus_s": round(dt, 3),
            "corpus_ms_per_file": round(1000 * dt / len(logs), 2) if logs else None}


def stats(xs: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(xs), 4), "min_s": round(min(xs), 4),
            "max_s": round(max(xs), 4), "n": len(xs)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, default=200, help="size of the log (MB)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--line-mb", type=int, default=50,
                    help="MB fed through the streaming line API (0: skip)")
    ap.add_argument("--keep", metavar="FILE", help="write the log here and keep it")
    args = ap.parse_args()

    tmpdir = None
    if args.keep:
        path = Path(args.keep)
    else:
        tmpdir = tempfile.mkdtemp(prefix="lamh-bench-oops-")
        path = Path(tmpdir) / "console.log"
    try:
        t0 = time.perf_counter()
        expected = make_log(path, args.mb)
        gen_s = time.perf_counter() - t0
        data = path.read_bytes()
        mb = len(data) / 1e6
        lines = data.count(b"\n")

        times = []
        reports = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            reports = scan_bytes(data)
            times.append(time.perf_counter() - t0)
        found = [r.title for r in reports]

        pattern = "|".join(re.escape(lit) for lit in PREFILTER)
        grep = shutil.which("grep")
        gtimes: list[float] = []
        gcount = None
        if grep:
            for _ in range(args.runs):
                t0 = time.perf_counter()
                p = subprocess.run([grep, "-c", "-E", pattern, str(path)], capture_output=True,
                                   text=True, env={**os.environ, "LC_ALL": "C"}, check=False)
                gtimes.append(time.perf_counter() - t0)
                gcount = int(p.stdout.strip() or 0)

        line_api = None
        if args.line_mb:
            part = data[: args.line_mb * 1_000_000]
            part = part[: part.rfind(b"\n") + 1]
            text_lines = part.decode("utf-8", "replace").split("\n")[:-1]
            scanner = OopsScanner()
            feed = scanner.feed
            t0 = time.perf_counter()
            for line in text_lines:
                feed(line)
            scanner.flush()
            dt = time.perf_counter() - t0
            line_api = {"mb": round(len(part) / 1e6, 1), "seconds": round(dt, 3),
                        "mb_per_s": round(len(part) / 1e6 / dt, 1)}

        med = statistics.median(times)
        out = {
            "log": {"mb": round(mb, 1), "lines": lines, "generate_s": round(gen_s, 2),
                    "reports_spliced": len(expected)},
            "scan_bytes": {**stats(times), "mb_per_s": round(mb / med, 1),
                           "reports": len(reports), "titles_ok": found == expected},
            "grep": ({**stats(gtimes), "mb_per_s": round(mb / statistics.median(gtimes), 1),
                      "matching_lines": gcount, "pattern_literals": len(PREFILTER)}
                     if gtimes else None),
            "scanner_over_grep_time": (round(med / statistics.median(gtimes), 2)
                                       if gtimes else None),
            "line_api": line_api,
            "tables": tables_cost(),
            "linearity": linearity(),
            "goal_mb_per_s": 100,
            "goal_met": mb / med >= 100,
        }
        if found != expected:
            out["scan_bytes"]["found"] = found[:20]
            out["scan_bytes"]["expected"] = expected
        print(json.dumps(out, indent=2))
        linear = all(x["linear"] for x in out["linearity"])  # type: ignore[attr-defined]
        return 0 if found == expected and linear else 1
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
