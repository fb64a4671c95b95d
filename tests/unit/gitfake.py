"""Real git, fake kernel: a small linear history in a throwaway repository,
and a step runner that reads the commit's tree instead of building and
booting (a ``BUG`` file: each run crashes with TITLE at ``rate``; a
``BROKEN`` file: the build fails)."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

from harness.bisect.state import BuildRecord, RunRecord

TITLE = "kernel BUG in demo_bug_fire"
ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+0000",
       "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+0000"}


def git(repo: Path, *args: str) -> str:
    r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                       env={**os.environ, **ENV}, check=True)
    return r.stdout.strip()


def make_history(repo: Path, n: int = 12, culprit: int = 7,
                 broken: tuple[int, int] | None = (4, 5)) -> list[str]:
    """base (good) + commits 1..n; ``culprit`` adds BUG; ``broken`` = (a, b):
    commit a adds BROKEN, commit b removes it.  Returns the shas, [0] = base."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("base\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    shas = [git(repo, "rev-parse", "HEAD")]
    for i in range(1, n + 1):
        (repo / f"f{i}").write_text(f"{i}\n")
        subject = f"commit {i}"
        if i == culprit:
            (repo / "BUG").write_text("demo bug\n")
            subject = f"commit {i}: add the demo bug"
        if broken and i == broken[0]:
            (repo / "BROKEN").write_text("#error\n")
            subject = f"commit {i}: break the build"
        if broken and i == broken[1]:
            (repo / "BROKEN").unlink()
            subject = f"commit {i}: fix the build"
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", subject)
        shas.append(git(repo, "rev-parse", "HEAD"))
    return shas


class GitFakeRunner:
    def __init__(self, repo: Path, rate: float = 1.0, seed: int = 1,
                 interrupt_at: int | None = None) -> None:
        self.repo = repo
        self.rate = rate
        self.rng = random.Random(seed)
        self.interrupt_at = interrupt_at
        self.builds: list[str] = []
        self.runs: list[tuple[str, int]] = []

    def _has(self, commit: str, name: str) -> bool:
        return subprocess.run(["git", "-C", str(self.repo), "cat-file", "-e",
                               f"{commit}:{name}"], capture_output=True).returncode == 0

    def build(self, commit: str, step_dir: Path | None) -> BuildRecord:
        self.builds.append(commit)
        if self._has(commit, "BROKEN"):
            return BuildRecord(False, 0.5, error="BROKEN:1:2: error: #error\nmake failed",
                               blame="infra")
        return BuildRecord(True, 0.5, key=commit)

    def run(self, commit: str, step_dir: Path | None, index: int) -> RunRecord:
        if self.interrupt_at is not None and len(self.runs) + 1 == self.interrupt_at:
            raise KeyboardInterrupt
        self.runs.append((commit, index))
        if step_dir is not None:
            (step_dir / f"run-{index}").mkdir(parents=True, exist_ok=True)
        if self._has(commit, "BUG") and self.rng.random() < self.rate:
            return RunRecord(index, "ran", crashes=[TITLE], seconds=0.1)
        return RunRecord(index, "ran", seconds=0.1)
