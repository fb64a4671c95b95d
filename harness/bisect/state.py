"""What a bisection knows, as plain data kept in ``bisect.json`` (rewritten
atomically after every run and every verdict, so an interrupted bisection
resumes where it stopped)."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rule import FAILED_PREFIX, Counts, Kind

SCHEMA = 1


@dataclass
class RunRecord:
    """One boot running the selected tests, reduced to what bisection needs."""

    index: int
    status: str  # "ran" | "error" (no verdict: boot failure, guest lost...)
    crashes: list[str] = field(default_factory=list)  # normalized titles, in order
    failed: list[str] = field(default_factory=list)  # tests that failed without a crash
    error: str = ""
    dir: str = ""  # the run's results folder, relative to the bisect folder
    seconds: float = 0.0
    session: int = 1  # which invocation of the command ran it
    kind: str = ""  # against the target, filled in once the target is known


@dataclass
class BuildRecord:
    ok: bool
    seconds: float
    hit: bool = False  # the build cache had it: no make ran
    key: str = ""
    log: str = ""
    error: str = ""
    blame: str = ""  # failures: "user" (the config or the tree at this commit) | "infra"
    make_s: float | None = None
    session: int = 1


@dataclass
class StepRecord:
    commit: str
    subject: str
    role: str  # "bad end" | "good end" | "step" | "log" (a mark from --replay)
    dir: str = ""
    build: BuildRecord | None = None
    runs: list[RunRecord] = field(default_factory=list)
    verdict: str | None = None  # good | bad | skip
    weak: bool = False
    reason: str = ""

    def counts(self, title: str | None) -> Counts:
        return Counts.of(classify(r, title) for r in self.runs)


@dataclass
class BisectState:
    config_file: str
    repo: str
    bad: str
    good: list[str]
    tests: list[str] | None = None
    title: str | None = None
    title_source: str = ""  # "--title" | "bad end"
    replay: str | None = None
    status: str = "running"  # running | done | failed | interrupted
    exit_code: int | None = None
    rule: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    culprit: dict[str, str] | None = None
    candidates: list[dict[str, str]] = field(default_factory=list)
    rate: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    bad_end_titles: dict[str, int] = field(default_factory=dict)
    reproducer: str = ""
    schema: int = SCHEMA
    kind: str = "bisect"

    @property
    def session(self) -> int:
        return max(1, len(self.sessions))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_json(d: dict[str, Any]) -> BisectState:
        d = dict(d)
        steps = []
        for s in d.pop("steps", []):
            s = dict(s)
            b = s.pop("build", None)
            runs = [RunRecord(**r) for r in s.pop("runs", [])]
            steps.append(StepRecord(**s, build=BuildRecord(**b) if b else None, runs=runs))
        known = {f.name for f in dataclasses.fields(BisectState)}
        return BisectState(**{k: v for k, v in d.items() if k in known}, steps=steps)

    def save(self, path: Path) -> None:
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        os.replace(tmp, path)

    @staticmethod
    def load(path: Path) -> BisectState:
        return BisectState.from_json(json.loads(path.read_text()))


def classify(run: RunRecord, title: str | None) -> Kind:
    """A run against the target title (None: any crash is the target)."""
    if title is None:
        hit = bool(run.crashes)
    elif title.startswith(FAILED_PREFIX):
        hit = title[len(FAILED_PREFIX):] in run.failed
    else:
        hit = title in run.crashes
    if hit:
        return Kind.TARGET
    if run.crashes:
        return Kind.OTHER
    if run.status == "error":
        return Kind.ERROR
    return Kind.CLEAN
