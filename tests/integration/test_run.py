"""The run pipeline end to end on Debian's 6.12 cloud kernel in real QEMU."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, need
from tests.integration.helpers import cli, env, run, write_config

pytestmark = pytest.mark.vm


TCG_LAM_QEMU = f"qemu: {{debian: qemu, patches: [{ROOT}/patches/qemu/tcg-lam]}}, "


# The QEMU with patches/qemu/tcg-lam must leave guests without +lam exactly as
# they were: the same test, on the stock binary and on the patched one.
@pytest.mark.parametrize("qemu_opts", [
    "", TCG_LAM_QEMU + "cpu: max, lam: 'off', ", TCG_LAM_QEMU + "cpu: qemu64, lam: 'off', "],
    ids=["stock-qemu", "tcg-lam-qemu-max", "tcg-lam-qemu-qemu64"])
def test_verdicts_timeout_skip_and_real_panic(debian_kernel: Path, tmp_path: Path,
                                              qemu_opts: str) -> None:
    if qemu_opts:
        need(shutil.which("apt-get") is not None, "apt-get needed to build QEMU")
    cfg = write_config(tmp_path, """
        machine: {QEMUOPTSaccel: auto, smp: 2, memory: 1G, boot_timeout: 120}
        tests:
          - {name: passes, run: "echo hello from $(uname -r)", timeout: 30}
          - {name: fails, run: "echo to-stderr >&2; exit 1", timeout: 30}
          - {name: hangs, run: ["sleep", "300"], timeout: 3}
          - {name: after-timeout, run: "true", timeout: 30}
          - {name: skips, run: "echo '# SKIP no such feature'; exit 4", timeout: 30}
          - {name: repeated, run: "true", repeat: 3, timeout: 30}
          - {name: panics, run: "echo c > /proc/sysrq-trigger", timeout: 60}
          - {name: never-runs, run: "true", timeout: 30}
    """.replace("QEMUOPTS", qemu_opts))
    out = run(cfg, tmp_path / "results", timeout=1800)
    assert out.code == 1, out.stderr
    t = out.tests()
    assert t["passes"]["verdict"] == "pass"
    assert (out.run_dir / "it" / "passes" / "stdout").read_text().startswith("hello from 6.12")
    assert t["fails"]["verdict"] == "fail" and t["fails"]["exit_status"] == 1
    assert (out.run_dir / "it" / "fails" / "stderr").read_text() == "to-stderr\n"
    assert t["hangs"]["verdict"] == "fail" and "timed out" in t["hangs"]["reason"]
    assert t["hangs"]["duration"] < 10
    assert t["after-timeout"]["verdict"] == "pass"
    assert t["skips"]["verdict"] == "skip" and "SKIP no such feature" in t["skips"]["reason"]
    assert [t[f"repeated#{i}"]["verdict"] for i in (1, 2, 3)] == ["pass"] * 3
    crash = t["panics"]
    assert crash["verdict"] == "crash"
    assert crash["reason"] == "kernel panic: sysrq triggered crash"
    oops = out.run_dir / "it" / crash["oopses"][0]["file"]
    assert "Kernel panic - not syncing: sysrq triggered crash" in oops.read_text()
    assert t["never-runs"]["verdict"] == "notrun"
    assert "crashed in panics" in t["never-runs"]["reason"]
    job = out.run["jobs"][0]
    assert job["accel"]["accel"] in ("kvm", "tcg") and job["accel"]["reason"]
    if qemu_opts:
        assert "/kernels/qemu/" in job["lam"]["qemu"] and job["lam"]["status"] == "off"
    assert out.run["status"] == "failed" and out.run["exit_code"] == 1
    console = (out.run_dir / "it" / "console.log").read_text(errors="replace")
    assert "Linux version 6.12" in console and "sysrq triggered crash" in console
    # JUnit: one suite, one case per test and iteration, kinds mapped.
    suite = out.junit().find("testsuite")
    assert suite is not None and suite.get("name") == "it"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert len(cases) == 10
    assert cases["passes"].find("failure") is None and cases["passes"].find("skipped") is None
    assert cases["fails"].find("failure") is not None
    assert "sysrq triggered crash" in cases["panics"].find("failure").get("message")  # type: ignore[union-attr]
    assert cases["skips"].find("skipped") is not None
    assert "not run" in cases["never-runs"].find("skipped").get("message")  # type: ignore[union-attr]


def test_lam_tests_skip_with_reason_without_lam(debian_kernel: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, """
        machine: {boot_timeout: 120}
        tests:
          - {name: lam-flag, run: "grep -qw lam /proc/cpuinfo", needs: [lam]}
          - {name: plain, run: "true"}
    """)
    out = run(cfg, tmp_path / "results")
    t = out.tests()
    lam = out.run["jobs"][0]["lam"]
    chain = lam["chain"]
    assert {"host_cpu_lam", "accel", "kvm", "qemu_knows_lam", "guest_cpuid_lam",
            "guest_max_tag_bits"} <= chain.keys()
    if lam["status"] == "available":  # a LAM host with real KVM: the test really runs
        assert t["lam-flag"]["verdict"] == "pass"
    else:
        assert lam["status"] == "absent"
        assert out.code == 0, out.stderr
        assert t["lam-flag"]["verdict"] == "skip"
        assert "needs lam" in t["lam-flag"]["reason"]
        assert any("LAM" in r for r in lam["reasons"])
        assert chain["guest_cpuid_lam"] is False
    assert t["plain"]["verdict"] == "pass"


def test_lam_required_without_lam_is_infra_error_naming_the_missing_link(
        debian_kernel: Path, tmp_path: Path) -> None:
    """``accel: tcg`` on a QEMU whose TCG does not emulate LAM: a link is
    missing on every host (a LAM host with real KVM too), so the case under
    test always happens."""
    from harness.vm.hostinfo import qemu_facts

    assert not qemu_facts("qemu-system-x86_64").tcg_lam, (
        "this test needs the stock QEMU (its TCG does not emulate LAM)")
    cfg = write_config(tmp_path, """
        machine: {lam: required, accel: tcg, boot_timeout: 120}
        tests:
          - {name: t, run: "true"}
    """)
    out = run(cfg, tmp_path / "results")
    assert out.code == 3, out.stderr
    job = out.run["jobs"][0]
    assert "machine.lam: required, but LAM is not available" in job["error"]
    assert "accel is TCG, and this QEMU's TCG does not emulate LAM" in job["error"]
    assert out.tests()["t"]["verdict"] == "notrun"
    assert job["qemu_pid"] is None  # stopped before booting


def test_kernel_that_cannot_boot_is_infra_error(debian_kernel: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, """
        machine: {cmdline: "rdinit=/nowhere init=/nowhere", boot_timeout: 120}
        tests:
          - {name: never, run: "true"}
    """)
    out = run(cfg, tmp_path / "results")
    assert out.code == 3, out.stderr
    job = out.run["jobs"][0]
    # ended by the panic on the console, not by boot_timeout (the time it
    # takes is a figure: bench/fail_fast.py)
    assert job["status"] == "error" and job["error"].startswith("boot failure: ")
    assert "kernel panic: " in job["error"]
    assert out.tests()["never"]["verdict"] == "notrun"
    err = out.junit().find("testsuite/testcase[@name='boot']/error")
    assert err is not None


def test_forced_kvm_never_hangs(debian_kernel: Path, tmp_path: Path) -> None:
    """On a kvm_pvm host (this project's runners) /dev/kvm cannot run the
    guest: QEMU pauses itself on a KVM internal error and would wait forever.
    The harness must read that and end the boot as an infra error that says
    so (not wait for boot_timeout: the time it takes is a figure,
    bench/fail_fast.py).  On a host whose KVM is real the same config must
    boot and pass under KVM."""
    from harness.vm.hostinfo import kvm_facts

    kvm = kvm_facts()
    cfg = write_config(tmp_path, """
        machine: {accel: kvm, boot_timeout: 240}
        tests:
          - {name: t, run: "true"}
    """)
    out = run(cfg, tmp_path / "results")
    job = out.run["jobs"][0]
    if kvm.real and kvm.dev_usable:
        assert out.code == 0, out.stderr
        assert job["accel"]["accel"] == "kvm"
        assert out.tests()["t"]["verdict"] == "pass"
        return
    assert out.code == 3, out.stderr
    assert job["status"] == "error"
    if kvm.dev_usable:  # and not real: kvm_pvm
        assert job["error"].startswith("boot failure: KVM internal error: "), job["error"]
        qemu_log = (out.run_dir / "it" / "qemu.log").read_text(errors="replace")
        assert "KVM internal error" in qemu_log  # what QEMU said, read by the harness
    else:  # no /dev/kvm, or one that cannot be opened: said before booting
        assert "accel: kvm requested but" in job["error"], job["error"]
    assert out.tests()["t"]["verdict"] == "notrun"


def test_sigkill_of_harness_still_kills_qemu(debian_kernel: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, """
        machine: {boot_timeout: 120}
        tests:
          - {name: long, run: "sleep 120", timeout: 200}
    """)
    results = tmp_path / "results"
    p = subprocess.Popen([sys.executable, "-m", "harness", "run", str(cfg), "--results",
                          str(results)], env=env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    import json

    deadline = time.monotonic() + 120
    pid = None
    while time.monotonic() < deadline and pid is None:
        for rj in results.glob("*/run.json"):
            jobs = json.loads(rj.read_text()).get("jobs", [])
            pid = jobs[0].get("qemu_pid") if jobs else None
        time.sleep(0.2)
    assert pid, "QEMU never started"
    p.kill()
    p.wait()
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "QEMU outlived a SIGKILLed harness"


def test_boot_cmd_runs_one_command(debian_kernel: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, """
        machine: {boot_timeout: 120}
    """)
    p = cli("boot", str(cfg), "--cmd", "uname -r; exit 7", timeout=300)
    assert p.returncode == 7, p.stderr
    assert p.stdout.startswith("6.12")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not a live QEMU
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_boot_interactive_console(debian_kernel: Path, tmp_path: Path) -> None:
    import pexpect

    cfg = write_config(tmp_path, """
        machine: {boot_timeout: 120}
    """)
    child = pexpect.spawn(sys.executable, ["-m", "harness", "boot", str(cfg)], env=env(),
                          timeout=120, encoding="utf-8")
    try:
        child.expect(r"Ctrl-\] to quit")
        child.sendline("")
        child.expect("lam-guest# ", timeout=30)
        child.sendline("echo answer=$((6*7))")
        child.expect("answer=42", timeout=30)
        child.send("\x1d")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_prebuilt_image_with_modules_dir(debian_kernel: Path, tmp_path: Path) -> None:
    """kernel.image + kernel.modules: the same kernel given as plain files."""
    version = debian_kernel.name.removeprefix("vmlinuz-")
    mods = debian_kernel.parent.parent / "lib" / "modules" / version
    cfg = tmp_path / "img.yaml"
    cfg.write_text(f"name: img\nkernel:\n  image: {debian_kernel}\n  modules: {mods}\n"
                   "machine: {boot_timeout: 120}\n"
                   "tests:\n"
                   "  - {name: modules-loaded, run: \"grep -q ^virtio_net /proc/modules\"}\n")
    out = run(cfg, tmp_path / "results")
    assert out.code == 0, out.stderr
    assert out.tests()["modules-loaded"]["verdict"] == "pass"


def test_repeat_stops_at_the_first_crash_and_says_which(debian_kernel: Path,
                                                        tmp_path: Path) -> None:
    cfg = write_config(tmp_path, """
        machine: {boot_timeout: 120}
        tests:
          - name: flaky
            run: "n=$(cat /tmp/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/n;
                  if [ $n -ge 3 ]; then echo c > /proc/sysrq-trigger; fi"
            repeat: 5
            timeout: 60
          - {name: after, run: "true"}
    """)
    out = run(cfg, tmp_path / "results")
    assert out.code == 1, out.stderr
    t = out.tests()
    assert t["flaky#1"]["verdict"] == "pass" and t["flaky#2"]["verdict"] == "pass"
    assert t["flaky#3"]["verdict"] == "crash"
    assert "iteration 3 of 5: 2 ran clean before it" in t["flaky#3"]["reason"]
    assert "flaky#4" not in t and "flaky#5" not in t
    assert t["after"]["verdict"] == "notrun"


def test_a_guest_that_goes_silent_is_no_output_not_a_test_failure(
        debian_kernel: Path, tmp_path: Path) -> None:
    """The guest stops answering (its network is taken down) and the console
    says nothing: an infrastructure outcome named the way the field names it,
    never a test failure; later tests do not run on the lost guest."""
    cfg = write_config(tmp_path, """
        machine: {boot_timeout: 120}
        tests:
          - {name: wedge, run: "ip link set eth0 down; sleep 120", timeout: 5}
          - {name: after, run: "true"}
    """)
    out = run(cfg, tmp_path / "results")
    t = out.tests()
    assert t["wedge"]["verdict"] == "error", t["wedge"]
    assert t["wedge"]["reason"].startswith("no output from test machine: "), t["wedge"]
    assert t["after"]["verdict"] == "notrun"
    assert out.code == 3, out.stderr
