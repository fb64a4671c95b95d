"""What ``run`` does around the pipeline for nightly CI: pick the shard's
tests before it, record the shard plan and write the report after it, and
turn the comparison into the exit code (``--fail-on``)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config
from ..plan import plan
from ..results import junit
from ..results.store import RunStore
from . import shard
from .runs import job_identity, load_history, read_run_json
from .write import Inputs, report

RunFn = Callable[[Config, Any, "list[str] | None", "list[str] | None"], tuple[int, Path]]


def config_json(cfg: Config) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    d.pop("locs", None)
    d["path"] = str(cfg.path)
    for key in ("tests", "payloads"):
        for item in d.get(key, []):
            item.pop("loc", None)
    return d


def _inputs(args: argparse.Namespace) -> Inputs:
    return Inputs.load(args.baseline, args.history, args.known)


def _annotate(root: Path, extra: dict[str, Any]) -> None:
    f = root / "run.json"
    data = read_run_json(root)
    data.update(extra)
    tmp = root / ".run.json.tmp"
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, f)


def shard_plan(cfg: Config, only: list[str] | None, count: int,
               history: Path | None, window: int) -> shard.ShardPlan:
    tests = [t.name for job in plan(cfg, only) for t in job.tests]
    key = job_identity(config_json(cfg), cfg.name).key
    past = load_history(history, related_to={key}, window=window) if history else []
    return shard.plan(tests, count, shard.durations(past, key))


def run(cfg: Config, paths: Any, args: argparse.Namespace, run_fn: RunFn,
        argv: list[str]) -> tuple[int, Path]:
    """The pipeline's run, on the shard's slice when ``--shard K/N``."""
    inputs = _inputs(args)  # a bad baseline or known-issues file stops us before booting
    if not args.shard:
        return run_fn(cfg, paths, args.only, argv)
    k, n = args.shard
    sp = shard_plan(cfg, args.only, n, inputs.history_dir, inputs.window)
    meta = {"shard": sp.to_json(k)}
    tests = sp.tests_for(k)
    if not tests:
        # More shards than tests: an empty run, so that merge sees every shard.
        store = RunStore.create(paths.results, cfg.name, {
            "config_file": str(cfg.path), "config": config_json(cfg),
            "reproducer": " ".join(argv), **meta})
        junit.write([], store.root)
        store.finish("passed", 0)
        return 0, store.root
    code, root = run_fn(cfg, paths, tests, argv)
    _annotate(root, meta)
    return code, root


def after_run(root: Path, code: int, args: argparse.Namespace) -> int:
    """Write the report; the exit code is the run's unless --fail-on or
    --known say otherwise."""
    compared = bool(args.baseline or args.history or args.known or args.fail_on)
    if not compared:
        try:
            report(root, Inputs())
        except Exception as e:  # noqa: BLE001 - a plain run's verdict stands without it
            print(f"lam-harness: warning: report not written: {e}", file=sys.stderr)
            return code
        print(f"report: {root / 'summary.html'}, summary.txt, kcidb.json, compare.json")
        return code
    cmp, _ = report(root, _inputs(args), args.fail_on)
    print(cmp_text(root))
    if args.fail_on is None and args.known is None:
        return code
    return cmp.exit_code(args.fail_on or "any")


def cmp_text(root: Path) -> str:
    return (root / "summary.txt").read_text().rstrip("\n")
