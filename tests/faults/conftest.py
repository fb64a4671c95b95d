"""The fault suite: real QEMU, real guests, one fault per test.

Every test checks the same contract (``Ending.check``): the exit code, the
status in run.json and the class of the outcome (an infrastructure error is
never a test failure, and the reverse), a JUnit file that parses, the console
log kept, and no process of the run left behind (QEMU, make, a compiler).
A fixture kills whatever a failing test would otherwise leave running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import env

INFRA, TEST, NONE = "infra", "test", "none"


def processes_mentioning(fragment: str) -> list[tuple[int, str]]:
    """Live processes (not zombies, not this one) whose command line or
    working directory contains ``fragment``."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            try:
                cwd = os.readlink(d / "cwd")
            except OSError:
                cwd = ""
        except OSError:
            continue
        if state != "Z" and (fragment in cmd or cwd.startswith(fragment)):
            found.append((int(d.name), cmd.strip()))
    return found


def left_behind(fragment: str, within: float = 10.0) -> list[tuple[int, str]]:
    """What still runs after ``within`` seconds (a dying QEMU takes a moment)."""
    deadline = time.monotonic() + within
    while True:
        left = processes_mentioning(fragment)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def kill_all(fragment: str) -> None:
    for pid, _ in processes_mentioning(fragment):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(autouse=True)
def _nothing_survives(tmp_path: Path) -> Iterator[None]:
    """A failing fault test must not leave QEMU running for the next one."""
    yield
    kill_all(str(tmp_path))


@dataclass
class Ending:
    code: int
    stderr: str
    results: Path

    @property
    def run_dir(self) -> Path:
        dirs = sorted(p for p in self.results.iterdir() if p.is_dir())
        assert len(dirs) == 1, dirs
        return dirs[0]

    @property
    def run(self) -> Any:
        return json.loads((self.run_dir / "run.json").read_text())

    def tests(self, job: int = 0) -> dict[str, Any]:
        return {t["name"]: t for t in self.run["jobs"][job]["tests"]}

    def outcome_class(self) -> str:
        """infra when a job ended in error (the machine, not the kernel), test
        when a test failed or crashed, none otherwise."""
        jobs = self.run["jobs"]
        if any(j["status"] == "error" for j in jobs):
            return INFRA
        if any(t["verdict"] in ("fail", "crash") for j in jobs for t in j["tests"]):
            return TEST
        return NONE

    def check(self, code: int, status: str, outcome: str, *, console: bool = True,
              leftovers: str | None = None) -> None:
        """The contract of every fault: ``leftovers`` is the path fragment
        (default: the results folder) no process may still mention."""
        assert self.code == code, self.stderr
        data = self.run
        assert data["status"] == status, data
        assert self.outcome_class() == outcome, data["jobs"]
        assert "Traceback" not in self.stderr, self.stderr
        root = ET.parse(self.run_dir / "junit.xml").getroot()
        assert root.tag == "testsuites" and root.findall("testsuite"), ET.tostring(root)
        for case in root.iter("testcase"):
            assert case.get("name"), ET.tostring(case)
        if console:
            for job in data["jobs"]:
                log = self.run_dir / job["name"] / "console.log"
                assert log.is_file() and log.stat().st_size > 0, log
        left = left_behind(leftovers or str(self.results))
        assert not left, f"left running: {left}"


class Harness:
    """``lam-harness ARGS...`` in a subprocess, watched while it runs."""

    def __init__(self, tmp: Path, *args: str) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.results = tmp / "results"
        self.err = tmp / "harness.stderr"
        self.args = args
        with open(self.err, "wb") as err:
            self.p = subprocess.Popen([sys.executable, "-m", "harness", *args, "--results",
                                       str(self.results)], env=env(),
                                      stdout=subprocess.DEVNULL, stderr=err)

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait_for(self, what: str, cond: Callable[[], bool], timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if self.p.poll() is not None:
                pytest.fail(f"lam-harness ended ({self.p.returncode}) before {what}:\n"
                            + self.stderr())
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout:.0f}s:\n" + self.stderr())
            time.sleep(0.1)

    def console(self) -> str:
        logs = sorted(self.results.glob("*/**/console.log"))
        return "".join(p.read_text(errors="replace") for p in logs)

    def wait_console(self, text: str, timeout: float = 180) -> None:
        self.wait_for(f"{text!r} on the console", lambda: text in self.console(), timeout)

    def wait_stderr(self, text: str, timeout: float = 180) -> None:
        self.wait_for(f"{text!r} from lam-harness", lambda: text in self.stderr(), timeout)

    def run_json(self) -> Any:
        for rj in self.results.glob("*/run.json"):
            try:
                return json.loads(rj.read_text())
            except ValueError:  # caught mid-write (it is replaced atomically, but be safe)
                return {}
        return {}

    def qemu_pids(self) -> list[int]:
        return [j["qemu_pid"] for j in self.run_json().get("jobs", []) if j.get("qemu_pid")]

    def signal(self, sig: int) -> None:
        self.p.send_signal(sig)

    def end(self, timeout: float = 120) -> Ending:
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            pytest.fail(f"lam-harness still running {timeout:.0f}s later:\n" + self.stderr())
        return Ending(self.p.returncode, self.stderr(), self.results)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False
