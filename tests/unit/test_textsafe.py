"""Guest-controlled text never reaches a terminal or a report with its
control characters live (harness/textsafe.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import textsafe


@pytest.mark.parametrize("raw, shown", [
    ("\x1b[2J\x1b[Hcleared", "\\x1b[2J\\x1b[Hcleared"),
    ("ok\rFAIL", "ok\\x0dFAIL"),
    ("bell\x07", "bell\\x07"),
    ("a\nb", "a\\x0ab"),
    ("tab\tkept", "tab\tkept"),
    ("\u202eevil", "\\u202eevil"),
    ("csi \x9b1m", "csi \\x9b1m"),
    ("plain: ünïcode", "plain: ünïcode"),
])
def test_oneline_escapes_every_control(raw: str, shown: str) -> None:
    assert textsafe.oneline(raw) == shown


def test_lines_keeps_newlines_only() -> None:
    assert textsafe.lines("a\x1b]0;title\x07\nb\r") == "a\\x1b]0;title\\x07\nb\\x0d"


def test_summary_txt_escapes_guest_text(tmp_path: Path) -> None:
    from harness import cli
    from tests.unit.runfolders import make_run

    evil = "kernel panic: x\x1b[31m\nNew failures (9):"
    run = make_run(tmp_path, "r1", {"t": ("crash", evil)})
    assert cli.main(["report", str(run)]) in (0, 1)
    out = (run / "summary.txt").read_text()
    assert "\x1b" not in out and "\\x1b[31m" in out
    # the guest cannot forge a section: its text stays inside its own line
    assert [ln for ln in out.splitlines() if ln.startswith("New failures (")] == \
        ["New failures (1):"], out
