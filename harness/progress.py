"""Progress lines for long steps, on stderr: one line when a step starts and
one when it ends (with its duration), so logs of CI runs stay readable."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .textsafe import lines

quiet = False


def say(msg: str) -> None:
    if not quiet:
        print(f"lam-harness: {lines(msg)}", file=sys.stderr, flush=True)


@contextmanager
def step(what: str) -> Iterator[None]:
    t0 = time.monotonic()
    say(f"{what} ...")
    try:
        yield
    except BaseException:
        say(f"{what}: failed after {time.monotonic() - t0:.1f}s")
        raise
    say(f"{what}: done in {time.monotonic() - t0:.1f}s")
