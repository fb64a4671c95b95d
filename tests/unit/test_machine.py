"""vm/machine.QemuMachine, the real Machine, spawning fakeqemu.py through the
real LocalHost instead of QEMU: readiness, boot hang, QEMU exiting, a panic
during boot, KVM internal error (stderr and QMP), the retried starts, stop."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.errors import BootError
from harness.vm import base as vm_base
from harness.vm import machine as vm_machine
from harness.vm.machine import QemuMachine
from harness.vm.qemu import AccelChoice, QemuInvocation
from tests.unit.fakevm import DEMO, boot_log, during

READY = "lam-harness: ready 0123456789abcdef"
FAKE = Path(__file__).with_name("fakeqemu.py")
KVM_ERROR = "KVM internal error. Suberror: 1\nemulation failure\n"


def _machine(tmp: Path, monkeypatch: pytest.MonkeyPatch, console: str | None = None,
             **mode: Any) -> QemuMachine:
    wrapper = tmp / "qemu-system-x86_64"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE} \"$@\"\n")
    wrapper.chmod(0o755)
    if console is not None:
        (tmp / "console.in").write_text(console)
        mode["console"] = str(tmp / "console.in")
    monkeypatch.setenv("FAKEQEMU", json.dumps(mode))
    inv = QemuInvocation(str(wrapper), tmp / "bzImage", tmp / "initrd", "console=ttyS0",
                         Path(), Path(), 2222, AccelChoice("tcg", "test"), "max", 1, "256M")
    return QemuMachine(inv, tmp / "job", READY)


def test_ready_then_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, boot_log() + READY + "\n")
    pids: list[int] = []
    m.on_spawn = pids.append
    try:
        m.start(10)
        assert m.alive() and m.console is not None and m.console.ready.is_set()
        assert m.timings.ready is not None and m.timings.to_json()["qemu_start_to_ready_s"]
        assert m.proc is not None and pids == [m.proc.pid]
        assert m.wait(0.1) is False and m.lost() is None
        assert (tmp_path / "job" / "qemu.cmdline").read_text().startswith(m.inv.binary)
        run_dir = m.run_dir
        assert run_dir is not None and os.path.isdir(run_dir)
    finally:
        m.stop()
    assert not m.alive() and m.wait(1.0)
    assert not os.path.exists(run_dir) and m.run_dir is None
    assert "Linux version 6.12" in (tmp_path / "job" / "console.log").read_text()


def test_boot_hang_is_a_boot_error_with_the_console_tail(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, "booting\nstill booting\n")
    with pytest.raises(BootError, match=r"no readiness marker within 1s \(last console lines: "
                                        r"booting \| still booting\)"):
        m.start(1)
    assert not m.alive()
    m.stop()


def test_qemu_exit_before_ready_names_its_last_stderr_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, "early\n", exit=1, stderr="qemu: something broke\n")
    with pytest.raises(BootError, match="QEMU exited with status 1 before the guest was ready: "
                                        "qemu: something broke"):
        m.start(10)
    m.stop()


def test_qemu_exit_without_stderr_names_the_console(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, "last words\n", exit=0)
    with pytest.raises(BootError, match=r"status 0 .*\(console: last words\)"):
        m.start(10)
    m.stop()


def test_panic_during_boot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, boot_log() + during(DEMO, "demo-bug.1"), exit=0)
    with pytest.raises(BootError, match="kernel crashed during boot: kernel BUG in demo_bug_fire"):
        m.start(10)
    m.stop()


def test_kvm_internal_error_in_stderr_ends_the_boot(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """QEMU stays paused forever after it: the machine kills it."""
    m = _machine(tmp_path, monkeypatch, "", stderr=KVM_ERROR)
    with pytest.raises(BootError, match="KVM internal error: this host's KVM cannot run"):
        m.start(30)
    assert not m.alive()
    m.stop()


def test_qmp_internal_error_state_ends_the_boot(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, "", status="internal-error")
    with pytest.raises(BootError, match="QEMU guest state is 'internal-error'"):
        m.start(30)
    assert not m.alive()
    m.stop()


def test_msr_abort_is_retried_without_arch_capabilities(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, READY + "\n", fail_unless_cpu="-arch-capabilities",
                 fail_stderr="qemu: error: failed to set MSR 0x10a to 0x0")
    try:
        m.start(10)
        assert m.inv.cpu == "max,-arch-capabilities"
        assert m.notes and "retried with -cpu ...,-arch-capabilities" in m.notes[0]
    finally:
        m.stop()


def test_taken_ssh_port_is_retried_on_another(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, READY + "\n", fail_once=str(tmp_path / "once"),
                 fail_stderr="qemu: Could not set up host forwarding rule 'tcp:...'")
    try:
        m.start(10)
        assert m.inv.ssh_port != 2222
        assert m.notes == ["SSH port was taken: retried on another port"]
    finally:
        m.stop()


def test_other_failures_are_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, READY + "\n", fail_unless_cpu="no-such-flag",
                 fail_stderr="qemu: unsupported")
    with pytest.raises(BootError, match="qemu: unsupported"):
        m.start(10)
    assert m.notes == []
    m.stop()


def test_kill_all_stops_every_live_machine(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    m = _machine(tmp_path, monkeypatch, READY + "\n")
    m.start(10)
    assert m in vm_base._LIVE
    vm_machine.kill_all()  # vm/base's, re-exported
    assert not m.alive() and m not in vm_base._LIVE
