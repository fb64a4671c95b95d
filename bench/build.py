#!/usr/bin/env python3
"""Kernel build figures, as JSON on stdout.

Builds Debian's linux-source-6.12 with lam-guest.config and the demo-bug patch
(configs/demo-bug.yaml) in a scratch kernels/ folder (the imported source tree
is shared with the project's kernels/src):
  clean       empty build folder, empty ccache (--clean-runs, default 1)
  cached      the same inputs again: no make at all (median of --cached-runs, 5)
  one_file    a one-line change in demo_bug.c inside the patch, build folder
              and ccache warm (median of --rebuild-runs, 3)
Ratios against the clean build measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import config, progress  # noqa: E402
from harness.kernel import build  # noqa: E402


def stats(xs: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(xs), 3), "min": round(min(xs), 3),
            "max": round(max(xs), 3), "n": len(xs)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clean-runs", type=int, default=1)
    ap.add_argument("--cached-runs", type=int, default=5)
    ap.add_argument("--rebuild-runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    progress.quiet = True
    work = Path(tempfile.mkdtemp(prefix="lamh-bench-build-"))
    shared_src = Path(os.environ.get("HARNESS_KERNELS", ROOT / "kernels")) / "src"
    shared_src.mkdir(parents=True, exist_ok=True)
    patch_dir = work / "demo-bug"
    shutil.copytree(ROOT / "patches" / "demo-bug", patch_dir)
    cfg_path = work / "bench.yaml"
    cfg_path.write_text(
        "name: bench\nkernel:\n  source: {debian: linux-source-6.12}\n"
        f"  patches: [{patch_dir}]\n"
        f"  config: {{base: tinyconfig, fragments: [{ROOT}/configs/kconfig/lam-guest.config]}}\n"
        "  selftests: [x86/lam, x86/demo_bug]\n")
    series = [ln.strip() for ln in (patch_dir / "series").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
    patch = next(patch_dir / s for s in series if "demo_bug.c" in (patch_dir / s).read_text())
    original = patch.read_text()
    # an added comment line of arch/x86/kernel/demo_bug.c
    m = re.search(r"(?m)^\+ \* .+$", original.split("arch/x86/kernel/demo_bug.c", 1)[1])
    assert m, "no comment line in demo_bug.c to change"
    comment = m.group(0)

    def run_build(kernels: Path) -> tuple[float, bool]:
        t0 = time.monotonic()
        b = build.build(config.load(cfg_path), kernels)
        return time.monotonic() - t0, b.hit

    clean: list[float] = []
    ccache_dir = work / "ccache"
    os.environ["CCACHE_DIR"] = str(ccache_dir)
    kernels = work / "kernels"
    for _ in range(args.clean_runs):
        shutil.rmtree(kernels, ignore_errors=True)
        shutil.rmtree(ccache_dir, ignore_errors=True)
        kernels.mkdir()
        (kernels / "src").symlink_to(shared_src)
        dt, hit = run_build(kernels)
        assert not hit
        clean.append(dt)
    cached: list[float] = []
    for _ in range(args.cached_runs):
        dt, hit = run_build(kernels)
        assert hit, "expected a cache hit"
        cached.append(dt)
    one_file: list[float] = []
    for i in range(args.rebuild_runs):
        changed = original.replace(comment, f"{comment} (bench {i})", 1)
        # The hunk length is unchanged: the line is edited, not added.
        patch.write_text(changed)
        dt, hit = run_build(kernels)
        assert not hit
        one_file.append(dt)
    patch.write_text(original)
    c, k, o = stats(clean), stats(cached), stats(one_file)
    print(json.dumps({
        "kernel": "debian linux-source-6.12 + demo-bug, tinyconfig + lam-guest.config",
        "jobs": os.cpu_count(),
        "clean_build_s": c,
        "cached_rerun_s": k,
        "one_file_rebuild_s": o,
        "ratio_one_file_over_clean": round(o["median"] / c["median"], 4),
        "ratio_cached_over_clean": round(k["median"] / c["median"], 5),
        "targets": {"cached_rerun_s_max": 2.0},
    }, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
