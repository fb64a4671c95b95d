from __future__ import annotations

import io
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.errors import InfraError
from harness.guest import cpio, modules


def test_cpio_is_read_by_gnu_cpio() -> None:
    if shutil.which("cpio") is None:
        pytest.fail("cpio not installed (make setup installs it)")
    buf = io.BytesIO()
    cpio.write(buf, [cpio.Entry.dir("etc"), cpio.Entry.file("etc/x", b"hello", 0o600),
                     cpio.Entry.symlink("bin/sh", "busybox"), cpio.Entry.file("odd", b"abc")])
    out = subprocess.run(["cpio", "-itv"], input=buf.getvalue(), capture_output=True,
                         check=True).stdout.decode()
    lines = out.splitlines()
    assert lines[0].startswith("drwxr-xr-x") and lines[0].endswith(" etc")
    assert lines[1].startswith("-rw-------") and "root     root" in lines[1]
    assert lines[2].startswith("lrwxrwxrwx") and lines[2].endswith("bin/sh -> busybox")
    assert len(buf.getvalue()) % 4 == 0


def test_cpio_contents_round_trip(tmp_path: Path) -> None:
    buf = io.BytesIO()
    cpio.write(buf, [cpio.Entry.dir("d"), cpio.Entry.file("d/f", b"x" * 1001, 0o755)])
    subprocess.run(["cpio", "-id", "--quiet"], input=buf.getvalue(), cwd=tmp_path, check=True)
    assert (tmp_path / "d" / "f").read_bytes() == b"x" * 1001
    assert (tmp_path / "d" / "f").stat().st_mode & 0o777 == 0o755


def _ko(depends: str) -> bytes:
    return b"\x7fELF junk\x00license=GPL\x00depends=" + depends.encode() + b"\x00name=x\x00"


def test_module_closure_orders_dependencies_and_skips_builtins(tmp_path: Path) -> None:
    d = tmp_path / "6.12.0"
    (d / "kernel" / "net").mkdir(parents=True)
    (d / "kernel" / "net" / "virtio_net.ko.xz").write_bytes(
        lzma.compress(_ko("net_failover,virtio")))
    (d / "kernel" / "net" / "net_failover.ko.xz").write_bytes(lzma.compress(_ko("failover")))
    (d / "kernel" / "net" / "failover.ko").write_bytes(_ko(""))
    (d / "modules.builtin").write_text("kernel/drivers/virtio/virtio.ko\n")
    got = modules.closure(d, ["virtio-net"])
    assert [m.name for m in got] == ["failover", "net_failover", "virtio_net"]
    assert got[2].data.startswith(b"\x7fELF")
    assert modules.closure(d, ["virtio"]) == []
    with pytest.raises(InfraError, match="'nope' is neither built in"):
        modules.closure(d, ["nope"])


def test_lamh_caps_output_parses_the_whole_chain() -> None:
    from harness.guest import caps

    g = caps.parse("cpuid_lam=1\nmax_tag_bits=6\nprctl_errno=0\n"
                   "untag_mask=0x81ffffffffffffff\ntagged_access=1\n")
    assert g is not None and g.available
    assert g.untag_mask == "0x81ffffffffffffff" and g.tagged_access is True
    assert "untag_mask 0x81ffffffffffffff" in " ".join(g.reasons())
    broken = caps.parse("cpuid_lam=1\nmax_tag_bits=6\nprctl_errno=0\n"
                        "untag_mask=0x81ffffffffffffff\ntagged_access=0\ntagged_signal=11\n")
    assert broken is not None and broken.available and broken.tagged_access is False
    assert "FAILED" in " ".join(broken.reasons())
    none = caps.parse("cpuid_lam=0\nmax_tag_bits=0\nprctl_errno=22\n")
    assert none is not None and not none.available and none.untag_mask is None
    assert none.tagged_access is None and "errno 22" in " ".join(none.reasons())
    assert caps.parse("garbage") is None


def test_caps_parse_takes_ascii_digits_only() -> None:
    from harness.guest import caps

    # "²" is str.isdigit() but int() refuses it; "١" is a digit int() takes.
    out = "cpuid_lam=1\nmax_tag_bits=²\nprctl_errno=١\n"
    assert caps.parse(out) is None
    got = caps.parse("cpuid_lam=1\nmax_tag_bits=6\nprctl_errno=١\n")
    assert got is not None and got.max_tag_bits == 6 and got.prctl_errno == 0


def test_initramfs_holding_the_host_key_is_private_and_keys_are_forgotten(
        tmp_path: Path) -> None:
    from harness.guest import initramfs, keys

    k = keys.generate(tmp_path / "keys")
    out = tmp_path / "initramfs.cpio"
    out.write_bytes(b"old")
    out.chmod(0o644)
    initramfs.build_split(initramfs.ImageSpec(k, "n0nce"), out)
    assert out.stat().st_mode & 0o777 == 0o600
    assert k.host_key_dropbear.read_bytes() in out.read_bytes()
    keys.forget(tmp_path / "keys")
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        "client_ed25519.pub", "host_ed25519.pub"]
    assert (tmp_path / "keys" / "client_ed25519.pub").read_text() == k.client_pub + "\n"


def test_lamh_caps_built_by_two_guests_at_once(tmp_path: Path) -> None:
    """Two guests of one run build the helper into an empty cache at the same
    time (a pooled job): both get the one binary, no temp file is shared."""
    import threading

    from harness.guest import caps

    got: list[Path] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            got.append(caps.binary(tmp_path / "tools"))
        except BaseException as e:  # noqa: BLE001 - re-raised by the assert below
            errors.append(e)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(got) == 4 and len(set(got)) == 1, (errors, got)
    assert got[0].stat().st_mode & 0o111
    assert sorted(p.name for p in (tmp_path / "tools").iterdir()) == [got[0].name]
