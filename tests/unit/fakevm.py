"""A fake Machine (harness/vm/base.py) for unit tests of the run path, no VM.

Its console is one end of a socketpair, read by the real ``Console``; the
other end is fed first with a boot log (recorded console logs of this
project's kernels, tests/data/console/), then the readiness line, then what
the "guest" writes to its kmsg: a FIFO that stands for ``/dev/kmsg``.  Its
exec transport is a real OpenSSH sshd on 127.0.0.1:``inv.ssh_port`` with the
run's own host key (the dropbear key the pipeline made, converted) and
authorized client key, so ``exec.Guest`` pins and authenticates as it does
against the guest's dropbear.  Commands run on this machine, with the real
``lamh-run`` (its ``/dev/kmsg`` pointed at the FIFO) first on PATH: markers,
pid files and timeout kills work as in the guest.

What the guest does is the test commands' business (``cat`` a recorded oops
into ``$LAMH_KMSG``, sleep, exit N) and the ``Script``'s: a boot log, no
readiness, QEMU stderr (KVM internal error), a console that lags behind SSH,
end markers that never come.  A
``Kernel panic - not syncing`` line on the console ends the machine, as
``panic=-1`` and ``-no-reboot`` end QEMU; ``lamh-fake: exit`` or ``lamh-fake:
freeze`` written to the FIFO end it or stop its SSH server (a hung guest)."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.config import Limits
from harness.errors import BootError
from harness.hosts.base import Host
from harness.hosts.local import LocalHost
from harness.vm import base as vm_base
from harness.vm import hostinfo
from harness.vm.base import BootTimings
from harness.vm.console import Console
from harness.vm.machine import FATAL_PATTERNS
from harness.vm.qemu import QemuInvocation
from tests.sshd import Sshd

DATA = Path(__file__).resolve().parents[1] / "data" / "console"
LAMH_RUN = Path(__file__).resolve().parents[2] / "harness" / "guest" / "files" / "lamh-run"
DEMO = "demo-bug-6.12-tcg.log"
PANIC = "Kernel panic - not syncing"
_READY = re.compile(r"lam-harness: ready \w+")


def recorded(name: str) -> list[str]:
    return (DATA / name).read_text(errors="replace").splitlines()


def boot_log(name: str = "demo-bug-6.12-tcg.log") -> str:
    """A recorded log's lines before its readiness marker."""
    lines = recorded(name)
    end = next(i for i, ln in enumerate(lines) if _READY.search(ln))
    return "\n".join(lines[:end]) + "\n"


def during(name: str, test_id: str, upto: str | None = None) -> str:
    """What the kernel printed during a recorded test (markers left out), up to
    and including the first line containing ``upto``."""
    lines = recorded(name)
    i = next(n for n, ln in enumerate(lines) if f"lam-harness: start {test_id}" in ln)
    out: list[str] = []
    for ln in lines[i + 1:]:
        if "lam-harness: end " in ln or "lam-harness: start " in ln:
            break
        out.append(ln)
        if upto is not None and upto in ln:
            break
    return "\n".join(out) + "\n"


@dataclass
class Script:
    boot: str = field(default_factory=boot_log)  # console text before readiness
    ready: bool = True  # print the readiness line after ``boot``
    qemu_stderr: str = ""  # written to qemu.log at start
    lag: float = 0.0  # what the guest prints reaches the console this late
    end_markers: bool = True  # False: they never do
    start_error: BaseException | None = None  # raised by start() (e.g. KeyboardInterrupt)
    # Console text printed right after a test's end marker (test id -> text):
    # between two tests.
    after_end: dict[str, str] = field(default_factory=dict)
    # The start is retried on another SSH port, as QemuMachine does when
    # hostfwd finds its port taken: SSH must go to the new one.
    move_port: bool = False


class FakeHost(LocalHost):
    """This machine, with canned facts: nothing probes QEMU or KVM."""

    def facts(self, qemu: object = "system") -> hostinfo.HostFacts:
        return FACTS

    def require_qemu(self, binary: str) -> hostinfo.QemuFacts:
        return FACTS.qemu


FACTS = hostinfo.HostFacts(
    kernel="6.12.0-fake", cpu_model="fake CPU", cpu_lam=False,
    kvm=hostinfo.KvmFacts(False, False, []),
    qemu=hostinfo.QemuFacts("qemu-system-x86_64", True, "9.2.0", (9, 2, 0), True, False))


class FakeVM:
    """The MachineFactory: ``FakeVM(Script(...))`` is given to the pipeline
    as ``machine=``; ``machines`` are the ones it made."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.machines: list[FakeMachine] = []

    def __call__(self, inv: QemuInvocation, job_dir: Path, ready_line: str, *, host: Host,
                 run_dir: str | None, limits: Limits) -> FakeMachine:
        m = FakeMachine(inv, job_dir, ready_line, self.script, limits, host, run_dir)
        self.machines.append(m)
        return m


class FakeMachine:
    def __init__(self, inv: QemuInvocation, job_dir: Path, ready_line: str, script: Script,
                 limits: Limits, host: Host, run_dir: str | None) -> None:
        self.inv, self.job_dir, self.ready_line, self.script = inv, job_dir, ready_line, script
        self.limits, self.host, self.run_dir = limits, host, run_dir
        self.notes: list[str] = []
        self.on_spawn = None  # type: ignore[var-annotated]
        self.console: Console | None = None
        self.timings = BootTimings()
        self.sshd: Sshd | None = None
        self.exited = threading.Event()
        self.stopped = False
        self._feed: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._tests: list[str] = []  # test ids whose start marker passed

    # -- the Machine protocol ---------------------------------------------------
    def start(self, boot_timeout: float) -> None:
        self.timings = BootTimings(started=time.monotonic())
        if self.script.start_error is not None:
            raise self.script.start_error
        if self.script.move_port:
            self.inv = replace(self.inv, ssh_port=self.host.free_port())
            self.notes.append("SSH port was taken: retried on another port")
        work = self.job_dir / "fakevm"
        work.mkdir(parents=True, exist_ok=True)
        (self.job_dir / "qemu.log").write_text(self.script.qemu_stderr)
        bin_dir = work / "bin"
        bin_dir.mkdir(exist_ok=True)
        run = bin_dir / "lamh-run"
        run.write_text(LAMH_RUN.read_text().replace("/dev/kmsg", '"$LAMH_KMSG"'))
        run.chmod(0o755)
        Path("/run/lam-harness").mkdir(parents=True, exist_ok=True)
        self.kmsg = work / "kmsg"
        self.kmsg.unlink(missing_ok=True)
        os.mkfifo(self.kmsg)
        keys = self.job_dir / "keys"
        host_key = work / "host_ed25519"
        host_key.unlink(missing_ok=True)
        subprocess.run(["dropbearconvert", "dropbear", "openssh",
                        str(keys / "host_ed25519.dropbear"), str(host_key)],
                       check=True, capture_output=True)
        host_key.chmod(0o600)
        self.sshd = Sshd(work, port=self.inv.ssh_port, host_key=host_key,
                         authorized=(keys / "client_ed25519.pub").read_text().strip(),
                         env={"PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin",
                              "LAMH_KMSG": str(self.kmsg)}).start()
        assert self.sshd.proc is not None
        vm_base.live(self)
        if self.on_spawn is not None:
            self.on_spawn(self.sshd.proc.pid)
        ours, self._feed = socket.socketpair()
        self.console = Console(self.job_dir / "console.log", self.ready_line, self.limits)
        self.console.attach(ours)
        self._thread = threading.Thread(target=self._guest, name="fakevm", daemon=True)
        self._thread.start()
        deadline = self.timings.started + boot_timeout
        while not self.console.ready.wait(0.02):
            log = (self.job_dir / "qemu.log").read_text()
            why = next((w for p, w in FATAL_PATTERNS if p in log), None)
            if why:
                self.stop()
                raise BootError(why)
            if not self.alive():
                self.console.wait_closed(2.0)
                reports = self.console.reports_for(None)
                if reports:
                    raise BootError(f"kernel crashed during boot: {reports[0].title}")
                raise BootError("QEMU exited with status 0 before the guest was ready")
            if time.monotonic() > deadline:
                self.stop()
                raise BootError(f"no readiness marker within {boot_timeout:.0f}s")
        self.timings.ready = time.monotonic() - self.timings.started

    def alive(self) -> bool:
        return self.sshd is not None and not self.exited.is_set()

    def wait(self, timeout: float) -> bool:
        return self.exited.wait(timeout)

    def lost(self) -> str | None:
        return None

    def stop(self) -> None:
        self.stopped = True
        self._exit()
        if self.console is not None:
            self.console.close()
        if self._thread is not None:
            self._thread.join(5)

    # -- the guest --------------------------------------------------------------
    def _exit(self) -> None:
        """The machine ends: SSH server and test processes killed, console closed."""
        if self.exited.is_set():
            return
        self.exited.set()
        vm_base.dead(self)
        if self.sshd is not None:
            for pid in _descendants(self.sshd.session_pids()) if self.sshd.proc else []:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            self.sshd.stop()
        for tid in self._tests:
            try:
                os.killpg(int(Path(f"/run/lam-harness/{tid}.pid").read_text()),
                          signal.SIGKILL)
            except (OSError, ValueError):
                pass
            Path(f"/run/lam-harness/{tid}.pid").unlink(missing_ok=True)
        if self._feed is not None:
            try:
                self._feed.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _say(self, line: str) -> None:
        assert self._feed is not None
        try:
            self._feed.sendall(line.encode() + b"\n")
        except OSError:
            pass

    def _guest(self) -> None:
        s = self.script
        for line in s.boot.splitlines():
            self._say(line)
            if PANIC in line:
                self._exit()
                return
        if not s.ready:
            return
        self._say(self.ready_line)
        fd = os.open(self.kmsg, os.O_RDWR | os.O_NONBLOCK)  # RDWR: never EOF
        pending: list[tuple[float, str]] = []  # lines on their way (Script.lag)
        buf = b""
        try:
            while not self.exited.is_set():
                r, _, _ = select.select([fd], [], [], 0.02)
                if r:
                    buf += os.read(fd, 65536)
                *lines, rest = buf.split(b"\n")
                buf = rest
                for raw in lines:
                    line = re.sub(r"^<\d>", "", raw.decode("utf-8", "replace"))
                    if line == "lamh-fake: exit":
                        self._exit()
                    elif line == "lamh-fake: freeze":
                        self._freeze()
                    elif line == "lamh-fake: sigint":  # ^C on the harness's terminal
                        os.kill(os.getpid(), signal.SIGINT)
                    elif "lam-harness: end " in line and not s.end_markers:
                        continue
                    else:
                        if "lam-harness: start " in line:
                            self._tests.append(line.split()[-1])
                        pending.append((time.monotonic() + s.lag, line))
                panicked = False
                while pending and pending[0][0] <= time.monotonic():
                    line = pending.pop(0)[1]
                    self._relay(line)
                    panicked = panicked or PANIC in line
                if panicked:
                    self._exit()
        finally:
            os.close(fd)

    def _relay(self, line: str) -> None:
        self._say(line)
        m = re.search(r"lam-harness: end (\S+)", line)
        if m and m.group(1) in self.script.after_end:
            for extra in self.script.after_end[m.group(1)].splitlines():
                self._say(extra)

    def _freeze(self) -> None:
        """The guest stops answering: its SSH server's sessions are stopped."""
        assert self.sshd is not None
        for pid in _descendants(self.sshd.session_pids()):
            os.kill(pid, signal.SIGSTOP)


def _descendants(pids: list[int]) -> list[int]:
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        todo.extend(int(k) for k in kids.split())
    return out
