"""The serial console: captured through pexpect from QEMU's socket chardev,
streamed to ``console.log`` as it arrives, and scanned live for oops reports,
test markers and the readiness marker."""

from __future__ import annotations

import bisect
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import paramiko
import pexpect
import pexpect.fdpexpect
from pexpect.spawnbase import SpawnBase

from ..bounded import CappedWriter
from ..config import Limits
from ..hosts.base import Stream
from ..parse.oops import OopsScanner, Report

# A line longer than this is parsed from its first MAX_PARSED_LINE bytes (the
# rest still goes to console.log): printk lines are at most 1 KiB.
MAX_PARSED_LINE = 8192

_MARK = re.compile(r"lam-harness: (start|end) ([A-Za-z0-9_.+#-]+)(?: rc=(\d+))?")


# A local socket raises OSError when its peer is gone; a paramiko channel whose
# connection just died raises EOFError or SSHException from shutdown and close.
_CLOSE_ERRORS = (OSError, EOFError, paramiko.SSHException)


@dataclass
class TaggedReport:
    report: Report
    test_id: str | None  # the test running when the report's first line appeared


@dataclass
class Dropped:
    """Reports of one test found past ``limits.max_reports``: counted, not kept."""

    count: int
    first_title: str


class Console:
    """``limits``: console.log's size cap, and how many reports (and how
    much of each) are kept; the reports past ``max_reports`` are only counted
    (``dropped_for``), so a flood of WARNINGs still makes the verdict."""

    def __init__(self, log_path: Path, ready_line: str, limits: Limits | None = None) -> None:
        self.log_path = log_path
        self.ready_line = ready_line
        self.limits = limits or Limits()
        self.dropped: dict[str | None, Dropped] = {}  # test id -> reports not kept
        self.ready = threading.Event()
        self.closed = threading.Event()
        self.reports: list[TaggedReport] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.current_test: str | None = None
        self.ended: dict[str, int | None] = {}  # test id -> rc seen in its end marker
        self.lines = 0
        self.last_output = time.monotonic()  # when the last console line arrived
        self.tee: BinaryIO | None = None
        self.on_line: Callable[[str], None] | None = None
        self._transitions: list[tuple[int, str | None]] = [(0, None)]
        self._scanner = OopsScanner(self.limits.report_lines)
        self._sock: Stream | None = None
        self._child: SpawnBase | None = None
        self._thread: threading.Thread | None = None
        self._log: CappedWriter | None = None

    # -- attaching -------------------------------------------------------------
    def attach(self, s: Stream) -> None:
        """Start pumping QEMU's serial console, connected by the host
        (``Host.open_unix``; QEMU waits for us before it runs): a local unix
        socket is read by pexpect's fdspawn, a paramiko channel from a remote
        host by ChannelSpawn."""
        self._sock = s
        # Appends: a retried boot continues the same log (closed by the pump).
        self._log = CappedWriter(self.log_path, self.limits.console_log_cap, append=True)
        if isinstance(s, socket.socket):
            self._child = pexpect.fdpexpect.fdspawn(s.fileno(), timeout=None)
        else:
            from ..hosts.chanspawn import ChannelSpawn

            self._child = ChannelSpawn(s, timeout=None)  # type: ignore[arg-type]
        self._thread = threading.Thread(target=self._pump, name="console", daemon=True)
        self._thread.start()

    def send(self, data: bytes) -> None:
        if self._sock is not None:
            self._sock.sendall(data)

    # -- the pump thread -------------------------------------------------------
    def _pump(self) -> None:
        assert self._child is not None and self._log is not None
        # The line being received: its first MAX_PARSED_LINE bytes only, so
        # a line without a newline costs no more than its length to read.
        partial = bytearray()
        try:
            while True:
                try:
                    data = self._child.read_nonblocking(65536, timeout=0.5)
                except pexpect.TIMEOUT:
                    continue
                except (pexpect.EOF, OSError):
                    break
                if not data:
                    break
                self._log.write(data)
                if self.tee is not None:
                    self.tee.write(data)
                    self.tee.flush()
                start = 0
                while (nl := data.find(b"\n", start)) >= 0:
                    end = min(nl, start + MAX_PARSED_LINE - len(partial))
                    if partial:
                        partial += data[start:end]
                        raw = bytes(partial)
                        partial.clear()
                    else:
                        raw = data[start:end]
                    self._line(raw.decode("utf-8", "replace").rstrip("\r"))
                    start = nl + 1
                room = MAX_PARSED_LINE - len(partial)
                if room > 0 and start < len(data):
                    partial += data[start:start + room]
        finally:
            if partial:
                self._line(bytes(partial).decode("utf-8", "replace").rstrip("\r"))
            with self.lock:
                for r in self._scanner.flush():
                    self._add(r)
                self.closed.set()
                self.changed.notify_all()
            self._log.close()

    def _line(self, line: str) -> None:
        with self.lock:
            done = self._scanner.feed(line)
            self.lines = self._scanner.lineno
            self.last_output = time.monotonic()
            if "lam-harness: " in line:
                if line.endswith(self.ready_line) or self.ready_line in line:
                    self.ready.set()
                m = _MARK.search(line)
                if m:
                    kind, tid, rc = m.groups()
                    if kind == "start":
                        self.current_test = tid
                    else:
                        self.ended[tid] = int(rc) if rc is not None else None
                        if self.current_test == tid:
                            self.current_test = None
                    self._transitions.append((self.lines, self.current_test))
            for r in done:
                self._add(r)
            if done or "lam-harness: " in line:
                self.changed.notify_all()
        if self.on_line is not None:
            self.on_line(line)

    def _add(self, r: Report) -> None:
        keys = [n for n, _ in self._transitions]
        i = bisect.bisect_right(keys, r.first_line - 1) - 1
        # The marker line itself counts for the state after it.
        tid = self._transitions[max(i, 0)][1]
        if len(self.reports) >= self.limits.max_reports:
            d = self.dropped.get(tid)
            if d is None:
                self.dropped[tid] = Dropped(1, r.title)
            else:
                d.count += 1
            return
        _trim(r, self.limits.report_bytes_cap)
        self.reports.append(TaggedReport(r, tid))

    # -- queries ---------------------------------------------------------------
    def wait_end(self, test_id: str, timeout: float) -> bool:
        """Wait until the test's end marker was seen and no report is open."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not self.closed.is_set():
                if test_id in self.ended and not self._scanner.in_report:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
            return test_id in self.ended

    def reports_for(self, test_id: str | None) -> list[Report]:
        with self.lock:
            return [t.report for t in self.reports if t.test_id == test_id]

    def dropped_for(self, test_id: str | None) -> Dropped | None:
        """The test's reports past ``limits.max_reports`` (counted, not kept)."""
        with self.lock:
            d = self.dropped.get(test_id)
            return Dropped(d.count, d.first_title) if d else None

    @property
    def log_dropped(self) -> int:
        """Bytes of console output no longer in console.log (its cap)."""
        return self._log.dropped if self._log is not None else 0

    def in_report(self) -> bool:
        with self.lock:
            return self._scanner.in_report

    def wait_closed(self, timeout: float) -> bool:
        return self.closed.wait(timeout)

    def close(self) -> None:
        # A paramiko channel whose connection just died raises EOFError or
        # SSHException (not OSError) from shutdown and close.
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except _CLOSE_ERRORS:
                pass  # already gone: nothing left to shut down
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            try:
                self._sock.close()
            except _CLOSE_ERRORS:
                pass  # already gone: nothing left to close
            self._sock = None

    def interact(self, escape: bytes = b"\x1d") -> None:
        """Relay the terminal to the console until ``escape`` (Ctrl-]) or EOF."""
        import termios
        import tty

        self.tee = sys.stdout.buffer
        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd) if os.isatty(fd) else None
        try:
            if old is not None:
                tty.setraw(fd)
            while not self.closed.is_set():
                import select

                r, _, _ = select.select([fd], [], [], 0.2)
                if fd in r:
                    data = os.read(fd, 1024)
                    if not data or escape in data:
                        break
                    self.send(data)
        finally:
            if old is not None:
                termios.tcsetattr(fd, termios.TCSADRAIN, old)
            self.tee = None


def _trim(r: Report, budget: int) -> None:
    """Keep a report's first lines up to ``budget`` bytes (console.log keeps
    them all, within its cap): a report of huge lines stays small in memory."""
    total = 0
    for n, line in enumerate(r.lines):
        total += len(line) + 1
        if total > budget and n > 0:
            left = len(r.lines) - n
            r.lines[n:] = [f"[lam-harness: {left} more lines of this report not kept "
                           f"(limits.report_bytes)]"]
            return
