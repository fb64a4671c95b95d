"""The Host protocol: everything the pipeline does to the machine that runs
QEMU goes through it, so the same code path runs here (``LocalHost``) and on a
remote LAM runner (``SSHHost``).

Paths given to a host are paths *on that host* (strings); local files that the
host needs are first made available there with ``stage`` (content-addressed
upload on a remote, the same path locally).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..vm.hostinfo import HostFacts, QemuFacts


@dataclass(frozen=True)
class Completed:
    """A finished command: exit status and its output."""

    status: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return (self.stdout + self.stderr).decode("utf-8", "replace")


@dataclass(frozen=True)
class RunPlace:
    """Where one machine runs on a host: a private folder (sockets, pid file),
    the initramfs as the host sees it, and a free TCP port on its loopback."""

    dir: str
    initrd: str
    port: int


@runtime_checkable
class Stream(Protocol):
    """A connected byte stream: a ``socket.socket`` locally, a paramiko
    ``Channel`` (direct-tcpip, or an exec channel running the agent's relay)
    on an SSH host."""

    def sendall(self, data: bytes) -> None: ...
    def recv(self, n: int) -> bytes: ...
    def settimeout(self, timeout: float | None) -> None: ...
    def fileno(self) -> int: ...
    def shutdown(self, how: int) -> None: ...
    def close(self) -> None: ...


class Process(Protocol):
    """A long-running process on a host (QEMU), its output streamed into a
    local log file; it runs in a process group of its own."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    def poll(self) -> int | None:
        """The exit status, or None while it runs.  A process whose host
        connection was lost counts as ended (status 255)."""
        ...
    def wait(self, timeout: float | None = None) -> int:
        """Raises ``subprocess.TimeoutExpired`` when it does not end in time."""
        ...
    def kill(self) -> None:
        """End it for sure: TERM, then KILL its process group."""
        ...
    @property
    def lost(self) -> str | None:
        """Why the process's fate is unknown (connection dropped), else None."""
        ...


class Host(Protocol):
    label: str  # "local", or "user@host:port"
    local: bool

    def run(self, argv: list[str], *, input: bytes | None = None,
            timeout: float | None = 60.0) -> Completed:
        """Run a command given as argv (never a shell string)."""
        ...
    def put(self, src: Path, dst: str) -> None: ...
    def get(self, src: str, dst: Path) -> None: ...
    def stage(self, src: Path, *, executable: bool = False, what: str = "") -> str:
        """Make a local file available on the host; returns its path there."""
        ...
    def stage_qemu(self, binary: str) -> str:
        """A QEMU binary setting as the host must run it: a bare name is looked
        up on the host's PATH, a local file is staged."""
        ...
    def prepare_run(self, initrd: Path, common: int) -> RunPlace:
        """A place for one machine; ``initrd``'s first ``common`` bytes are the
        part shared by runs (the rest is per run)."""
        ...
    def free_port(self) -> int: ...
    def spawn(self, argv: list[str], log: Path, run_dir: str) -> Process:
        """Start ``argv`` in its own process group, output appended to ``log``;
        ``run_dir`` (from ``prepare_run``) holds its pid file on the host."""
        ...
    def release(self, run_dir: str) -> None:
        """Remove a run folder (after its process ended); idempotent."""
        ...
    def open_unix(self, path: str, wait: float, alive: Callable[[], bool]) -> Stream:
        """Connect to a unix socket on the host, waiting up to ``wait`` seconds
        for it to accept while ``alive()``."""
        ...
    def open_tcp(self, host: str, port: int, timeout: float) -> Stream:
        """Connect to a TCP port as seen from the host (its loopback)."""
        ...
    def facts(self, qemu: object = "system") -> HostFacts: ...
    def require_qemu(self, binary: str) -> QemuFacts:
        """Facts of a QEMU binary on the host (``stage_qemu`` first);
        MissingToolError when it is not there."""
        ...
    def fork(self) -> Host:
        """The same host for another guest slot: a connection of its own on
        SSH (sshd's MaxSessions is per connection), the same object locally."""
        ...
    def close(self) -> None: ...
