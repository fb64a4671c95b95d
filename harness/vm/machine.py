"""A QEMU guest's whole life: start, wait for readiness, watch health, stop.

Everything that touches the machine running QEMU goes through a Host
(harness/hosts): this one, or a remote runner over SSH.  No QEMU outlives the
harness: locally each runs in its own session with PR_SET_PDEATHSIG=SIGKILL
(the kernel kills it if the harness dies, even by SIGKILL); on a remote host
under a watchdog that kills it when the SSH channel ends; and every live
machine is also killed at interpreter exit.  QEMU
states that never end by themselves (KVM internal error, which leaves QEMU
paused forever) are detected from its stderr and QMP and end the boot with an
infrastructure error within a second or so.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import Limits
from ..errors import BootError, HarnessError
from ..hosts.base import Host, Process
from ..hosts.local import LOCAL
from ..hosts.local import free_port as free_port  # re-exported
from . import base
from .base import BootTimings
from .base import kill_all as kill_all  # re-exported
from .console import Console
from .qemu import QemuInvocation
from .qmp import Qmp, QmpError

# QEMU stderr lines that mean the guest will never make progress again.
FATAL_PATTERNS = (
    ("KVM internal error", "KVM internal error: this host's KVM cannot run this guest "
                           "(QEMU paused itself); use accel: tcg or auto"),
    ("emulation failure", "KVM emulation failure"),
)
MSR_ABORT = "failed to set MSR 0x10a"


@dataclass
class QemuMachine:
    """The real Machine (vm/base.py): QEMU on ``host``."""

    inv: QemuInvocation
    job_dir: Path
    ready_line: str
    notes: list[str] = field(default_factory=list)
    on_spawn: Callable[[int], None] | None = None
    proc: Process | None = None
    console: Console | None = None
    timings: BootTimings = field(default_factory=BootTimings)
    host: Host = LOCAL
    # The host folder for QEMU's sockets and pid file (Host.prepare_run); made
    # here when not given.
    run_dir: str | None = None
    limits: Limits = field(default_factory=Limits)  # console.log and report caps
    _qemu_log_pos: int = 0
    _qmp: Qmp | None = None

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
        if self.run_dir is None:
            self.run_dir = self.host.prepare_run(self.inv.initrd, 0).dir
        self.inv = replace(self.inv, serial_sock=Path(self.run_dir) / "serial.sock",
                           qmp_sock=Path(self.run_dir) / "qmp.sock")
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
            self.inv = replace(self.inv, ssh_port=self.host.free_port())
            return "SSH port was taken: retried on another port"
        return None

    def _spawn(self) -> None:
        assert self.run_dir is not None
        self.job_dir.mkdir(parents=True, exist_ok=True)
        if self.host.local:  # a fresh remote run folder has none
            for s in (self.inv.serial_sock, self.inv.qmp_sock):
                s.unlink(missing_ok=True)
        argv = self.inv.argv()
        where = "" if self.host.local else f"# on {self.host.label}\n"
        (self.job_dir / "qemu.cmdline").write_text(where + shlex.join(argv) + "\n")
        self.qemu_log.touch()
        self._qemu_log_pos = self.qemu_log.stat().st_size
        self.timings = BootTimings(started=time.monotonic())
        self.proc = self.host.spawn(argv, self.qemu_log, self.run_dir)
        base.live(self)
        if self.on_spawn is not None:
            self.on_spawn(self.proc.pid)
        self.console = Console(self.console_log, self.ready_line, self.limits)
        self.console.attach(self.host.open_unix(str(self.inv.serial_sock), 30.0, self.alive))

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
        self._close_qmp()  # health checks are for the boot only

    # -- health ----------------------------------------------------------------
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def lost(self) -> str | None:
        return self.proc.lost if self.proc is not None else None

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
            if self.proc.lost:
                raise BootError(self.proc.lost)
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
        """One QMP connection kept for the boot (on a remote host each one is
        a relay started there); dropped and made again after an error."""
        try:
            if self._qmp is None:
                stream = self.host.open_unix(str(self.inv.qmp_sock), 0.0, self.alive)
                self._qmp = Qmp.over(stream, timeout=1.0)
            st = self._qmp.execute("query-status")
        except (OSError, QmpError, HarnessError):
            self._close_qmp()
            return
        if isinstance(st, dict) and st.get("status") in ("internal-error", "guest-panicked",
                                                          "shutdown"):
            self.kill()
            raise BootError(f"QEMU guest state is {st.get('status')!r}: "
                            f"{self.fatal_reason() or 'the guest cannot continue'}")

    def _console_tail(self, n: int = 3) -> str:
        try:
            with open(self.console_log, "rb") as f:  # its last 4000 bytes
                f.seek(max(0, os.fstat(f.fileno()).st_size - 4000))
                lines = f.read(4000).decode("utf-8", "replace").splitlines()
        except OSError:
            return "none"
        tail = [ln.strip() for ln in lines if ln.strip()][-n:]
        return " | ".join(tail) if tail else "none"

    # -- stop ------------------------------------------------------------------
    def _close_qmp(self) -> None:
        if self._qmp is not None:
            try:
                self._qmp.close()
            except OSError:
                pass
            self._qmp = None

    def kill(self) -> None:
        """Stop QEMU for sure (TERM, then KILL its process group)."""
        self._close_qmp()
        if self.proc is not None:
            self.proc.kill()
        if self.console is not None:
            self.console.close()
        base.dead(self)

    def stop(self) -> None:
        self.kill()
        if self.run_dir:
            self.host.release(self.run_dir)
            self.run_dir = None
