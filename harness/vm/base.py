"""The Machine protocol: one guest as the pipeline sees it.  The pipeline
starts it, reads its serial console (a ``Console`` pumping any byte stream),
reaches its SSH server on ``inv.ssh_port`` of the host's loopback (the exec
transport, ``exec.Guest``), asks whether it still runs, and stops it.

``vm/machine.QemuMachine`` is the real one; tests give the pipeline a fake
(``tests/unit/fakevm.py``) through a ``MachineFactory``.  Every started
machine, of any kind, is registered here (``live``) until it is killed
(``dead``): ``kill_all`` stops them all, at exit and when the pool is
interrupted."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config import Limits
from ..hosts.base import Host
from .console import Console
from .qemu import QemuInvocation


@dataclass
class BootTimings:
    started: float = 0.0  # monotonic time the machine was started
    ready: float | None = None  # seconds from start to the readiness marker

    def to_json(self) -> dict[str, float | None]:
        return {"qemu_start_to_ready_s": self.ready}


class Machine(Protocol):
    # What it was started with; ``cpu`` and ``ssh_port`` may change when a
    # start is retried, so read them after ``start``.
    inv: QemuInvocation
    notes: list[str]  # for run.json (e.g. a retried start)
    on_spawn: Callable[[int], None] | None  # called with the pid once it runs
    console: Console | None  # attached by ``start``
    timings: BootTimings

    def start(self, boot_timeout: float) -> None:
        """Start it and wait for the readiness marker on the console;
        BootError when it does not come (crash, exit, hang, KVM error)."""
        ...
    def alive(self) -> bool: ...
    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for it to end; True when it has."""
        ...
    def lost(self) -> str | None:
        """Why its fate is unknown (the connection to its host dropped), else None."""
        ...
    def stop(self) -> None:
        """Stop it for sure and release its host folder; idempotent."""
        ...


class MachineFactory(Protocol):
    def __call__(self, inv: QemuInvocation, job_dir: Path, ready_line: str, *, host: Host,
                 run_dir: str | None, limits: Limits) -> Machine: ...


_LIVE: set[Machine] = set()
_LIVE_LOCK = threading.Lock()


def live(m: Machine) -> None:
    """``m`` runs: ``kill_all`` stops it."""
    with _LIVE_LOCK:
        _LIVE.add(m)


def dead(m: Machine) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(m)


@atexit.register
def kill_all() -> None:
    """Stop every live machine (at interpreter exit; the pool on Ctrl-C)."""
    with _LIVE_LOCK:
        running = list(_LIVE)
    for m in running:
        m.stop()
