"""Crash titles on real kernels built from source, in real QEMU: the title
names the function that holds the BUG_ON, and it is the same on every boot
(nightly's new/fixed, validate's "new crash title" and bisect's "same crash"
compare titles).  The demo-bug kernel (patches/demo-bug) on five boots, and
the LAM repro's bad kernel (the IPI fix reverted, configs/lam-repro-bad.yaml)
on the QEMU whose TCG emulates LAM."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.integration.helpers import RunOutcome, run

pytestmark = [pytest.mark.build, pytest.mark.vm]

KERNEL = """\
kernel:
  source: {{debian: linux-source-6.12}}
  patches: [{patches}]
  config: {{base: tinyconfig, fragments: [configs/kconfig/lam-guest.config]}}
  selftests: [{selftests}]
"""


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    for t in ("make", "gcc", "git", "apt-get", "qemu-system-x86_64"):
        need(shutil.which(t) is not None, f"{t} not installed")


def _oopses(t: dict[str, Any]) -> list[dict[str, Any]]:
    return list(t.get("oopses") or [])


def test_demo_bug_title_is_the_same_on_five_boots(tmp_path: Path) -> None:
    cfg = tmp_path / "demo.yaml"
    cfg.write_text("name: demo\n" + KERNEL.format(patches="patches/demo-bug",
                                                  selftests="x86/demo_bug") + """\
machine: {accel: auto, smp: 2, memory: 1G, cmdline: "demo_bug.rate=100", boot_timeout: 120}
tests:
  - {name: demo-bug, run: [/opt/selftests/x86/demo_bug_64], timeout: 60}
""")
    reasons, per_boot, frames, pids = set(), set(), set(), set()
    for boot in range(5):
        out: RunOutcome = run(cfg, tmp_path / f"boot{boot}", timeout=3000)
        assert out.code == 1, out.stderr[-2000:]
        t = out.tests()["demo-bug"]
        assert t["verdict"] == "crash", t
        reasons.add(t["reason"])
        # every report of the boot, in order: the BUG, then the panic it causes
        per_boot.add(tuple(o["title"] for o in _oopses(t)))
        frames |= {o["guilty_frame"] for o in _oopses(t) if o["kind"] == "kernel BUG"}
        pids.add(out.run["jobs"][0]["qemu_pid"])
    assert len(pids) == 5  # five boots, five QEMUs
    assert reasons == {"kernel BUG in demo_bug_fire"}, reasons
    assert len(per_boot) == 1, per_boot
    assert next(iter(per_boot))[0] == "kernel BUG in demo_bug_fire", per_boot
    assert frames == {"demo_bug_fire"}, frames


def test_lam_repro_bad_kernel_crashes_in_switch_mm_irqs_off(tmp_path: Path) -> None:
    """The repro's BUG_ON is in switch_mm_irqs_off() (arch/x86/mm/tlb.c):
    the title names it, not the BUG machinery or the scheduler around it."""
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("name: bad\n" + KERNEL.format(
        patches="patches/lam-uapi, patches/lam-ipi-revert, patches/lam-repro",
        selftests="x86/lam_repro_loop") + """\
machine:
  accel: tcg
  lam: auto
  qemu: {debian: qemu, patches: [patches/qemu/tcg-lam]}
  smp: 2
  memory: 1G
  boot_timeout: 120
tests:
  - {name: loop, run: [/opt/selftests/x86/lam_repro_loop_64, "50"], format: tap,
     needs: [lam], repeat: 5, timeout: 300}
""")
    out = run(cfg, tmp_path / "r", timeout=3600)
    assert out.code == 1, out.stderr[-2000:]
    job = out.run["jobs"][0]
    assert job["lam"]["source"].startswith("emulated"), job["lam"]  # never "hardware" here
    crashed = [t for t in job["tests"] if t["verdict"] == "crash"]
    assert crashed, [(t["name"], t["verdict"], t["reason"]) for t in job["tests"]]
    for t in crashed:
        # a repeated test's reason adds which iteration it was
        assert t["reason"].partition(" (iteration ")[0] == "kernel BUG in switch_mm_irqs_off", \
            t["reason"]
        bugs = [o for o in _oopses(t) if o["kind"] == "kernel BUG"]
        assert bugs and all(o["guilty_frame"] == "switch_mm_irqs_off" for o in bugs), bugs
    texts = [f.read_text() for f in (out.run_dir / "bad").rglob("oops-*.txt")]
    assert any("kernel BUG at arch/x86/mm/tlb.c:" in x for x in texts), texts[:1]
