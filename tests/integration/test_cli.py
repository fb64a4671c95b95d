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


DATA = Path(__file__).resolve().parents[1] / "data" / "console"


def test_oops_cli_on_real_console_logs() -> None:
    """Golden logs captured from our own guests: the demo BUG_ON (6.12 built
    from source, oops=panic) and a sysrq crash (Debian's cloud kernel)."""
    import json

    demo, sysrq = DATA / "demo-bug-6.12-tcg.log", DATA / "sysrq-crash-debian-cloud-6.12-tcg.log"
    p = cli("oops", "--json", str(demo), str(sysrq))
    assert p.returncode == 1, p.stderr  # reports found
    first, second = (json.loads(line) for line in p.stdout.splitlines())
    assert first["file"] == str(demo)
    assert [(r["title"], r["kind"], r["guilty_frame"]) for r in first["reports"]] == [
        ("kernel BUG at arch/x86/kernel/demo_bug.c:49!", "kernel BUG", "demo_bug_fire"),
        ("Kernel panic - not syncing: Fatal exception", "panic", None)]
    assert first["reports"][0]["text"].count("\n") >= 15
    (r,) = second["reports"]
    assert r["title"] == "Kernel panic - not syncing: sysrq triggered crash"
    assert r["guilty_frame"] == "sysrq_handle_crash" and not r["corrupted"]


def test_oops_cli_clean_log_exit_0(tmp_path: Path) -> None:
    log = tmp_path / "clean.log"
    log.write_text("[    0.000000] Linux version 6.12\nlam-harness: ready x\n")
    p = cli("oops", str(log))
    assert p.returncode == 0 and p.stdout == ""
    assert cli("oops", str(tmp_path / "missing.log")).returncode == 2
