"""Guest-controlled text made safe for a terminal, a text file or a
Markdown page: the guest writes test names' output, crash titles and
reasons, and none of it may move a cursor, clear a screen, ring a bell,
rewrite a line (CR), reorder text (Unicode bidi controls) or start a line
of its own in a report.  Escapes are visible (``\\x1b``), never dropped."""

from __future__ import annotations

import re

# C0 (but TAB) and C1 controls, DEL, line/paragraph separators, bidi controls
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def oneline(text: str) -> str:
    """``text`` as one printable line: every control (newline included) escaped."""
    return _UNSAFE.sub(_escape, text)


def lines(text: str) -> str:
    """``text`` with its newlines kept and every other control escaped."""
    return "\n".join(oneline(line) for line in text.split("\n"))
