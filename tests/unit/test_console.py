"""harness.vm.console over a real socket pair (as QEMU's serial chardev):
console.log capped with head + tail, long lines parsed in bounded memory,
reports capped per guest."""

from __future__ import annotations

import io
import os
import socket
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.config import Limits
from harness.vm.console import MAX_PARSED_LINE, Console

WARN = """\
------------[ cut here ]------------
WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:111 lkdtm_WARNING+0x21/0x30
Modules linked in:
CPU: 0 UID: 0 PID: 1 Comm: sh Not tainted 6.12.0 #1
RIP: 0010:lkdtm_WARNING+0x21/0x30
Call Trace:
 <TASK>
 lkdtm_do_action+0x15/0x30
 direct_entry+0x9b/0xe0
 vfs_write+0xf9/0x440
 </TASK>
---[ end trace 0000000000000000 ]---
"""


@contextmanager
def console(tmp: Path, limits: Limits | None = None) -> Iterator[tuple[Console, socket.socket]]:
    ours, qemu = socket.socketpair()
    c = Console(tmp / "console.log", "lam-harness: ready", limits)
    c.attach(ours)
    try:
        yield c, qemu
    finally:
        qemu.close()
        assert c.wait_closed(30)
        c.close()


def _send(sock: socket.socket, data: bytes) -> None:
    # From another thread: the pump reads while we write.
    t = threading.Thread(target=sock.sendall, args=(data,))
    t.start()
    t.join()


def test_console_log_is_capped_with_head_marker_and_tail(tmp_path: Path) -> None:
    lines = [f"[  {i:8d}.000000] noise line {i}\n".encode() for i in range(50_000)]
    with console(tmp_path, Limits(console_log="64K")) as (c, q):
        _send(q, b"".join(lines))
    log = (tmp_path / "console.log").read_bytes()
    assert len(log) <= 64 << 10
    assert log.startswith(lines[0] + lines[1])
    assert log.endswith(lines[-2] + lines[-1])
    assert b"bytes dropped here: console.log is capped at 64 KiB, head and tail kept]" in log
    assert c.log_dropped > 0 and c.lines == 50_000  # every line was still parsed


def test_a_long_line_without_newline_costs_bounded_memory(tmp_path: Path) -> None:
    big = b"x" * (32 << 20)
    tracemalloc.start()
    try:
        with console(tmp_path) as (c, q):
            _send(q, b"lam-harness: ready\n")
            for i in range(0, len(big), 1 << 20):
                _send(q, big[i:i + (1 << 20)])
            _send(q, b"\nafter the long line\n")
            assert c.ready.wait(10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del big
    # The 32 MiB line was never held whole (before: partial + data, copied per read).
    assert peak < 8 << 20, peak
    assert c.lines == 3
    assert (tmp_path / "console.log").stat().st_size == (32 << 20) + 40


def test_long_line_is_parsed_from_its_start(tmp_path: Path) -> None:
    with console(tmp_path) as (c, q):
        _send(q, b"lam-harness: start t.1 " + b"y" * (3 * MAX_PARSED_LINE) + b"\n")
        _send(q, b"lam-harness: end t.1 rc=0\n")
    assert c.ended == {"t.1": 0} and c.lines == 2


def test_reports_are_capped_and_the_rest_counted(tmp_path: Path) -> None:
    with console(tmp_path, Limits(max_reports=10)) as (c, q):
        _send(q, b"lam-harness: start flood.1\n" + WARN.encode() * 300
              + b"lam-harness: end flood.1 rc=0\n")
    reports = c.reports_for("flood.1")
    assert len(reports) == 10 and len(c.reports) == 10
    assert reports[0].title == "WARNING in lkdtm_WARNING"
    d = c.dropped_for("flood.1")
    assert d is not None and d.count == 290 and d.first_title == "WARNING in lkdtm_WARNING"
    assert c.dropped_for(None) is None


def test_a_report_of_huge_lines_is_trimmed_in_memory(tmp_path: Path) -> None:
    fat = WARN.replace(" vfs_write+0xf9/0x440\n",
                       "".join(f" frame{i}+0x1/0x2 {'z' * 4000}\n" for i in range(300))
                       + " vfs_write+0xf9/0x440\n")
    with console(tmp_path, Limits(report_bytes="16K")) as (c, q):
        _send(q, fat.encode())
    (r,) = c.reports_for(None)
    assert sum(len(line) + 1 for line in r.lines[:-1]) <= 16 << 10
    assert r.lines[-1].startswith("[lam-harness: ") and "not kept" in r.lines[-1]
    assert r.title == "WARNING in lkdtm_WARNING"
    assert b"frame299+0x1/0x2" in (tmp_path / "console.log").read_bytes()  # all of it on disk


def test_interact_relays_the_terminal_until_the_escape(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``boot`` without a command: what is typed goes to the console, the
    console is echoed to stdout, Ctrl-] ends it (stdin here is a pipe, not a
    tty: no raw mode)."""
    r, w = os.pipe()
    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(os.fdopen(r, "rb")))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out))
    with console(tmp_path) as (c, qemu):
        qemu.settimeout(5)
        done = threading.Thread(target=c.interact)
        done.start()
        os.write(w, b"uname -r\n")
        assert qemu.recv(100) == b"uname -r\n"
        _send(qemu, b"6.12.0-fake\n")
        deadline = time.monotonic() + 10
        while b"6.12.0-fake\n" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)  # the pump echoes it to stdout (tee)
        os.write(w, b"\x1d")
        done.join(5)
        assert not done.is_alive() and c.tee is None
    os.close(w)
    assert b"6.12.0-fake\n" in out.getvalue()
