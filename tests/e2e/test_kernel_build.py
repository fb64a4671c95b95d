"""Real kernel builds from Debian's linux-source-6.12 (slow: marker `build`).

A clean build takes about 5 minutes on 2 cores (seconds with a warm ccache);
the cache makes every later test reuse it."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, need
from tests.integration.helpers import cli, run

pytestmark = [pytest.mark.build, pytest.mark.vm]

DEMO = ROOT / "configs" / "demo-bug.yaml"


@pytest.fixture(scope="module")
def tools() -> None:
    for t in ("make", "gcc", "git", "apt-get", "qemu-system-x86_64", "flex", "bison"):
        need(shutil.which(t) is not None, f"{t} not installed")


def _cfg(tmp: Path, body: str) -> Path:
    p = tmp / "k.yaml"
    p.write_text("name: k\nkernel:\n  source: {debian: linux-source-6.12}\n" + body)
    return p


def test_dropped_kconfig_option_fails_before_compiling(tools: None, tmp_path: Path) -> None:
    frag = tmp_path / "lam.config"
    frag.write_text("# LAM without turning mitigations off\nCONFIG_ADDRESS_MASKING=y\n")
    cfg = _cfg(tmp_path, f"  config: {{base: defconfig, fragments: [{frag}]}}\n")
    p = cli("build", str(cfg), timeout=900)
    assert p.returncode == 2, p.stderr
    assert f"{frag}:2" in p.stderr
    assert "CONFIG_ADDRESS_MASKING=y" in p.stderr and "CPU_MITIGATIONS=y" in p.stderr
    assert "arch/x86/Kconfig" in p.stderr and "COMPILE_TEST || !CPU_MITIGATIONS" in p.stderr
    assert "building kernel" not in p.stderr


def test_patch_that_does_not_apply_fails_naming_it(tools: None, tmp_path: Path) -> None:
    patch = tmp_path / "0001-bad.patch"
    patch.write_text(
        "From: t <t@t>\nSubject: [PATCH] bad\n\n---\n"
        "diff --git a/arch/x86/kernel/process_64.c b/arch/x86/kernel/process_64.c\n"
        "--- a/arch/x86/kernel/process_64.c\n+++ b/arch/x86/kernel/process_64.c\n"
        "@@ -1,2 +1,2 @@\n-this line is not in the file\n+nor this one\n context\n")
    cfg = _cfg(tmp_path, f"  patches: [{patch}]\n")
    p = cli("build", str(cfg), timeout=900)
    assert p.returncode == 2, p.stderr
    assert f"patch {patch} does not apply" in p.stderr
    assert "arch/x86/kernel/process_64.c" in p.stderr


def test_demo_bug_kernel_builds_boots_and_crashes(tools: None, tmp_path: Path) -> None:
    p = cli("build", str(DEMO), timeout=3000)
    assert p.returncode == 0, p.stderr
    build_json = Path(next(ln.split()[-1] for ln in p.stdout.splitlines()
                           if ln.startswith("build.json")))
    info = json.loads(build_json.read_text())
    assert info["kernel_release"].startswith("6.12")
    # Every fragment option survived (else the build would have failed), and:
    config = (build_json.parent / "config").read_text()
    assert "CONFIG_ADDRESS_MASKING=y" in config and "CONFIG_BUG=y" in config

    # the same inputs again: no make at all (how long a hit takes is a
    # figure: bench/build.py, "cached")
    again = cli("build", str(DEMO), timeout=600)
    assert again.returncode == 0 and again.stdout.startswith("cache hit (no make ran)")

    out = run(DEMO, tmp_path / "results", timeout=600)
    assert out.code == 1, out.stderr
    t = out.tests()
    lam = t["lam-selftest"]
    stdout = (out.run_dir / "demo-bug" / lam["stdout"]).read_text()
    if out.run["jobs"][0]["lam"]["status"] == "absent":
        assert lam["verdict"] == "skip", lam  # lam_64 ran: this CPU has no LAM
        assert "Unsupported LAM feature" in stdout
    else:  # LAM in hardware, or emulated by the tcg-lam QEMU: lam_64 really runs
        assert out.run["jobs"][0]["lam"]["status"] == "available"
        assert lam["verdict"] == "pass", lam
        assert "Unsupported LAM feature" not in stdout
    crash = t["demo-bug"]
    assert crash["verdict"] == "crash", crash
    assert crash["reason"] == "kernel BUG in demo_bug_fire", crash
    oops = (out.run_dir / "demo-bug" / crash["oopses"][0]["file"]).read_text()
    assert "demo_bug_fire" in oops and "kernel BUG at arch/x86/kernel/demo_bug.c:" in oops
    # symbolized with the build's vmlinux, the way decode_stacktrace.sh prints it
    assert crash["oopses"][0]["symbolized"] is True
    assert re.search(r"demo_bug_fire\+0x\w+/0x\w+ \(arch/x86/kernel/demo_bug\.c:\d+\)", oops), oops
    assert crash["oopses"][0]["guilty_frame"] == "demo_bug_fire"
    # one issue per distinct title, with its count, in run.json
    titles = {e["title"]: e for e in out.run["oops_titles"]}
    assert titles["kernel BUG in demo_bug_fire"]["count"] == 1
    assert titles["kernel BUG in demo_bug_fire"]["tests"] == ["demo-bug"]


def test_one_patch_byte_rebuilds(tools: None, tmp_path: Path) -> None:
    src = ROOT / "patches" / "demo-bug"
    copy = tmp_path / "demo-bug"
    shutil.copytree(src, copy)
    series = [ln.strip() for ln in (copy / "series").read_text().splitlines() if ln.strip()]
    first = copy / series[0]
    text = first.read_text()
    assert "demo" in text
    # a byte no earlier run has seen, so the cache cannot already hold it
    first.write_text(text.replace("Subject: [PATCH", f"Subject: [PATCH {uuid.uuid4().hex}", 1))
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(DEMO.read_text().replace("patches: [patches/demo-bug]",
                                            f"patches: [{copy}]")
                   .replace("configs/kconfig/lam-guest.config",
                            str(ROOT / "configs" / "kconfig" / "lam-guest.config")))
    p = cli("build", str(cfg), timeout=3000)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("built:"), p.stdout
