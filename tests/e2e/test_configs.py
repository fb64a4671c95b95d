"""The shipped configs, end to end on this machine (real builds, real QEMU)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from harness.guest import caps
from harness.vm.hostinfo import cpu_lam, kvm_facts
from tests.conftest import ROOT, need
from tests.integration.helpers import run

pytestmark = [pytest.mark.build, pytest.mark.vm]

LAM_HERE = bool(cpu_lam()) and kvm_facts().real
_REG17 = re.compile(r"\[FAIL\]\tReg 17 mismatch: requested 0x([0-9a-f]+); got 0x([0-9a-f]+)")


def _only_tcg_rf_failures(stdout: str) -> bool:
    """Every [FAIL] of the output is sigreturn_64's EFLAGS (reg 17) coming
    back with only RF (0x10000) added."""
    fails = re.findall(r"\[FAIL\][^\n]*", stdout)
    rf = [m for m in (_REG17.search(f) for f in fails)
          if m and int(m.group(2), 16) == int(m.group(1), 16) | 0x10000
          and int(m.group(1), 16) & 0x10000 == 0]
    return bool(fails) and len(rf) == len(fails)


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    for t in ("make", "gcc", "git", "apt-get", "qemu-system-x86_64"):
        need(shutil.which(t) is not None, f"{t} not installed")


def test_quickstart(tmp_path: Path) -> None:
    """The README's main job: real LAM verdicts on any machine (hardware LAM
    when the host has it, else LAM emulated in TCG, labelled so)."""
    out = run(ROOT / "configs" / "quickstart.yaml", tmp_path / "r", timeout=3000)
    t = out.tests()
    lam = out.run["jobs"][0]["lam"]
    assert out.code == 0, (out.stderr[-3000:], {k: v["verdict"] for k, v in t.items()})
    assert t["guest"]["verdict"] == "pass"
    assert lam["status"] == "available", lam
    if LAM_HERE:
        assert lam["source"] == "hardware"
    else:
        assert lam["source"] == "emulated (TCG)" and lam["chain"]["lam_emulator_used"]
        assert out.run["jobs"][0]["accel"]["accel"] == "tcg"
        assert "TCG with machine.lam_emulator" in out.run["jobs"][0]["accel"]["reason"]
        assert "LAM available, emulated (TCG)" in out.stdout
    assert t["lam-selftest"]["verdict"] == "pass", t["lam-selftest"]["subtests"]
    assert [t[f"lam-repro-loop#{i}"]["verdict"] for i in range(1, 21)] == ["pass"] * 20


def test_nightly_x86_selftests_through_run_kselftest(tmp_path: Path) -> None:
    out = run(ROOT / "configs" / "lam-nightly.yaml", tmp_path / "r", timeout=3000)
    t = out.tests()
    x86 = t["x86-selftests"]
    stdout = (out.run_dir / "lam-nightly" / x86["stdout"]).read_text(errors="replace")
    bad = [s for s in x86["subtests"] if s["verdict"] != "pass"]
    tcg = out.run["jobs"][0]["accel"]["accel"] == "tcg"
    rf_bug = tcg and [s["name"] for s in bad] == ["selftests: x86: sigreturn_64"]
    if rf_bug:
        # QEMU's TCG sometimes leaves EFLAGS.RF (0x10000) set in the signal
        # frame (one of three clean-clone runs): an emulator bug, reported as
        # the failure it is; nothing else may fail
        assert _only_tcg_rf_failures(stdout), stdout[-3000:]
    else:
        assert x86["verdict"] == "pass", (x86["reason"], x86["notes"], bad, stdout[-3000:])
    names = [s["name"] for s in x86["subtests"]]
    assert "selftests: x86: test_vsyscall_64" in names
    assert any(n.startswith("selftests: x86: test_vsyscall_64 / ") for n in names)
    if not LAM_HERE:
        assert out.code == (1 if rf_bug else 0), out.stderr
        assert t["lam-selftest"]["verdict"] == "skip"


def test_lam_emulated_in_tcg_gives_real_lam_verdicts(tmp_path: Path) -> None:
    """QEMU built from Debian's source with patches/qemu/tcg-lam: the guest has
    LAM, labelled as emulated, and lam_64 runs its cases for real."""
    out = run(ROOT / "configs" / "lam-tcg.yaml", tmp_path / "r", timeout=3000)
    job = out.run["jobs"][0]
    lam = job["lam"]
    assert lam["status"] == "available", (lam, out.stderr[-2000:])
    assert lam["source"] == "emulated (TCG)"
    assert lam["chain"]["guest_cpuid_lam"] is True and lam["chain"]["guest_max_tag_bits"] == 6
    # /proc/self/status after ARCH_ENABLE_TAGGED_ADDR(6): bits 62:57 cleared,
    # and a load through a pointer with bits 62:57 set works
    t = out.tests()
    assert t["lam-enable"]["verdict"] == "pass", t["lam-enable"]
    g = caps.parse((out.run_dir / "lam-tcg" / t["lam-enable"]["stdout"]).read_text())
    assert g is not None and g.untag_mask == "0x81ffffffffffffff" and g.tagged_access
    assert "LAM available, emulated (TCG)" in out.stdout
    t = out.tests()
    sub = {s["name"]: s["verdict"] for s in t["lam-selftest"]["subtests"]}
    # lam-uapi widens USER_PTR_MAX, and the guest runs 5-level paging like the
    # CPU says: every case but PASID (no DSA device) runs, and passes.
    for name in ("MALLOC: LAM_U57. Dereferencing pointer with metadata",
                 "MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.",
                 "BITS: Check default tag bits",
                 "MMAP: First mmap high address, then set LAM_U57.",
                 "MMAP: First LAM_U57, then High address.",
                 "MMAP: First LAM_U57, then Low address.",
                 "SYSCALL: LAM_U57. syscall with metadata",
                 "SYSCALL:[Negative] Disable LAM. Dereferencing pointer with metadata.",
                 "URING: LAM_U57. Dereferencing pointer with metadata",
                 "URING:[Negative] Disable LAM. Dereferencing pointer with metadata.",
                 "FORK: LAM_U57, child process should get LAM mode same as parent",
                 "THREAD: LAM_U57, child thread should get LAM mode same as parent",
                 "EXECVE: LAM_U57, child process should get disabled LAM mode"):
        assert sub[name] == "pass", (name, sub)
    assert all(v == "skip" for k, v in sub.items() if k.startswith("PASID"))
    assert t["lam-selftest"]["verdict"] == "pass"
    assert [t[f"lam-repro-loop#{i}"]["verdict"] for i in range(1, 11)] == ["pass"] * 10
    suite = out.junit().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["lam"] == "available (emulated (TCG))"
