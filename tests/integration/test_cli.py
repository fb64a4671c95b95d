"""The CLI's error contract, through the real entry point (no VM needed)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.helpers import cli


def test_config_error_is_one_line_with_file_line_and_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("name: x\nkernel: {image: /nope}\nmachine:\n  acel: tcg\n")
    p = cli("run", str(cfg), "--results", str(tmp_path / "r"))
    assert p.returncode == 2
    assert p.stderr.strip() == (f"lam-harness: error: {cfg}:4: unknown key 'acel' in machine "
                                "(did you mean 'accel'?)")
    assert not (tmp_path / "r").exists()


def test_missing_config_exit_2(tmp_path: Path) -> None:
    p = cli("run", str(tmp_path / "none.yaml"))
    assert p.returncode == 2 and "no such config file" in p.stderr


def test_missing_kernel_image_names_the_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: x\nkernel:\n  image: no/such/bzImage\ntests: []\n")
    p = cli("run", str(cfg), "--results", str(tmp_path / "r"))
    assert p.returncode == 2
    assert f"{cfg}:3: kernel.image: 'no/such/bzImage' does not exist" in p.stderr


def test_usage_error_exit_2() -> None:
    assert cli("frobnicate").returncode == 2


def test_doctor_reports_accel_and_lam() -> None:
    import json

    p = cli("doctor", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["accel_auto"]["accel"] in ("kvm", "tcg") and d["accel_auto"]["reason"]
    assert d["qemu"]["found"] is True and isinstance(d["cpu_lam"], bool)
    assert d["lam"]["status"] in ("requested", "absent")
