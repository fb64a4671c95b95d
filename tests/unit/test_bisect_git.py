"""Bisection driving real ``git bisect`` on a throwaway repository, with a
fake step runner (real git, fake kernel): culprit, skips, resume after an
interruption, --replay, the CLI (run folder, report, exit codes) and
bisect-step under a real ``git bisect run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from harness.bisect import runner as runner_mod
from harness.bisect.driver import Bisection, report
from harness.bisect.git import GitBisect, log_marks, parse_position
from harness.bisect.rule import Rule, Verdict
from harness.bisect.state import BisectState
from tests.unit.gitfake import TITLE, GitFakeRunner, git, make_history

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    repo = tmp_path / "linux"
    return repo, make_history(repo)


def _bisection(repo: Path, shas: list[str], root: Path, runner: GitFakeRunner,
               st: BisectState | None = None, **kw: Any) -> tuple[Bisection, BisectState]:
    gb = GitBisect(repo, root.parent / "bisect.git")
    gb.prepare()
    st = st or BisectState("c.yaml", str(repo), shas[-1], [shas[0]])
    return Bisection(st, runner, gb, Rule(runs=3), root, log=gb.log, **kw), st


def test_git_bisect_positions(history: tuple[Path, list[str]], tmp_path: Path) -> None:
    repo, shas = history
    gb = GitBisect(repo, tmp_path / "b.git")
    gb.prepare()
    pos = gb.start(shas[-1], [shas[0]])
    assert pos.next in shas[1:-1] and "Bisecting:" in pos.message
    assert gb.subject(shas[7]) == "commit 7: add the demo bug"
    # a direct child of good: git answers at once
    gb.prepare()
    pos = gb.start(shas[1], [shas[0]])
    assert pos.culprit == shas[1]
    # only skipped commits left
    gb.prepare()
    gb.start(shas[3], [shas[0]])
    gb.mark(shas[1], Verdict.GOOD)
    pos = gb.mark(shas[2], Verdict.SKIP)
    assert pos.candidates == (shas[2], shas[3]) or set(pos.candidates) == {shas[2], shas[3]}
    assert "git bisect skip " + shas[2] in gb.log()
    assert log_marks(gb.log()) == [(Verdict.GOOD, shas[1]), (Verdict.SKIP, shas[2])]
    # the user's repository was never touched
    assert not (repo / ".git" / "BISECT_LOG").exists()
    assert git(repo, "for-each-ref", "refs/bisect") == ""
    assert git(repo, "rev-parse", "HEAD") == shas[-1]


def test_parse_position_rejects_the_unexpected() -> None:
    from harness.errors import InfraError

    with pytest.raises(InfraError):
        parse_position("fatal: something\n", 128)


def test_finds_the_culprit(history: tuple[Path, list[str]], tmp_path: Path) -> None:
    """git's walk on this history (base + 12, culprit 7) never reaches the
    broken commit 4: the skip of a broken build is
    test_broken_build_is_a_skip_step's, on a history where git picks it."""
    repo, shas = history
    root = tmp_path / "run"
    root.mkdir()
    fake = GitFakeRunner(repo)
    b, st = _bisection(repo, shas, root, fake)
    b.run()
    assert st.status == "done" and st.exit_code == 0
    assert st.culprit == {"commit": shas[7], "subject": "commit 7: add the demo bug"}
    assert st.title == TITLE
    assert [(shas.index(s.commit), s.role, s.verdict) for s in st.steps] == [
        (12, "bad end", "bad"), (6, "step", "good"), (9, "step", "bad"), (8, "step", "bad"),
        (7, "step", "bad")]
    assert sorted(set(fake.builds)) == sorted(shas[i] for i in (6, 7, 8, 9, 12))
    saved = json.loads((root / "bisect.json").read_text())
    assert saved["culprit"]["commit"] == shas[7] and saved["status"] == "done"
    log = (root / "bisect.log").read_text()
    assert f"git bisect bad {shas[7]}" in log and "first bad commit" in log
    text = report(st, root)
    assert "first bad commit: " + shas[7] in text and "confidence: 1.000" in text
    assert st.totals["vm_runs"] == len(fake.runs) and st.totals["builds"] == len(fake.builds)


def test_broken_build_is_a_skip_step(tmp_path: Path) -> None:
    repo = tmp_path / "linux"
    shas = make_history(repo, n=5, culprit=4, broken=(2, 3))
    root = tmp_path / "run"
    root.mkdir()
    b, st = _bisection(repo, shas, root, GitFakeRunner(repo))
    b.run()
    # git picks commit 2 first on this history (base + 5): the broken one
    step2 = next(s for s in st.steps if s.commit == shas[2])
    assert step2.verdict == "skip" and step2.reason.startswith("build failed: BROKEN:1:2")
    assert not step2.runs
    assert st.culprit is not None and st.culprit["commit"] == shas[4]
    assert f"git bisect skip {shas[2]}" in (root / "bisect.log").read_text()


def test_interrupted_bisection_resumes_without_redoing_steps(
        history: tuple[Path, list[str]], tmp_path: Path) -> None:
    repo, shas = history
    root = tmp_path / "run"
    root.mkdir()
    first = GitFakeRunner(repo, interrupt_at=13)
    b, st = _bisection(repo, shas, root, first)
    with pytest.raises(KeyboardInterrupt):
        b.run()
    saved = BisectState.load(root / "bisect.json")
    assert saved.status == "interrupted"
    decided = {s.commit: (s.verdict, len(s.runs)) for s in saved.steps if s.verdict}
    open_ = [s for s in saved.steps if not s.verdict]
    assert len(decided) >= 2 and len(open_) == 1 and open_[0].runs  # mid-step
    partial = (open_[0].commit, len(open_[0].runs))

    second = GitFakeRunner(repo)
    b2, st2 = _bisection(repo, shas, root, second, st=saved)
    b2.run()
    assert st2.culprit is not None and st2.culprit["commit"] == shas[7]
    # nothing decided before was built or run again; the open step went on
    assert not set(decided) & {c for c, _ in second.runs}
    assert not set(decided) & set(second.builds)
    assert (partial[0], partial[1] + 1) in second.runs
    assert all(r.session == 1 for s in st2.steps if s.commit in decided for r in s.runs)
    assert len(st2.sessions) == 2
    for c, (verdict, n) in decided.items():
        s = next(x for x in st2.steps if x.commit == c and x.verdict)
        assert (s.verdict, len(s.runs)) == (verdict, n)


def test_replay_trusts_the_log_and_goes_on(history: tuple[Path, list[str]],
                                           tmp_path: Path) -> None:
    repo, shas = history
    # a user's own session: git bisect start, one good mark, in a clone of theirs
    user = tmp_path / "user-clone"
    git(tmp_path, "clone", "-q", str(repo), str(user))
    git(user, "bisect", "start", shas[-1], shas[0])
    git(user, "bisect", "good", shas[5])
    log = tmp_path / "user.log"
    log.write_text(git(user, "bisect", "log") + "\n")
    root = tmp_path / "run"
    root.mkdir()
    fake = GitFakeRunner(repo)
    st = BisectState("c.yaml", str(repo), "", [])
    b, st = _bisection(repo, shas, root, fake, st=st, replay=log)
    b.run()
    assert st.bad == shas[-1] and set(st.good) == {shas[0], shas[5]}
    assert [(s.role, s.commit, s.verdict) for s in st.steps if s.role == "log"] == [
        ("log", shas[5], "good")]
    assert st.culprit is not None and st.culprit["commit"] == shas[7]
    assert not {c for c, _ in fake.runs} & set(shas[:6])  # nothing at or before the mark


# -- the CLI, with the pipeline runner replaced by the fake ----------------------


class _CliRunner(GitFakeRunner):
    instances: list[_CliRunner] = []
    interrupt_at: int | None = None

    def __init__(self, cfg: Any, repo: Path, kernels: Path, tests: Any, argv: Any) -> None:
        super().__init__(repo, interrupt_at=_CliRunner.interrupt_at)
        _CliRunner.instances.append(self)


@pytest.fixture
def cli_env(history: tuple[Path, list[str]], tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str], Path]:
    repo, shas = history
    monkeypatch.setattr(runner_mod, "PipelineRunner", _CliRunner)
    monkeypatch.setenv("HARNESS_KERNELS", str(tmp_path / "kernels"))
    _CliRunner.instances = []
    _CliRunner.interrupt_at = None
    cfg = tmp_path / "bis.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        name: bis
        kernel:
          source: {{git: {repo}, ref: HEAD}}
        tests:
          - {{name: demo-bug, run: [/opt/demo_bug_64]}}
        """))
    return repo, shas, cfg


def test_cli_bisect_report_rerun_and_resume(cli_env: tuple[Path, list[str], Path],
                                            tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    repo, shas, cfg = cli_env
    results = tmp_path / "results"
    argv = ["-q", "bisect", str(cfg), "--good", shas[0], "--bad", "main", "--runs", "3",
            "--results", str(results)]
    _CliRunner.interrupt_at = 6
    assert cli.main(argv) == 130
    (run_dir,) = results.iterdir()
    assert run_dir.name.startswith("bisect-bis-")
    assert json.loads((run_dir / "bisect.json").read_text())["status"] == "interrupted"
    assert "(open)" in (run_dir / "bisect.txt").read_text()
    runs_before = len(_CliRunner.instances[0].runs)

    _CliRunner.interrupt_at = None
    capsys.readouterr()
    assert cli.main(argv) == 0  # the same command: same folder, resumed
    out = capsys.readouterr().out
    assert f"first bad commit: {shas[7]} commit 7: add the demo bug" in out
    assert f"target: {TITLE}" in out and "VM runs:" in out
    assert list(results.iterdir()) == [run_dir]
    done = json.loads((run_dir / "bisect.json").read_text())
    assert done["totals"]["vm_runs"] == runs_before + len(_CliRunner.instances[1].runs)
    assert (run_dir / "bisect.txt").read_text() == out

    assert cli.main(argv) == 0  # finished: only the report again
    assert len(_CliRunner.instances) == 2
    # kernels/bisect holds git's state, not the user's repository
    assert (tmp_path / "kernels" / "bisect" / f"{run_dir.name}.git").is_dir()
    assert git(repo, "for-each-ref", "refs/bisect") == ""


def test_cli_bisect_usage_errors(cli_env: tuple[Path, list[str], Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    repo, shas, cfg = cli_env
    assert cli.main(["bisect", str(cfg), "--bad", "main"]) == 2
    assert cli.main(["bisect", str(cfg), "--good", "nope", "--bad", "main"]) == 2
    assert "'nope' is not a commit" in capsys.readouterr().err
    assert cli.main(["bisect", str(cfg), "--good", shas[0], "--bad", "main",
                     "--test", "nosuch"]) == 2
    # the bad end never crashes: nothing to bisect (a user error)
    assert cli.main(["-q", "bisect", str(cfg), "--good", shas[0], "--bad", shas[3],
                     "--runs", "2", "--max-runs", "3",
                     "--results", str(tmp_path / "r")]) == 2
    assert "showed no crash and no failure in 3 runs" in capsys.readouterr().err


def test_bisect_step_exit_codes(cli_env: tuple[Path, list[str], Path], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    repo, shas, cfg = cli_env
    base = ["-q", "bisect-step", str(cfg), "--results", str(tmp_path / "r"), "--runs", "3"]
    assert cli.main([*base, "--rev", shas[8]]) == 1
    assert "bad" in capsys.readouterr().out
    assert cli.main([*base, "--rev", shas[2]]) == 0
    assert cli.main([*base, "--rev", shas[4]]) == 125  # the broken build
    assert cli.main([*base, "--rev", "nope"]) == 128  # cannot test at all: abort
    step = json.loads(next((tmp_path / "r").glob(f"*-{shas[8][:12]}/step.json")).read_text())
    assert step["exit_code"] == 1 and step["step"]["verdict"] == "bad"
    assert len(step["step"]["runs"]) == 2  # bad at the second crash


def test_bisect_step_under_git_bisect_run(history: tuple[Path, list[str]],
                                          tmp_path: Path) -> None:
    """The exit codes as git itself reads them."""
    repo, shas = history
    user = tmp_path / "user-clone"
    git(tmp_path, "clone", "-q", str(repo), str(user))
    cfg = tmp_path / "bis.yaml"
    cfg.write_text(f"name: bis\nkernel:\n  source: {{git: {user}}}\n"
                   "tests:\n  - {name: t, run: 'true'}\n")
    script = tmp_path / "step.py"
    script.write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from harness import cli
        from harness.bisect import runner
        from tests.unit.gitfake import GitFakeRunner

        class Fake(GitFakeRunner):
            def __init__(self, cfg, repo, kernels, tests, argv):
                super().__init__(repo)

        runner.PipelineRunner = Fake
        sys.exit(cli.main(["-q", "bisect-step", {str(cfg)!r}, "--runs", "2",
                           "--results", {str(tmp_path / 'r')!r}]))
        """))
    git(user, "bisect", "start", shas[-1], shas[0])
    env = {**os.environ, "HARNESS_KERNELS": str(tmp_path / "kernels")}
    r = subprocess.run(["git", "-C", str(user), "bisect", "run", sys.executable, str(script)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{shas[7]} is the first bad commit" in r.stdout
