"""A QEMU guest's whole life: start, wait for readiness, watch health, stop.

No QEMU outlives the harness: each runs in its own session with
PR_SET_PDEATHSIG=SIGKILL (the kernel kills it if the harness dies, even by
SIGKILL), and every live machine is also killed at interpreter exit.  QEMU
states that never end by themselves (KVM internal error, which leaves QEMU
paused forever) are detected from its stderr and QMP and end the boot with an
infrastructure error within a second or so.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import BootError, InfraError
from .console import Console
from .qemu import QemuInvocation
from .qmp import Qmp, QmpError

_PR_SET_PDEATHSIG = 1
_LIVE: set[Machine] = set()
_LIVE_LOCK = threading.Lock()

# QEMU stderr lines that mean the guest will never make progress again.
FATAL_PATTERNS = (
    ("KVM internal error", "KVM internal error: this host's KVM cannot run this guest "
                           "(QEMU paused itself); use accel: tcg or auto"),
    ("emulation failure", "KVM emulation failure"),
)
MSR_ABORT = "failed to set MSR 0x10a"


def _pdeathsig() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class BootTimings:
    started: float = 0.0  # monotonic time QEMU was started
    ready: float | None = None  # seconds from start to the readiness marker

    def to_json(self) -> dict[str, float | None]:
        return {"qemu_start_to_ready_s": self.ready}


@dataclass
class Machine:
    inv: QemuInvocation
    job_dir: Path
    ready_line: str
    notes: list[str] = field(default_factory=list)
    on_spawn: Callable[[int], None] | None = None
    proc: subprocess.Popen[bytes] | None = None
    console: Console | None = None
    timings: BootTimings = field(default_factory=BootTimings)
    _qemu_log_pos: int = 0
    _sockdir: str | None = None

    def __hash__(self) -> int:
        return id(self)

    @property
    def qemu_log(self) -> Path:
        return self.job_dir / "qemu.log"

    @property
    def console_log(self) -> Path:
        return self.job_dir / "console.log"

    # -- start -----------------------------------------------------------------
    def start(self, boot_timeout: float) -> None:
        """Start QEMU and wait for the readiness marker; BootError otherwise."""
        self._sockdir = tempfile.mkdtemp(prefix="lamh-")
        self.inv = replace(self.inv, serial_sock=Path(self._sockdir) / "serial.sock",
                           qmp_sock=Path(self._sockdir) / "qmp.sock")
        attempts = 3
        for attempt in range(attempts):
            self._spawn()
            try:
                self._wait_ready(boot_timeout)
                return
            except BootError as e:
                retry = self._retry_fix(str(e), attempt)
                if retry is None or attempt == attempts - 1:
                    raise
                self.notes.append(retry)
                self.kill()

    def _retry_fix(self, error: str, attempt: int) -> str | None:
        """Known QEMU start-up failures that a changed command line avoids."""
        log = self.read_qemu_log()
        if MSR_ABORT in log and "-arch-capabilities" not in self.inv.cpu:
            self.inv = replace(self.inv, cpu=self.inv.cpu + ",-arch-capabilities")
            return ("QEMU aborted setting MSR 0x10a (IA32_ARCH_CAPABILITIES) on this KVM: "
                    "retried with -cpu ...,-arch-capabilities")
        if "Could not set up host forwarding rule" in log and attempt < 2:
            self.inv = replace(self.inv, ssh_port=free_port())
            return "SSH port was taken: retried on another port"
        return None

    def _spawn(self) -> None:
        self.job_dir.mkdir(parents=True, exist_ok=True)
        for s in (self.inv.serial_sock, self.inv.qmp_sock):
            s.unlink(missing_ok=True)
        argv = self.inv.argv()
        (self.job_dir / "qemu.cmdline").write_text(shlex.join(argv) + "\n")
        log = open(self.qemu_log, "ab", buffering=0)  # noqa: SIM115
        self._qemu_log_pos = self.qemu_log.stat().st_size
        self.timings = BootTimings(started=time.monotonic())
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True, preexec_fn=_pdeathsig)
        except FileNotFoundError:
            raise InfraError(f"QEMU binary {argv[0]} not found") from None
        finally:
            log.close()
        with _LIVE_LOCK:
            _LIVE.add(self)
        if self.on_spawn is not None:
            self.on_spawn(self.proc.pid)
        self.console = Console(self.console_log, self.ready_line)
        self.console.attach(self.inv.serial_sock, self.alive)

    def _wait_ready(self, timeout: float) -> None:
        assert self.console is not None
        deadline = self.timings.started + timeout
        qmp_checked = 0.0
        while not self.console.ready.wait(0.05):
            self.check_health()
            now = time.monotonic()
            if now - qmp_checked > 1.0:
                qmp_checked = now
                self._check_qmp()
            if now > deadline:
                self.kill()
                raise BootError(f"no readiness marker within {timeout:.0f}s "
                                f"(last console lines: {self._console_tail()})")
        self.timings.ready = time.monotonic() - self.timings.started

    # -- health ----------------------------------------------------------------
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def read_qemu_log(self) -> str:
        try:
            with open(self.qemu_log, "rb") as f:
                f.seek(self._qemu_log_pos)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def fatal_reason(self) -> str | None:
        log = self.read_qemu_log()
        for pat, why in FATAL_PATTERNS:
            if pat in log:
                return why
        return None

    def check_health(self) -> None:
        """BootError if QEMU died or is stuck for good (before readiness)."""
        why = self.fatal_reason()
        if why:
            self.kill()
            raise BootError(why)
        if not self.alive():
            assert self.proc is not None
            rc = self.proc.returncode
            if self.console is not None:
                self.console.wait_closed(2.0)
            reports = [t.report for t in self.console.reports] if self.console else []
            if reports:
                raise BootError(f"kernel crashed during boot: {reports[0].title}")
            err = self.read_qemu_log().strip().splitlines()
            detail = err[-1] if err else f"(console: {self._console_tail()})"
            raise BootError(f"QEMU exited with status {rc} before the guest was ready: {detail}")

    def _check_qmp(self) -> None:
        try:
            q = Qmp(self.inv.qmp_sock, timeout=1.0)
        except (OSError, QmpError):
            return
        try:
            st = q.execute("query-status")
        except (OSError, QmpError):
            return
        finally:
            q.close()
        if isinstance(st, dict) and st.get("status") in ("internal-error", "guest-panicked",
                                                          "shutdown"):
            self.kill()
            raise BootError(f"QEMU guest state is {st.get('status')!r}: "
                            f"{self.fatal_reason() or 'the guest cannot continue'}")

    def _console_tail(self, n: int = 3) -> str:
        try:
            lines = self.console_log.read_bytes()[-4000:].decode("utf-8", "replace").splitlines()
        except OSError:
            return "none"
        tail = [ln.strip() for ln in lines if ln.strip()][-n:]
        return " | ".join(tail) if tail else "none"

    # -- stop ------------------------------------------------------------------
    def kill(self) -> None:
        """Stop QEMU for sure (TERM, then KILL its process group)."""
        p = self.proc
        if p is not None and p.poll() is None:
            for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    p.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.console is not None:
            self.console.close()
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def stop(self) -> None:
        self.kill()
        if self._sockdir:
            shutil.rmtree(self._sockdir, ignore_errors=True)
            self._sockdir = None


@atexit.register
def kill_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for m in live:
        m.stop()
