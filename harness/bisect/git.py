"""Real ``git bisect``, in a repository of the harness's own.

The bisection runs in a bare ``git clone --shared`` of the user's repository
under ``kernels/bisect/`` (objects read through alternates: the user's
checkout, index, refs and bisect state are never touched).  A bare repository
bisects with ``--no-checkout``: git only moves ``BISECT_HEAD``, and the
commit is built through the build cache's own tree (``kernels/git/``), which
stays the same across steps so that builds are incremental.

The clone is made anew each time a bisection starts or resumes; its state is
rebuilt from the verdicts recorded in ``bisect.json`` (and ``--replay``),
which is cheap since nothing is checked out.  ``git bisect next`` tells where
the bisection stands after each verdict.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ..errors import InfraError, UserError
from ..kernel.source import git
from .chooser import Position
from .rule import Verdict

_SHA = r"[0-9a-f]{40}"
_FIRST_BAD = re.compile(rf"^({_SHA}) is the first bad commit", re.M)
_NEXT = re.compile(rf"^\[({_SHA})\]", re.M)
_ONLY_SKIPPED = "only 'skip'ped commits left"
_MARK = re.compile(rf"^git bisect (good|bad|skip|old|new) ({_SHA}(?: {_SHA})*)\s*$", re.M)


def rev_parse(repo: Path, rev: str) -> str:
    """A revision of the user's repository as a full commit id (user error
    when it is not a commit there)."""
    r = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                        f"{rev}^{{commit}}"], capture_output=True, text=True)
    if r.returncode != 0:
        raise UserError(f"{rev!r} is not a commit in {repo}")
    return r.stdout.strip()


def parse_position(out: str, rc: int) -> Position:
    m = _FIRST_BAD.search(out)
    if m:
        return Position(culprit=m.group(1), message=f"{m.group(1)} is the first bad commit")
    if _ONLY_SKIPPED in out:
        tail = out.split("could be any of:", 1)[-1]
        cands = tuple(dict.fromkeys(re.findall(rf"^({_SHA})$", tail, re.M)))
        return Position(candidates=cands, message="only skipped commits left to test")
    m = _NEXT.search(out)
    if m and rc == 0:
        first = out.strip().splitlines()[0] if out.strip() else ""
        return Position(next=m.group(1), message=first)
    raise InfraError(f"git bisect: unexpected answer (exit {rc}): {out.strip()[-500:]}")


def log_marks(text: str) -> list[tuple[Verdict, str]]:
    """The ``git bisect good|bad|skip SHA`` lines of a bisect log, in order
    (``old``/``new`` read as good/bad)."""
    out: list[tuple[Verdict, str]] = []
    names = {"good": Verdict.GOOD, "old": Verdict.GOOD, "bad": Verdict.BAD,
             "new": Verdict.BAD, "skip": Verdict.SKIP}
    for m in _MARK.finditer(text):
        for sha in m.group(2).split():
            out.append((names[m.group(1)], sha))
    return out


class GitBisect:
    """:class:`~.chooser.Chooser` over real ``git bisect --no-checkout``."""

    def __init__(self, user_repo: Path, repo: Path) -> None:
        self.user_repo = user_repo
        self.repo = repo

    def prepare(self) -> None:
        """A fresh bare shared clone (any earlier one, and its state, removed)."""
        shutil.rmtree(self.repo, ignore_errors=True)
        self.repo.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["git", "clone", "-q", "--bare", "--shared", str(self.user_repo),
                            str(self.repo)], capture_output=True, text=True)
        if r.returncode != 0:
            raise InfraError(f"git clone --bare --shared {self.user_repo} failed: "
                             f"{r.stderr.strip()[-300:]}")

    def _bisect(self, *args: str) -> tuple[str, int]:
        r = git(self.repo, "bisect", *args, check=False)
        return r.stdout + r.stderr, r.returncode

    def next(self) -> Position:
        out, rc = self._bisect("next")
        return parse_position(out, rc)

    def _detach(self, commit: str) -> None:
        """HEAD of our clone at a commit: git bisect reads HEAD, and a user
        repository's HEAD may be unborn or name a branch a bare clone lacks."""
        git(self.repo, "update-ref", "--no-deref", "HEAD", commit, check=False)

    def start(self, bad: str, good: list[str]) -> Position:
        self._detach(bad)
        out, rc = self._bisect("start", "--no-checkout", bad, *good)
        if rc != 0 and "is the first bad commit" not in out:
            raise UserError(f"git bisect start {bad[:12]} {' '.join(g[:12] for g in good)}: "
                            f"{out.strip()[-500:]}")
        return self.next()

    def replay(self, log: Path) -> Position:
        try:
            text = log.read_text()
        except OSError as e:
            raise UserError(f"--replay: cannot read {log}: {e.strerror}") from None
        if not re.search(r"^git bisect start", text, re.M):
            raise UserError(f"--replay: {log} is not a git bisect log (no 'git bisect start')")
        first = re.search(_SHA, text)
        if first:
            self._detach(first.group(0))
        copy = self.repo / "lam-harness-replay.log"
        copy.write_text(text)
        out, rc = self._bisect("replay", str(copy))
        if rc != 0 and _ONLY_SKIPPED not in out and "first bad commit" not in out:
            raise UserError(f"--replay {log}: git bisect replay failed: {out.strip()[-500:]}")
        return self.next()

    def terms(self) -> tuple[str | None, list[str]]:
        """The bad commit and the good ones git knows (after a replay)."""
        bad = git(self.repo, "rev-parse", "--verify", "--quiet", "refs/bisect/bad", check=False)
        goods = git(self.repo, "for-each-ref", "--format=%(objectname)", "refs/bisect/good-*")
        return (bad.stdout.strip() or None), goods.stdout.split()

    def mark(self, commit: str, verdict: Verdict) -> Position:
        out, rc = self._bisect(verdict.value, commit)
        if rc != 0 and _ONLY_SKIPPED not in out and "first bad commit" not in out:
            raise InfraError(f"git bisect {verdict.value} {commit[:12]} failed: "
                             f"{out.strip()[-500:]}")
        return self.next()

    def subject(self, commit: str) -> str:
        return git(self.repo, "log", "-1", "--format=%s", commit).stdout.strip()

    def log(self) -> str:
        return git(self.repo, "bisect", "log", check=False).stdout
