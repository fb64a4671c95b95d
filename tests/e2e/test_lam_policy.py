"""The LAM policy on a QEMU whose TCG emulates LAM (patches/qemu/tcg-lam):
``lam: off`` must give a guest without LAM (a control run is one), and the
patched QEMU's ``-cpu max`` alone must not turn LAM on.  Real builds (the
lam-tcg kernel and QEMU, cached), real guests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import config
from harness.vm import qemu_build
from tests.conftest import KERNELS, ROOT, need
from tests.integration.helpers import run

pytestmark = [pytest.mark.build, pytest.mark.vm]

KERNEL = """\
kernel:
  source: {debian: linux-source-6.12}
  patches: [patches/lam-uapi, patches/lam-repro]
  config: {base: tinyconfig, fragments: [configs/kconfig/lam-guest.config]}
  selftests: [x86/lam, x86/lam_repro_loop]
"""


def _config(tmp: Path, lam: str) -> Path:
    p = tmp / f"lam-{lam}.yaml"
    p.write_text(f"name: lam-{lam}\n" + KERNEL + f"""\
machine:
  accel: tcg
  lam: {lam}
  qemu: {{debian: qemu, patches: [patches/qemu/tcg-lam]}}
  smp: 2
  boot_timeout: 120
tests:
  - {{name: cpuinfo, run: "grep -cw lam /proc/cpuinfo; true", timeout: 30}}
""")
    return p


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    for t in ("make", "gcc", "git", "apt-get", "qemu-system-x86_64"):
        need(shutil.which(t) is not None, f"{t} not installed")


@pytest.mark.parametrize("lam", ["off", "auto"])
def test_lam_off_on_the_tcg_lam_qemu_gives_a_guest_without_lam(tmp_path: Path,
                                                              lam: str) -> None:
    out = run(_config(tmp_path, lam), tmp_path / "r", timeout=3000)
    assert out.code == 0, out.stderr[-3000:]
    job = out.run["jobs"][0]
    t = out.tests()["cpuinfo"]
    count = int((out.run_dir / f"lam-{lam}" / t["stdout"]).read_text().split()[0])
    if lam == "off":
        # the control run: no LAM in the guest, and the record says so
        assert count == 0
        assert job["lam"]["status"] == "off" and job["accel"]["cpu"].endswith(",-lam")
        assert t["lam"] == "off"
    else:
        # the same QEMU and kernel do give LAM when asked: the check can fail
        assert count == 2  # smp: 2, both vCPUs
        assert job["lam"]["status"] == "available"
        assert t["lam"] == "available (emulated (TCG))"


def _qmp_lam(binary: Path, cpu: str) -> bool:
    """The 'lam' property of the vCPU QEMU makes for ``-accel tcg -cpu CPU``
    (started paused: no guest code runs)."""
    p = subprocess.Popen([str(binary), *qemu_build.FIRMWARE_ARGS, "-accel", "tcg", "-cpu", cpu,
                          "-display", "none", "-nodefaults", "-S", "-qmp", "stdio"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdin is not None and p.stdout is not None

    def ask(cmd: str, **args: object) -> object:
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
        p.stdin.flush()
        while True:
            line = p.stdout.readline()
            assert line, f"QEMU ended before answering {cmd}"
            msg = json.loads(line)
            if "return" in msg or "error" in msg:
                assert "return" in msg, msg
                return msg["return"]

    try:
        json.loads(p.stdout.readline())  # the greeting
        ask("qmp_capabilities")
        cpus = ask("query-cpus-fast")
        assert isinstance(cpus, list) and cpus
        return bool(ask("qom-get", path=cpus[0]["qom-path"], property="lam"))
    finally:
        p.kill()
        p.wait()


def test_the_patched_qemus_cpu_max_has_no_lam_unless_asked() -> None:
    """Patch 0005 keeps LAM out of what TCG's -cpu max turns on by itself."""
    cfg = config.loads(f"name: q\n{KERNEL}machine:\n  qemu: {{debian: qemu, patches: "
                       "[patches/qemu/tcg-lam]}\n", str(ROOT / "q.yaml"))
    binary = qemu_build.build(cfg, KERNELS).binary
    assert _qmp_lam(binary, "max") is False
    assert _qmp_lam(binary, "max,+lam") is True
    assert _qmp_lam(binary, "max,-lam") is False
