"""Tests over SSH: one pinned-host-key paramiko transport per guest, one
channel per command; per-test timeouts; stdout/stderr streamed to files;
verdicts from exit status and from the console's oops reports."""

from __future__ import annotations

import select
import shlex
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import paramiko

from .bounded import CappedWriter, read_bounded
from .config import Limits, TestSpec
from .errors import InfraError
from .guest.keys import RunKeys
from .model import OopsRef, SubResult, TestResult, Verdict
from .parse import tap
from .parse.oops import Report
from .parse.outcomes import LOST_CONNECTION, NO_OUTPUT
from .parse.symbolize import Symbolizer
from .vm.console import Console

KSFT_SKIP = 4
# TAP is parsed from at most this much of stdout (its head and tail): a
# kselftest prints kilobytes, and parsing costs ~10x the text in memory.
TAP_VIEW = 2 << 20
SKIP_VIEW = 64 << 10  # the skip reason is looked for in stdout's last 64 KiB
# Seconds: the kill of a timed-out test may take this long before the guest
# counts as not answering; after a command returns, its end marker is waited
# for this long on the console (the console's close, when the guest died).
KILL_WAIT = 10.0
END_WAIT = 3.0
CLOSE_WAIT = 5.0


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class SshLost(InfraError):
    """The SSH transport broke while a command ran."""


@dataclass
class Outcome:
    status: int | None  # exit status, None when it never came
    timed_out: bool = False
    lost: str | None = None  # why the command's end was never seen
    duration: float = 0.0


def _tcp(host: str, port: int, timeout: float) -> Any:
    sock = socket.create_connection((host, port), timeout=timeout)
    # Small request/response packets: no Nagle delay on our side.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _no_client_rekey(t: paramiko.Transport) -> None:
    """Leave re-keying to the server (dropbear: every 1 GiB).  paramiko starts
    one itself every 512 MiB, and when the server closes a channel before it
    has read that KEXINIT, paramiko's transport thread waits for its own key
    exchange to send the close reply and the transport dies ("Key-exchange
    timed out"): a test printing 1 GiB would end as a lost connection.  A
    server-started exchange is safe: the server sends nothing else during it."""
    t.packetizer.REKEY_BYTES = t.packetizer.REKEY_PACKETS = 1 << 62


class Guest:
    """An authenticated SSH transport to the guest, host key pinned.  ``open``
    makes the TCP connection (``Host.open_tcp``: a direct-tcpip channel when
    QEMU runs on a remote host)."""

    def __init__(self, host: str, port: int, keys: RunKeys, user: str = "root",
                 open: Callable[[str, int, float], Any] = _tcp) -> None:
        self.host, self.port, self.keys, self.user = host, port, keys, user
        self.open = open
        self.transport: paramiko.Transport | None = None
        # Why the machine was lost beyond the guest itself (set by the pipeline).
        self.why_lost: Callable[[], str | None] = lambda: None

    def connect(self, timeout: float, alive: Callable[[], bool]) -> float:
        """Connect and authenticate, retrying until ``timeout``; returns seconds taken."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        last: Exception | None = None
        pinned = self.keys.pinned_host_key()
        pkey = self.keys.client_pkey()
        while time.monotonic() < deadline:
            if not alive():
                raise InfraError("guest died before SSH came up")
            try:
                sock = self.open(self.host, self.port, 5)
                t = paramiko.Transport(sock)
                _no_client_rekey(t)
                t.start_client(timeout=10)
                remote = t.get_remote_server_key()
                if remote.get_name() != pinned.get_name() or remote.asbytes() != pinned.asbytes():
                    t.close()
                    raise InfraError(f"guest SSH host key mismatch on {self.host}:{self.port}: "
                                     "refusing to talk to it (not our guest?)")
                t.auth_publickey(self.user, pkey)
                t.set_keepalive(5)
                self.transport = t
                return time.monotonic() - t0
            except InfraError:
                raise
            except (OSError, paramiko.SSHException, EOFError) as e:
                last = e
                time.sleep(0.02)
        raise InfraError(f"SSH to the guest on {self.host}:{self.port} did not come up within "
                         f"{timeout:.0f}s: {last}")

    def run(self, command: str, stdout: Sink, stderr: Sink, timeout: float | None,
            alive: Callable[[], bool], poll: float = 0.05, pty: bool = False) -> Outcome:
        """Run a remote shell command, streaming its output into the files.
        ``pty``: give it a terminal, so C stdio line-buffers (kselftests fork
        without flushing; through a pipe their lines come out twice)."""
        if self.transport is None or not self.transport.is_active():
            return Outcome(None, lost="SSH transport not connected")
        t0 = time.monotonic()
        deadline = t0 + timeout if timeout is not None else None
        chan = None
        for attempt in range(5):  # dropbear may refuse a channel while it reaps the last
            try:
                # Within the command's timeout: a guest that stopped answering
                # costs ``timeout``, not five 10 s channel requests.
                left = 10.0 if deadline is None else min(10.0, deadline - time.monotonic())
                chan = self.transport.open_session(timeout=max(left, 0.1))
                if pty:
                    chan.get_pty(term="dumb", width=250)
                chan.exec_command(command)
                break
            except (paramiko.SSHException, OSError, EOFError) as e:
                if chan is not None:
                    chan.close()
                    chan = None
                if attempt == 4 or not self.transport.is_active() or not alive() \
                        or (deadline is not None and time.monotonic() > deadline):
                    return Outcome(None, lost=f"SSH error starting the command: {e}")
                time.sleep(0.2 * (attempt + 1))
        assert chan is not None
        try:
            while True:
                while chan.recv_ready():
                    stdout.write(chan.recv(65536))
                while chan.recv_stderr_ready():
                    stderr.write(chan.recv_stderr(65536))
                if chan.exit_status_ready() and not chan.recv_ready() \
                        and not chan.recv_stderr_ready():
                    if chan.eof_received or chan.closed:
                        status = chan.recv_exit_status()
                        if status == -1:  # closed, no exit-status message (paramiko's -1)
                            return Outcome(None, lost=self._lost(
                                alive, "SSH channel closed without an exit status"),
                                duration=time.monotonic() - t0)
                        return Outcome(status, duration=time.monotonic() - t0)
                elif chan.closed and not chan.recv_ready() and not chan.recv_stderr_ready():
                    return Outcome(None, lost=self._lost(
                        alive, "SSH channel closed without an exit status"),
                        duration=time.monotonic() - t0)
                now = time.monotonic()
                if deadline is not None and now > deadline:
                    return Outcome(None, timed_out=True, duration=now - t0)
                if not alive():
                    return Outcome(None, lost=self._lost(alive, "QEMU exited"),
                                   duration=now - t0)
                if not self.transport.is_active():
                    return Outcome(None, lost=self._lost(alive, "SSH connection lost"),
                                   duration=now - t0)
                select.select([chan], [], [], poll)
        finally:
            try:
                chan.close()
            except (paramiko.SSHException, OSError, EOFError):
                pass  # the transport is gone already

    def _lost(self, alive: Callable[[], bool], default: str) -> str:
        """Why a command's end was never seen: the QEMU host's connection
        (``why_lost``, e.g. the SSH link to a remote runner), else ``default``."""
        deadline = time.monotonic() + 1.0  # the host side may notice a moment later
        while not (why := self.why_lost()) and alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if why:
            return why
        return "QEMU exited" if not alive() and default.startswith("SSH channel") else default

    def check(self, command: str, timeout: float = 30.0) -> tuple[int | None, str]:
        """Run a short command; (status, stdout+stderr)."""
        import io

        out, err = io.BytesIO(), io.BytesIO()
        o = self.run(command, out, err, timeout, lambda: True)
        return o.status, (out.getvalue() + err.getvalue()).decode("utf-8", "replace")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


def remote_command(test: TestSpec, test_id: str) -> str:
    """The guest command line for a test: a shell string runs under ``sh -c``,
    a list is an argv; both inside the marker wrapper (its own process group)."""
    argv = ["sh", "-c", test.run] if isinstance(test.run, str) else list(test.run)
    return shlex.join(["exec", "lamh-run", test_id, *argv])


def test_id(test: TestSpec, iteration: int) -> str:
    return f"{test.name}.{iteration}"


def result_name(test: TestSpec, iteration: int) -> str:
    return test.name if test.repeat == 1 else f"{test.name}#{iteration}"


def save_reports(reports: list[Report], test_dir: Path, rel: str,
                 start: int = 1, symbolizer: Symbolizer | None = None) -> list[OopsRef]:
    """``oops-N.txt`` per report: symbolized with the job's vmlinux when there
    is one (``func+off/size (file:line)`` and inlined frames), else as printed;
    the console log always keeps the raw text."""
    refs = []
    for i, r in enumerate(reports, start):
        name = f"oops-{i}.txt"
        text, done = r.text, False
        if symbolizer is not None:
            s = symbolizer.symbolize(r.text)
            text, done = s.text, s.resolved > 0
            if s.notes:
                text += "".join(f"# {n}\n" for n in s.notes)
        (test_dir / name).write_text(text)
        refs.append(OopsRef(r.title, r.kind, f"{rel}/{name}", r.first_line, r.last_line,
                            r.corrupted, r.guilty_frame, done))
    return refs


def run_test(guest: Guest, console: Console, alive: Callable[[], bool], test: TestSpec,
             iteration: int, job_dir: Path,
             symbolizer: Symbolizer | None = None, limits: Limits | None = None) -> TestResult:
    """Run one iteration of one test and decide its verdict.  Its stdout and
    stderr stream to files capped at ``limits.test_output`` each (head and
    tail kept, a marker between)."""
    limits = limits or Limits()
    name = result_name(test, iteration)
    rel = name.replace("#", "-")
    tdir = job_dir / rel
    tdir.mkdir(parents=True, exist_ok=True)
    tid = test_id(test, iteration)
    cap = limits.test_output_cap
    with CappedWriter(tdir / "stdout", cap) as out, CappedWriter(tdir / "stderr", cap) as err:
        o = guest.run(remote_command(test, tid), out, err, test.timeout, alive,
                      pty=test.format == "tap")
    answered = True
    if o.timed_out:
        answered = guest.check(
            f"kill -KILL -$(cat /run/lam-harness/{shlex.quote(tid)}.pid) 2>/dev/null",
            timeout=KILL_WAIT)[0] is not None
    silent = time.monotonic() - console.last_output
    # Tie console reports to the test: wait for its end marker to be echoed on
    # the console (ordering), or for the console to close when the guest died.
    if o.status is not None or o.timed_out:
        console.wait_end(tid, timeout=END_WAIT)
    else:
        console.wait_closed(CLOSE_WAIT)
    reports = console.reports_for(tid)
    dropped = console.dropped_for(tid)
    res = TestResult(name=name, test=test.name, iteration=iteration, verdict=Verdict.PASS,
                     exit_status=o.status, duration=round(o.duration, 3),
                     stdout=f"{rel}/stdout", stderr=f"{rel}/stderr")
    for what, w in (("stdout", out), ("stderr", err)):
        if w.truncated:
            res.notes.append(f"{what} capped at limits.test_output ({limits.test_output}): "
                             f"{w.dropped} of {w.written} bytes dropped between its head and tail")
    if dropped is not None:
        res.notes.append(f"{dropped.count} more reports not kept (limits.max_reports "
                         f"{limits.max_reports} reached)")
    if reports or dropped is not None:
        res.oopses = save_reports(reports, tdir, rel, symbolizer=symbolizer)
        res.verdict = Verdict.CRASH
        res.reason = reports[0].title if reports else dropped.first_title if dropped else ""
    elif o.timed_out and not answered and silent >= min(test.timeout, 10.0):
        # Not the test's failure: the guest stopped answering and says nothing.
        res.verdict, res.reason = Verdict.ERROR, (
            f"{NO_OUTPUT}: the guest stopped answering SSH during the test and its "
            f"console was silent for {silent:.0f}s")
    elif o.timed_out:
        res.verdict, res.reason = Verdict.FAIL, f"timed out after {test.timeout:g}s"
    elif o.lost is not None:
        res.verdict, res.reason = Verdict.ERROR, f"{LOST_CONNECTION}: {o.lost}, no oops report"
    elif test.format == "tap":
        if out.pos > TAP_VIEW or out.truncated:
            res.notes.append(f"TAP parsed from the first and last {TAP_VIEW >> 21} MiB of "
                             f"stdout only ({out.written} bytes)")
        _tap_verdict(res, read_bounded(tdir / "stdout", TAP_VIEW), o.status)
    elif o.status == 0:
        res.verdict = Verdict.PASS
    elif o.status == KSFT_SKIP:
        res.verdict, res.reason = Verdict.SKIP, _skip_reason(tdir / "stdout")
    else:
        res.verdict, res.reason = Verdict.FAIL, f"exit status {o.status}"
    return res


def _skip_reason(stdout: Path) -> str:
    try:
        text = read_bounded(stdout, SKIP_VIEW, head=False).decode("utf-8", "replace")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    except OSError:
        lines = []
    hint = next((ln for ln in reversed(lines) if "skip" in ln.lower()),
                lines[-1] if lines else None)
    return f"exit status 4 (kselftest skip){': ' + hint[:200] if hint else ''}"


_TAP_VERDICT = {"pass": Verdict.PASS, "xfail": Verdict.PASS, "skip": Verdict.SKIP,
                "fail": Verdict.FAIL, "timeout": Verdict.FAIL, "error": Verdict.FAIL}
# A CPU without LAM: older lam_64 exits 255 after this line, newer ones 4.
_NO_FEATURE = ("Unsupported LAM feature", "LAM is not supported")


def _tap_verdict(res: TestResult, output: bytes, status: int | None) -> None:
    """``format: tap``: the inner results decide, whatever the exit status."""
    rep = tap.parse(output)
    res.notes.extend(rep.problems)
    for path, r in rep.walk():
        res.subtests.append(SubResult(" / ".join(path), _TAP_VERDICT[r.outcome],
                                      r.reason or (r.skip_reason if r.outcome == "skip" else "")))
    v = rep.verdict
    if not rep.results:
        text = output.decode("utf-8", "replace")
        if status == KSFT_SKIP or any(s in text for s in _NO_FEATURE):
            res.verdict, res.reason = Verdict.SKIP, f"exit status {status}: {rep.skip_reason}"
        else:
            res.verdict = Verdict.FAIL
            res.reason = f"no TAP results (exit status {status})" + (
                f": {rep.problems[0]}" if rep.problems else "")
        return
    res.verdict = _TAP_VERDICT[v]
    if v == "skip":
        res.reason = rep.skip_reason
    elif res.verdict is Verdict.FAIL:
        bad = [s.name for s in res.subtests if s.verdict is Verdict.FAIL]
        why = (f"{len(bad)} of {len(res.subtests)} TAP results failed: {', '.join(bad[:5])}"
               if bad else "; ".join(rep.problems[:2]) or "TAP output says fail")
        res.reason = why + (f" (exit status {status})" if status else "")
