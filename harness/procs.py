"""Child processes that never outlive the harness: each runs in a process
group of its own (so the whole tree can be stopped, not just its leader) and
dies with the harness (PR_SET_PDEATHSIG), whatever signal ends it."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess

_PR_SET_PDEATHSIG = 1


def pdeathsig() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def kill_group(p: subprocess.Popen[bytes], grace: float = 2.0) -> None:
    """TERM the child's whole process group, KILL what is left after
    ``grace`` seconds, and reap the child.  The group is signalled even when
    the leader is already gone (make's own children may still run)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            break
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        if not _group_alive(p.pid):
            break
    if p.poll() is None:
        p.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
