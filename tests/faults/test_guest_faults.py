"""The guest or its QEMU fails under a running test: every such fault is an
infrastructure error (exit 3) naming what happened, the tests that could not
run are "notrun", and nothing of the run is left behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.faults.conftest import INFRA, Harness, alive
from tests.integration.helpers import write_config

pytestmark = pytest.mark.vm

LONG = """
    machine: {boot_timeout: 120}
    tests:
      - {name: first, run: "true"}
      - {name: long, run: "echo started-long; sleep 120", timeout: 200}
      - {name: last, run: "true"}
"""


def _mid_test(h: Harness) -> None:
    h.wait_console("lam-harness: start long.1")


def test_qemu_killed_mid_test(debian_kernel: Path, tmp_path: Path) -> None:
    h = Harness(tmp_path, "run", str(write_config(tmp_path, LONG)))
    _mid_test(h)
    [pid] = h.qemu_pids()
    os.kill(pid, signal.SIGKILL)
    end = h.end()
    end.check(3, "error", INFRA)
    t = end.tests()
    assert t["first"]["verdict"] == "pass"
    assert t["long"]["verdict"] == "error", t["long"]
    assert t["long"]["reason"].startswith("lost connection to test machine"), t["long"]
    assert "QEMU exited" in t["long"]["reason"], t["long"]
    assert t["last"]["verdict"] == "notrun"


def test_guest_frozen_past_the_test_timeout(debian_kernel: Path, tmp_path: Path) -> None:
    """QEMU stopped (SIGSTOP): no panic, no output, no SSH. The test's timeout
    passes and the harness cannot even kill the test: no output from the test
    machine, not a test failure; the stopped QEMU is still killed."""
    h = Harness(tmp_path, "run", str(write_config(tmp_path, """
        machine: {boot_timeout: 120}
        tests:
          - {name: first, run: "true"}
          - {name: stuck, run: "echo started-stuck; sleep 120", timeout: 8}
          - {name: last, run: "true"}
    """)))
    h.wait_console("lam-harness: start stuck.1")
    [pid] = h.qemu_pids()
    os.kill(pid, signal.SIGSTOP)
    try:
        end = h.end(timeout=180)
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGCONT)
    end.check(3, "error", INFRA)
    t = end.tests()
    assert t["first"]["verdict"] == "pass"
    assert t["stuck"]["verdict"] == "error", t["stuck"]
    assert t["stuck"]["reason"].startswith("no output from test machine"), t["stuck"]
    assert t["last"]["verdict"] == "notrun"
    assert not alive(pid)


def test_dropbear_killed_in_the_guest(debian_kernel: Path, tmp_path: Path) -> None:
    """The guest's SSH server dies under a running test (the kernel is fine):
    the connection is lost, an infrastructure error, never a failure."""
    end_ = Harness(tmp_path, "run", str(write_config(tmp_path, """
        machine: {boot_timeout: 120}
        tests:
          - {name: first, run: "true"}
          - {name: sshd-dies, run: "kill -9 $(pidof dropbear); sleep 60", timeout: 120}
          - {name: last, run: "true"}
    """))).end(timeout=240)
    end_.check(3, "error", INFRA)
    t = end_.tests()
    assert t["first"]["verdict"] == "pass"
    assert t["sshd-dies"]["verdict"] == "error", t["sshd-dies"]
    assert t["sshd-dies"]["reason"].startswith(("lost connection to test machine",
                                                "no output from test machine")), t["sshd-dies"]
    assert t["last"]["verdict"] == "notrun"


def test_boot_hang_without_panic(debian_kernel: Path, tmp_path: Path) -> None:
    """init never starts the guest's services (rdinit=/bin/cat waits on the
    console for ever) and the kernel never panics: the boot timeout ends it as
    a boot failure, with the console kept."""
    end = Harness(tmp_path, "run", str(write_config(tmp_path, """
        machine: {cmdline: "rdinit=/bin/cat", boot_timeout: 20}
        tests:
          - {name: never, run: "true"}
    """))).end(timeout=120)
    end.check(3, "error", INFRA)
    job = end.run["jobs"][0]
    assert job["error"].startswith("boot failure: "), job["error"]
    assert "20" in job["error"] and "panic" not in job["error"], job["error"]
    assert end.tests()["never"]["verdict"] == "notrun"
    assert "Run /bin/cat as init process" in (end.run_dir / "it" / "console.log").read_text()
