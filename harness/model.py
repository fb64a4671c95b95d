"""Plain data shared by the stages: verdicts and per-test results."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    CRASH = "crash"  # an oops report appeared while the test ran
    ERROR = "error"  # infrastructure: SSH lost without an oops, harness timeout...
    NOTRUN = "notrun"  # never started (guest died earlier); reason says why

    @property
    def is_bad(self) -> bool:
        return self in (Verdict.FAIL, Verdict.CRASH)


@dataclass
class OopsRef:
    """A console report tied to a test, as stored in run.json."""

    title: str
    kind: str
    file: str  # oops-N.txt, relative to the test's folder
    first_line: int  # line numbers in console.log (1-based)
    last_line: int
    corrupted: bool = False
    guilty_frame: str | None = None
    symbolized: bool = False  # oops-N.txt has file:line for its frames (job's vmlinux)
    console: str = ""  # the log it is in, relative to the job folder, when not console.log


@dataclass
class SubResult:
    """One TAP result inside a ``format: tap`` test (path joined by " / ")."""

    name: str
    verdict: Verdict
    reason: str = ""


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class
    name: str  # test name, with "#N" for iterations past the first when repeated
    test: str  # the test's name in the config
    iteration: int
    verdict: Verdict
    reason: str = ""  # one line: why fail/skip/error/notrun; title for crash
    exit_status: int | None = None
    duration: float = 0.0
    stdout: str = ""  # file names relative to the job folder
    stderr: str = ""
    oopses: list[OopsRef] = field(default_factory=list)
    subtests: list[SubResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # parser problems and such
    lam: str = ""  # LAM of the guest that ran it (results.schema.lam_label), "" before boot
    console: str = ""  # its console log, relative to the job folder (pools, merges)

    def to_json(self) -> dict[str, Any]:
        """The run.json entry (results/schema.py); ``console`` only when set."""
        d = asdict(self)
        d["verdict"] = self.verdict.value
        for sub in d["subtests"]:
            sub["verdict"] = sub["verdict"].value
        for o in [d, *d["oopses"]]:
            if not o["console"]:
                del o["console"]
        return d
