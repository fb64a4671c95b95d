"""The shipped configs, end to end on this machine (real builds, real QEMU)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.vm.hostinfo import cpu_lam, kvm_facts
from tests.conftest import ROOT, need
from tests.integration.helpers import run

pytestmark = [pytest.mark.build, pytest.mark.vm]

LAM_HERE = bool(cpu_lam()) and kvm_facts().real


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    for t in ("make", "gcc", "git", "apt-get", "qemu-system-x86_64"):
        need(shutil.which(t) is not None, f"{t} not installed")


def test_quickstart(tmp_path: Path) -> None:
    out = run(ROOT / "configs" / "quickstart.yaml", tmp_path / "r", timeout=3000)
    t = out.tests()
    lam = out.run["jobs"][0]["lam"]
    assert t["guest"]["verdict"] == "pass"
    if LAM_HERE:
        assert lam["status"] == "available"
        return
    assert out.code == 0, out.stderr
    assert lam["status"] == "absent"
    for name in ("lam-selftest", "lam-repro-loop"):
        assert t[name]["verdict"] == "skip"
        assert "host CPU has no LAM" in t[name]["reason"] or "TCG" in t[name]["reason"]
    skipped = out.junit().find(".//testcase[@name='lam-selftest']/skipped")
    assert skipped is not None and "needs lam" in (skipped.get("message") or "")
    assert "SKIP" in out.stdout and "needs lam" in out.stdout


def test_nightly_x86_selftests_through_run_kselftest(tmp_path: Path) -> None:
    out = run(ROOT / "configs" / "lam-nightly.yaml", tmp_path / "r", timeout=3000)
    t = out.tests()
    x86 = t["x86-selftests"]
    stdout = (out.run_dir / "lam-nightly" / x86["stdout"]).read_text(errors="replace")
    bad = [s for s in x86["subtests"] if s["verdict"] != "pass"]
    assert x86["verdict"] == "pass", (x86["reason"], x86["notes"], bad, stdout[-3000:])
    names = [s["name"] for s in x86["subtests"]]
    assert "selftests: x86: test_vsyscall_64" in names
    assert any(n.startswith("selftests: x86: test_vsyscall_64 / ") for n in names)
    if not LAM_HERE:
        assert out.code == 0, out.stderr
        assert t["lam-selftest"]["verdict"] == "skip"
