"""Blame is in the type: who must act on an error decides its exit code.

``UserError`` (exit 2): the config, the command line or an input the user gave
is wrong.  ``InfraError`` (exit 3): the build, the boot, SSH or the host failed;
no verdict about the kernel under test can be drawn.  Test failures and crashes
are not exceptions at all: they are verdicts (exit 1).
"""

from __future__ import annotations

import re
from pathlib import Path

EXIT_OK = 0
EXIT_TEST_FAILED = 1
EXIT_USAGE = 2
EXIT_INFRA = 3
EXIT_INTERRUPTED = 130


class HarnessError(Exception):
    """Base of all errors the harness reports to people in one line."""

    exit_code = EXIT_INFRA

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class UserError(HarnessError):
    """Bad config, bad arguments, an input that does not exist: exit 2."""

    exit_code = EXIT_USAGE


class ConfigError(UserError):
    """A config file problem; ``where`` is ``file:line``.  The message is
    kept to one printable line of reasonable length, whatever value of the
    config it quotes."""

    MAX = 2000
    WORD = 200

    def __init__(self, message: str, *, where: str | None = None) -> None:
        one = "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(
            message.split()))
        # A value quoted from the config (a 5000-digit number, a huge string)
        # is shortened where it stands; the rest of the message is kept.
        one = re.sub(rf"\S{{{self.WORD},}}", lambda m: f"{m[0][:self.WORD - 40]}..."
                     f"({len(m[0])} characters)", one)
        if len(one) > self.MAX:
            one = f"{one[:self.MAX - 60]}... ({len(one)} characters)"
        super().__init__(one, where=where)


class InfraError(HarnessError):
    """Build, boot, SSH or host failure: exit 3, never a test verdict."""

    exit_code = EXIT_INFRA


class InternalError(InfraError):
    """A bug in the harness (an exception nobody expected): exit 3, like any
    infrastructure failure, since no verdict about the kernel can be drawn;
    the traceback is kept in a file that the message names."""


def describe_exception(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def save_traceback(e: BaseException, path: Path) -> Path | None:
    """The traceback of ``e`` into ``path`` (None when it cannot be written)."""
    import traceback

    try:
        path.write_text("".join(traceback.format_exception(e)))
        return path
    except OSError:
        return None


class BootError(InfraError):
    """The guest did not come up (no readiness marker, QEMU died, KVM error)."""


class MissingToolError(InfraError):
    """A host tool the step needs is not installed."""
