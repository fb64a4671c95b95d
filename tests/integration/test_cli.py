"""The CLI's error contract, through the real entry point (no VM needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import need
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

    demo, sysrq = DATA / "demo-bug-6.12-tcg.log", DATA / "sysrq-crash-debian-cloud-6.12-tcg.log"
    p = cli("oops", "--json", str(demo), str(sysrq))
    assert p.returncode == 1, p.stderr  # reports found
    first, second = (json.loads(line) for line in p.stdout.splitlines())
    assert first["file"] == str(demo)
    assert [(r["title"], r["kind"], r["guilty_frame"]) for r in first["reports"]] == [
        ("kernel BUG in demo_bug_fire", "kernel BUG", "demo_bug_fire"),
        ("kernel panic: Fatal exception", "panic", None)]
    assert first["reports"][0]["header"] == "kernel BUG at arch/x86/kernel/demo_bug.c:49!"
    assert first["reports"][0]["text"].count("\n") >= 15
    assert set(first["reports"][0]) == {"title", "kind", "guilty_frame", "first_line",
                                        "last_line", "corrupted", "header", "text"}
    (r,) = second["reports"]
    assert r["title"] == "kernel panic: sysrq triggered crash"
    assert r["guilty_frame"] == "sysrq_handle_crash" and not r["corrupted"]
    text = cli("oops", str(demo))
    assert text.returncode == 1 and text.stdout.splitlines() == [
        f"{demo}:222-243: kernel BUG: kernel BUG in demo_bug_fire [guilty: demo_bug_fire]",
        f"{demo}:255-256: panic: kernel panic: Fatal exception"]


def test_oops_cli_vmlinux(tmp_path: Path) -> None:
    """--vmlinux: symbolized report text; a missing vmlinux is a usage error; a
    broken one leaves the text as it is, with a note on stderr."""

    demo = DATA / "demo-bug-6.12-tcg.log"
    p = cli("oops", "--vmlinux", str(tmp_path / "nope"), str(demo))
    assert p.returncode == 2 and "no such file" in p.stderr
    junk = tmp_path / "vmlinux"
    junk.write_bytes(b"not an ELF file")
    p = cli("oops", "--json", "--vmlinux", str(junk), str(demo))
    assert p.returncode == 1, p.stderr
    bug = json.loads(p.stdout)["reports"][0]
    assert bug["symbolized"] is False and "RIP: 0010:demo_bug_fire+0x5b/0x62\n" in bug["text"]
    assert "lam-harness: note:" in p.stderr and "not symbolized" in p.stderr
    from tests.unit.test_symbolize import _demo_vmlinuxes

    found = _demo_vmlinuxes()
    need(bool(found), "no demo-bug kernel in kernels/cache (tests/e2e builds one)")
    p = cli("oops", "--json", "--vmlinux", str(found[-1]), str(demo))
    bug = json.loads(p.stdout)["reports"][0]
    # symbolized (paths relative to the tree), or refused frame by frame when
    # this build's function sizes differ from the golden log's
    assert bug["symbolized"] is True, p.stderr
    assert re.search(r"demo_bug_fire\+0x5b/0x62 \(arch/x86/kernel/demo_bug\.c:\d+\)",
                     bug["text"]), bug["text"]
    assert "/kernels/" not in bug["text"]


def test_oops_cli_clean_log_exit_0(tmp_path: Path) -> None:
    log = tmp_path / "clean.log"
    log.write_text("[    0.000000] Linux version 6.12\nlam-harness: ready x\n")
    p = cli("oops", str(log))
    assert p.returncode == 0 and p.stdout == ""
    assert cli("oops", str(tmp_path / "missing.log")).returncode == 2


def _cached_vmlinuxes() -> list[Path]:
    from tests.conftest import KERNELS, ROOT

    return sorted({*KERNELS.glob("cache/*/vmlinux"), *(ROOT / "kernels").glob("cache/*/vmlinux")})


def test_oops_cli_prints_the_guilty_frame_with_file_and_line(tmp_path: Path) -> None:
    """Per report: kind, title, guilty frame; with --vmlinux (a real one from
    the kernel cache, and a report made of its own symbols) the guilty frame's
    file:line."""
    import shutil
    import subprocess

    need(shutil.which("nm") is not None and shutil.which("addr2line") is not None,
         "binutils (nm, addr2line) not installed")
    found = _cached_vmlinuxes()
    need(bool(found), "no built kernel in kernels/cache (lam-harness build configs/...)")
    vmlinux = found[0]
    nm = subprocess.run(["nm", "-S", "--defined-only", str(vmlinux)], capture_output=True,
                        text=True, check=True).stdout
    sizes = {f[3]: int(f[1], 16) for f in (x.split() for x in nm.splitlines())
             if len(f) == 4 and f[2] in "tT"}
    func = next(f for f in ("vfs_write", "ksys_write", "vfs_read", "do_sys_openat2") if f in sizes)
    frame = f"{func}+0x10/0x{sizes[func]:x}"
    log = tmp_path / "console.log"
    log.write_text("------------[ cut here ]------------\n"
                   f"WARNING: CPU: 0 PID: 1 at fs/x.c:1 {frame}\n"
                   f"RIP: 0010:{frame}\nCall Trace:\n <TASK>\n {frame}\n </TASK>\n"
                   "---[ end trace 0000000000000000 ]---\n")
    p = cli("oops", str(log))
    assert p.returncode == 1 and p.stdout.splitlines() == [
        f"{log}:2-8: WARNING: WARNING in {func} [guilty: {func}]"]
    p = cli("oops", "--vmlinux", str(vmlinux), str(log))
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == f"{log}:2-8: WARNING: WARNING in {func} [guilty: {func}]"
    assert re.fullmatch(rf"  guilty frame: {func} \((?:fs|kernel|mm)/[\w/.-]+\.[ch]:\d+\)",
                        lines[1]), lines[1]
    p = cli("oops", "--json", "--vmlinux", str(vmlinux), str(log))
    (r,) = json.loads(p.stdout)["reports"]
    assert (r["kind"], r["title"], r["guilty_frame"]) == ("WARNING", f"WARNING in {func}", func)
    assert r["guilty_location"] and r["guilty_location"] in lines[1]
