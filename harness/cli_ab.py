"""The ``validate``, ``bisect`` and ``bisect-step`` subcommands: ``cli.parser()``
hands ``add_commands`` its subparsers and this module registers its own (it
never imports cli.py; the default folders come from dirs.py).
docs/bisect.md is their manual."""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from . import config, progress
from .bisect.rule import Rule
from .config import Config
from .dirs import kernels_dir, results_dir
from .errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_TEST_FAILED, HarnessError, UserError
from .parse.oops import normalize_title
from .pipeline import Interrupted
from .plan import plan
from .results.store import RunStore


def _dirs(results: str | None) -> tuple[Path, Path]:
    return kernels_dir(), results_dir(results)


def _argv() -> list[str]:
    return ["lam-harness", *sys.argv[1:]]


def git_repo(cfg: Config, repo: str | None) -> Path:
    """The git repository to bisect: ``--repo``, else ``kernel.source.git``."""
    if repo:
        p = Path(repo).expanduser().resolve()
        if not p.exists():
            raise UserError(f"--repo {repo}: no such directory")
        return p
    src = cfg.kernel.source
    if src is None or src.git is None:
        raise UserError("bisect needs a git source: kernel.source.git in the config, or --repo",
                        where=cfg.where("kernel"))
    return cfg.resolve_path(src.git, "kernel.source.git")


def _tests(cfg: Config, tests: list[str] | None) -> list[str] | None:
    if tests:
        plan(cfg, tests)  # unknown names are a usage error
    return tests or None


# -- validate ---------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import PipelineABRunner, side_configs, validate, write

    cfg = config.load(args.config)
    kernels, results = _dirs(args.results)
    if args.runs < 1:
        raise UserError("--runs must be at least 1")
    tests = _tests(cfg, args.only)
    base, patched = side_configs(cfg, [Path(p) for p in args.patch], args.base)
    runner = PipelineABRunner(base, patched, kernels, tests)
    names = [t.name for t in plan(cfg, tests)[0].tests]
    store = RunStore.create(results, f"validate-{cfg.name}", {
        "config_file": str(cfg.path), "reproducer": " ".join(_argv()),
        "validate": {"patches": [str(Path(p).resolve()) for p in args.patch],
                     "base": args.base, "runs": args.runs}, **runner.meta()})
    progress.say(f"results in {store.root}")
    try:
        rep = validate(runner, cfg.name, names, args.runs, store, say=progress.say)
        text = write(rep, store)
    except (KeyboardInterrupt, Interrupted):
        store.finish("interrupted", EXIT_INTERRUPTED)
        raise
    except HarnessError as e:
        store.meta["error"] = str(e)
        store.finish("error", e.exit_code)
        raise
    status = {EXIT_OK: "passed", EXIT_TEST_FAILED: "failed"}.get(rep.exit_code, "error")
    store.finish(status, rep.exit_code)
    print(text, end="")
    print(f"results: {store.root}  (validate.txt, validate.json, junit.xml, run.json)")
    return rep.exit_code


# -- bisect -----------------------------------------------------------------


def _run_key(cfg: Config, repo: Path, bad: str, goods: list[str], title: str | None,
             tests: list[str] | None, replay: Path | None) -> str:
    ident: dict[str, Any] = {"config": str(cfg.path), "repo": str(repo), "bad": bad,
                             "good": goods, "title": title, "tests": tests}
    if replay is not None:
        ident["replay"] = hashlib.sha256(replay.read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:10]


def cmd_bisect(args: argparse.Namespace) -> int:
    from .bisect.driver import Bisection, report
    from .bisect.git import GitBisect, rev_parse
    from .bisect.runner import PipelineRunner
    from .bisect.state import BisectState

    cfg = config.load(args.config)
    kernels, results = _dirs(args.results)
    repo = git_repo(cfg, args.repo)
    replay = Path(args.replay).resolve() if args.replay else None
    if replay is not None:
        if args.good or args.bad:
            raise UserError("--replay takes the good and bad commits from the log: drop "
                            "--good/--bad")
        if not replay.is_file():
            raise UserError(f"--replay {args.replay}: no such file")
    elif not args.good or not args.bad:
        raise UserError("bisect needs --good REV and --bad REV (or --replay LOG)")
    rule = _rule(args)
    bad = rev_parse(repo, args.bad) if args.bad else ""
    goods = [rev_parse(repo, g) for g in args.good or []]
    title = normalize_title(" ".join(args.title.split())) if args.title else None
    tests = _tests(cfg, args.test)
    root = results / f"bisect-{cfg.name}-{_run_key(cfg, repo, bad, goods, title, tests, replay)}"
    if args.fresh:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another lam-harness bisect is running in {root}") from None
        state_file = root / "bisect.json"
        if state_file.exists():
            st = BisectState.load(state_file)
            if st.status == "done":
                progress.say(f"{root}: finished before; its report:")
                print(report(st, root), end="")
                return st.exit_code if st.exit_code is not None else EXIT_OK
            progress.say(f"resuming {root} ({sum(1 for s in st.steps if s.verdict)} step(s) "
                         "decided)")
        else:
            st = BisectState(str(cfg.path), str(repo), bad, goods, tests, title,
                             "--title" if title else "", str(replay) if replay else None,
                             reproducer=" ".join(_argv()))
            progress.say(f"bisecting in {root}")
        gb = GitBisect(repo, kernels / "bisect" / f"{root.name}.git")
        gb.prepare()
        runner = PipelineRunner(cfg, repo, kernels, tests, _argv())
        b = Bisection(st, runner, gb, rule, root, replay=replay, check_good=args.check_good,
                      say=progress.say, log=gb.log)
        try:
            b.run()
        finally:
            (root / "bisect.txt").write_text(report(st, root))
    print(report(st, root), end="")
    return st.exit_code if st.exit_code is not None else EXIT_OK


def _rule(args: argparse.Namespace) -> Rule:
    if args.runs < 1:
        raise UserError("--runs must be at least 1")
    max_runs = args.max_runs if args.max_runs is not None else max(40, 2 * args.runs)
    if max_runs < args.runs:
        raise UserError(f"--max-runs {max_runs} is below --runs {args.runs}")
    return Rule(runs=args.runs, max_runs=max_runs)


def cmd_bisect_step(args: argparse.Namespace) -> int:
    """For ``git bisect run``: every error becomes 128 (abort), never 1-127."""
    from .bisect.step import EXIT_ABORT, EXIT_CODES

    try:
        return _bisect_step(args, EXIT_CODES)
    except HarnessError as e:
        print(f"lam-harness: error: {e}", file=sys.stderr)
        print("lam-harness: bisect-step cannot test this commit: exit 128 (git bisect run "
              "stops)", file=sys.stderr)
        return EXIT_ABORT


def _bisect_step(args: argparse.Namespace, codes: Any) -> int:
    from .bisect.git import rev_parse
    from .bisect.rule import Verdict
    from .bisect.runner import PipelineRunner
    from .bisect.step import run_step
    from .kernel.source import git

    cfg = config.load(args.config)
    kernels, results = _dirs(args.results)
    repo = git_repo(cfg, args.repo) if args.repo or (cfg.kernel.source and
                                                      cfg.kernel.source.git) else Path.cwd()
    commit = rev_parse(repo, args.rev)
    subject = git(repo, "log", "-1", "--format=%s", commit).stdout.strip()
    rule = _rule(args)
    if args.rate is not None and not 0 < args.rate <= 1:
        raise UserError("--rate is a probability in (0, 1]")
    title = normalize_title(" ".join(args.title.split())) if args.title else None
    tests = _tests(cfg, args.test)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    root = results / f"{stamp}-bisect-step-{cfg.name}-{commit[:12]}"
    root.mkdir(parents=True, exist_ok=True)
    progress.say(f"testing {commit[:12]} {subject} in {root}")
    runner = PipelineRunner(cfg, repo, kernels, tests, _argv())
    step = run_step(runner, commit, subject, rule, title, args.rate, root, progress.say)
    assert step.verdict is not None
    verdict = Verdict(step.verdict)
    target = title or "any crash"
    print(f"{commit[:12]} {subject}: {verdict.value}{' (weak)' if step.weak else ''}: "
          f"{step.reason}  [target: {target}; results: {root}]")
    code: int = codes[verdict]
    return code


# -- registration -------------------------------------------------------------


def add_commands(sub: Any) -> None:
    v = sub.add_parser("validate", help="A/B: the config's kernel vs the same + patches, with "
                                        "statistics per test")
    v.add_argument("config")
    v.add_argument("--patch", action="append", required=True, metavar="P",
                   help="patch file or folder (series) to add on the patched side (repeatable)")
    v.add_argument("--base", metavar="REV", help="base revision (git sources; default: the "
                                                 "config's ref)")
    v.add_argument("--runs", type=int, default=10, metavar="N",
                   help="boots per side, each running the tests (default 10)")
    v.add_argument("--only", action="append", metavar="TEST", help="only this test")
    v.add_argument("--results", help="results folder (default: results/)")
    v.set_defaults(func=cmd_validate)

    b = sub.add_parser("bisect", help="find the commit that introduced a crash, flaky-aware; "
                                      "resumable")
    b.add_argument("config")
    b.add_argument("--good", action="append", metavar="REV", help="a good revision "
                                                                  "(repeatable)")
    b.add_argument("--bad", metavar="REV", help="the bad revision")
    _step_options(b, "the one seen at --bad")
    b.add_argument("--replay", metavar="LOG", help="start from a git bisect log (its marks "
                                                   "are trusted, not retested)")
    b.add_argument("--check-good", action="store_true",
                   help="also test the good revision(s) first (they must not show the target)")
    b.add_argument("--fresh", action="store_true", help="start over, forgetting a previous "
                                                        "run of the same command")
    b.set_defaults(func=cmd_bisect)

    s = sub.add_parser("bisect-step", help="for `git bisect run`: exit 0 good, 1 bad, 125 skip "
                                           "for the current checkout")
    s.add_argument("config")
    s.add_argument("--rev", default="HEAD", help="revision to test (default HEAD)")
    _step_options(s, "any crash")
    s.add_argument("--rate", type=float, metavar="P",
                   help="known repro rate (0-1): good after enough clean runs that a bad "
                        "commit would have crashed with probability 99%% (default: good after "
                        "--runs clean runs)")
    s.set_defaults(func=cmd_bisect_step)


def _step_options(p: argparse.ArgumentParser, default_title: str) -> None:
    p.add_argument("--repo", metavar="DIR", help="git repository (default: the config's "
                                                 "kernel.source.git)")
    p.add_argument("--test", action="append", metavar="T", help="run only this test "
                                                                "(repeatable)")
    p.add_argument("--title", metavar="T", help="the crash title that counts as bad "
                                                f"(normalized; default: {default_title})")
    p.add_argument("--runs", type=int, default=10, metavar="N",
                   help="runs at the bad end, which measure the repro rate (default 10)")
    p.add_argument("--max-runs", type=int, metavar="N",
                   help="runs at most per step (default max(40, 2 x --runs))")
    p.add_argument("--results", help="results folder (default: results/)")
