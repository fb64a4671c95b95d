"""``lam-harness bisect-step``: one commit, decided by the same rule, as an
exit status for ``git bisect run`` (0 good, 1 bad, 125 skip; 128 aborts the
bisection when the harness cannot test at all)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path

from .driver import StepTester
from .rule import Rule, Verdict
from .runner import StepRunner
from .state import StepRecord

EXIT_GOOD = 0
EXIT_BAD = 1
EXIT_SKIP = 125
EXIT_ABORT = 128  # git bisect run stops on any status above 127

EXIT_CODES = {Verdict.GOOD: EXIT_GOOD, Verdict.BAD: EXIT_BAD, Verdict.SKIP: EXIT_SKIP}


def run_step(runner: StepRunner, commit: str, subject: str, rule: Rule, title: str | None,
             rate: float | None, root: Path | None,
             say: Callable[[str], None] = lambda s: None) -> StepRecord:
    """Test ``commit`` until the rule decides.  ``title`` None: any crash is
    the target.  ``rate`` None: good after ``rule.runs`` clean runs."""
    step = StepRecord(commit, subject, "step")

    def save() -> None:
        if root is None:
            return
        tmp = root / ".step.json.tmp"
        tmp.write_text(json.dumps({"commit": commit, "subject": subject, "title": title,
                                   "rate": rate, "rule": rule.to_json(),
                                   "exit_code": EXIT_CODES[Verdict(step.verdict)]
                                   if step.verdict else None,
                                   "step": dataclasses.asdict(step)}, indent=2) + "\n")
        os.replace(tmp, root / "step.json")

    StepTester(runner, rule, root, lambda: 1, save, say).evaluate(step, title, rate)
    return step

