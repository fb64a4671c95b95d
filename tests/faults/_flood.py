"""Fixtures shared by the output-flood fault tests: run the real CLI with its
own peak RSS recorded, and check capped files (head + marker + tail)."""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import TestSpec
from harness.exec import Guest, run_test, test_id
from harness.model import TestResult
from harness.vm.console import Console
from tests.conftest import ROOT, need
from tests.integration.helpers import env

# The harness CLI, writing its own peak RSS (VmHWM, KiB: this process's
# address space since its exec, not QEMU's; ru_maxrss would not do, Linux
# carries into it the peak of the process that forked it, here pytest's,
# 210 MB after a half-hour suite) to $LAMH_RSS_FILE at exit, and to $LAMH_RSS_FILE.growth a line per
# 10 MB step of its RSS with where the main thread was then (sampled every
# 50 ms): a figure above the bound says what grew.
_WRAPPER = """\
import atexit, os, runpy, sys, threading, time, traceback
_main = threading.main_thread().ident
_steps = []
def _watch():
    last = 0
    t0 = time.monotonic()
    while True:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20
        if rss >= last + 10:
            last = rss
            frame = sys._current_frames().get(_main)
            where = " < ".join(f"{os.path.basename(x.filename)}:{x.lineno} {x.name}"
                               for x in reversed(traceback.extract_stack(frame)[-6:]))
            _steps.append(f"{time.monotonic() - t0:7.1f}s {rss:5d} MB  {where}")
        time.sleep(0.05)
threading.Thread(target=_watch, daemon=True).start()
def _rss():
    with open(os.environ["LAMH_RSS_FILE"], "w") as f:
        f.write(next(x.split()[1] for x in open("/proc/self/status")
                     if x.startswith("VmHWM:")))
    with open(os.environ["LAMH_RSS_FILE"] + ".growth", "w") as f:
        f.write("\\n".join(_steps) + "\\n")
atexit.register(_rss)
sys.argv[0] = "harness"
runpy.run_module("harness", run_name="__main__")
"""

DROPPED = re.compile(rb"\[lam-harness: (\d+) bytes dropped here: (\S+) is capped at ([^,]+), "
                     rb"head and tail kept\] *\n")


@dataclass
class Flood:
    code: int
    stderr: str
    run_dir: Path
    rss_mb: float
    rss_growth: str = ""  # the wrapper's RSS steps: when and where it grew

    @property
    def run(self) -> Any:
        return json.loads((self.run_dir / "run.json").read_text())

    def tests(self) -> dict[str, Any]:
        return {t["name"]: t for t in self.run["jobs"][0]["tests"]}

    def junit(self) -> ET.Element:
        return ET.parse(self.run_dir / "junit.xml").getroot()  # raises unless valid XML


def run_flood(cfg: Path, results: Path, timeout: float = 900) -> Flood:
    rss = results.parent / "harness-rss"
    e = env() | {"LAMH_RSS_FILE": str(rss)}
    p = subprocess.run([sys.executable, "-c", _WRAPPER, "run", str(cfg), "--results",
                        str(results)], capture_output=True, text=True, env=e, cwd=ROOT,
                       timeout=timeout)
    dirs = sorted(d for d in results.iterdir() if d.is_dir())
    assert len(dirs) == 1, (dirs, p.stderr)
    growth = rss.with_name(rss.name + ".growth")
    return Flood(p.returncode, p.stderr, dirs[0], int(rss.read_text()) / 1024,
                 growth.read_text() if growth.exists() else "")


def capped(path: Path, cap: int, what: str) -> tuple[bytes, int, bytes]:
    """(head, dropped byte count, tail) of a capped file; asserts the shape."""
    data = path.read_bytes()
    assert len(data) <= cap, f"{path}: {len(data)} bytes, cap {cap}"
    m = DROPPED.search(data)
    assert m is not None, f"{path}: no truncation marker"
    assert m.group(2).decode() == what
    assert DROPPED.search(data, m.end()) is None, "one marker only"
    assert data[m.start() - 1:m.start()] == b"\n"  # the marker is a line of its own
    head, tail = data[:m.start() - 1], data[m.end():]
    assert len(head) >= cap // 2 and tail, (len(head), len(tail))
    return head, int(m.group(1)), tail


def qemu_gone(pid: int | None) -> bool:
    assert pid, "QEMU never started"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie is not a live QEMU
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


@contextmanager
def sshd_guest(work: Path) -> Iterator[Guest]:
    """harness.exec.Guest connected to a real OpenSSH server on 127.0.0.1
    (tests/sshd.py) whose PATH has a ``lamh-run`` reduced to "run the
    command", for the exec path without QEMU (test outputs at host speed)."""
    from harness.guest.keys import RunKeys
    from tests.sshd import Sshd, available

    need(available(), "sshd and ssh-keygen needed")
    shim = work / "bin"
    shim.mkdir()
    (shim / "lamh-run").write_text('#!/bin/sh\nshift\nexec "$@"\n')
    (shim / "lamh-run").chmod(0o755)
    server = Sshd(work, "sshd")
    server.config.write_text(server.config.read_text().replace(
        "SetEnv SHLVL=1", f"SetEnv SHLVL=1 PATH={shim}:/usr/bin:/bin"))
    server.start()
    guest = None
    try:
        pub = (server.dir / "host_ed25519.pub").read_text().split()
        keys = RunKeys(server.client_key, "", Path("/dev/null"), f"{pub[0]} {pub[1]}")
        guest = Guest("127.0.0.1", server.port, keys, user=getpass.getuser())
        guest.connect(30, lambda: True)
        yield guest
    finally:
        if guest is not None:
            guest.close()
        server.stop()


def run_on(guest: Guest, test: TestSpec, job_dir: Path) -> TestResult:
    """harness.exec.run_test, with a real Console (on a socket pair) that has
    seen the test's end marker, as the guest's console would show it."""
    ours, theirs = socket.socketpair()
    console = Console(job_dir / "console.log", "lam-harness: ready")
    job_dir.mkdir(parents=True, exist_ok=True)
    console.attach(ours)
    try:
        theirs.sendall(f"lam-harness: end {test_id(test, 1)} rc=0\n".encode())
        return run_test(guest, console, lambda: True, test, 1, job_dir)
    finally:
        theirs.close()
        console.close()
