"""Who picks the next commit: real ``git bisect`` (:mod:`.git`) or, for the
simulation and unit tests, :class:`LinearChooser` (git's choice on a linear
history: the midpoint, skipped commits stepped around)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .rule import Verdict


@dataclass(frozen=True)
class Position:
    """Where the bisection stands: a commit to test next, or the end."""

    next: str | None = None
    culprit: str | None = None  # the first bad commit
    candidates: tuple[str, ...] = ()  # only skipped commits left: one of these
    message: str = ""  # git's words ("Bisecting: 3 revisions left ...")

    @property
    def done(self) -> bool:
        return self.next is None


class Chooser(Protocol):
    def start(self, bad: str, good: list[str]) -> Position: ...

    def mark(self, commit: str, verdict: Verdict) -> Position: ...

    def subject(self, commit: str) -> str: ...


class LinearChooser:
    """Bisection over a linear history ``commits[0]`` (good) .. ``commits[-1]``
    (bad), as git does it: test the midpoint of the unknown range; a skipped
    commit is stepped around (the nearest untested one to the midpoint); when
    only skipped commits are left, the answer is a range."""

    def __init__(self, commits: list[str]) -> None:
        self.commits = commits
        self.index = {c: i for i, c in enumerate(commits)}
        self.lo = 0
        self.hi = len(commits) - 1
        self.skipped: set[int] = set()

    def start(self, bad: str, good: list[str]) -> Position:
        self.hi = self.index[bad]
        self.lo = max(self.index[g] for g in good)
        return self._next()

    def mark(self, commit: str, verdict: Verdict) -> Position:
        i = self.index[commit]
        if verdict is Verdict.GOOD:
            self.lo = max(self.lo, i)
        elif verdict is Verdict.BAD:
            self.hi = min(self.hi, i)
        else:
            self.skipped.add(i)
        return self._next()

    def subject(self, commit: str) -> str:
        return f"commit {self.index[commit]}"

    def _next(self) -> Position:
        if self.hi - self.lo <= 1:
            return Position(culprit=self.commits[self.hi])
        mid = (self.lo + self.hi) // 2
        open_ = [i for i in range(self.lo + 1, self.hi) if i not in self.skipped]
        if not open_:
            return Position(candidates=tuple(self.commits[i]
                                             for i in range(self.lo + 1, self.hi + 1)))
        best = min(open_, key=lambda i: (abs(i - mid), i))
        return Position(next=self.commits[best])
