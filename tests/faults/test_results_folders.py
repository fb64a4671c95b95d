"""Faults of the results folder, with real runs of Debian's 6.12 cloud kernel
in real QEMU: a full filesystem (a tmpfs of 2 MB, and one that fills during a
test), a read-only one, a corrupt run.json and a crafted one (``../``, absolute
paths, symlinks out) given to ``report`` and ``merge``.  Each is one clear
line, the right exit code, no traceback, no QEMU left running."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.integration.helpers import RunOutcome, cli, run, write_config

pytestmark = pytest.mark.vm

SECRET = "secret-from-outside-the-results-folder"


def _mount_tmpfs(where: Path, size: str, *options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]),
                        "tmpfs", str(where)], capture_output=True, text=True)
    need(p.returncode == 0, f"cannot mount a tmpfs (root needed): {p.stderr.strip()}")


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[list[Path]]:
    made: list[Path] = []
    yield made
    for m in reversed(made):
        subprocess.run(["umount", "-l", str(m)], capture_output=True)


def _qemus_under(path: Path) -> list[str]:
    """QEMU processes whose command line names a file under ``path``."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"qemu-system" in argv[0] and str(path).encode() in b" ".join(argv):
            out.append(pid)
    return out


def _error_lines(stderr: str) -> list[str]:
    return [x for x in stderr.splitlines() if x.startswith("lam-harness: error")
            or "internal error" in x or "Traceback" in x]


def _config(tmp: Path, test: str = "echo hi") -> Path:
    return write_config(tmp, f"""
        machine: {{accel: auto, smp: 1, memory: 512M, boot_timeout: 120}}
        tests:
          - {{name: t, run: "{test}", timeout: 120}}
    """)


def test_full_results_filesystem_before_boot(debian_kernel: Path, tmp_path: Path,
                                             mounts: list[Path]) -> None:
    full = tmp_path / "full"
    _mount_tmpfs(full, "2m")
    mounts.append(full)
    out = run(_config(tmp_path), full, timeout=600)
    assert out.code == 3, out.stderr
    errs = _error_lines(out.stderr)
    assert len(errs) == 1 and "No space left on device" in errs[0], out.stderr
    assert errs[0].startswith(f"lam-harness: error: results folder {full}"), errs
    assert _qemus_under(tmp_path) == []
    keys = next(full.glob("*/it/keys"))
    assert not (keys / "client_ed25519").exists()
    assert not (keys / "host_ed25519.dropbear").exists()


def test_results_filesystem_filling_during_a_test(debian_kernel: Path, tmp_path: Path,
                                                  mounts: list[Path]) -> None:
    full = tmp_path / "full"
    _mount_tmpfs(full, "48m")
    mounts.append(full)
    out = run(_config(tmp_path, "head -c 200000000 /dev/zero"), full, timeout=900)
    assert out.code == 3, out.stderr
    errs = _error_lines(out.stderr)
    assert len(errs) == 1 and "No space left on device" in errs[0], out.stderr
    assert "booting" in out.stderr  # the guest was up: the test's output filled the disk
    assert _qemus_under(tmp_path) == []
    job = json.loads(next(full.glob("*/run.json")).read_text())["jobs"][0]
    assert "No space left on device" in job["error"]


def test_read_only_results_folder(tmp_path: Path, mounts: list[Path]) -> None:
    ro = tmp_path / "ro"
    _mount_tmpfs(ro, "1m", "ro")
    mounts.append(ro)
    p = cli("run", str(_config(tmp_path)), "--results", str(ro / "r"))
    assert p.returncode == 3, p.stderr
    errs = _error_lines(p.stderr)
    assert len(errs) == 1 and "Read-only file system" in errs[0], p.stderr
    assert errs[0].startswith(f"lam-harness: error: results folder {ro}"), errs
    assert _qemus_under(tmp_path) == []


@pytest.fixture(scope="module")
def real_run(debian_kernel: Path, tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    """One real run (a pass and a crash), shared by the report/merge faults."""
    tmp = tmp_path_factory.mktemp("real")
    cfg = write_config(tmp, """
        machine: {accel: auto, smp: 1, memory: 512M, boot_timeout: 120}
        tests:
          - {name: passes, run: "echo hello", timeout: 60}
          - {name: panics, run: "echo c > /proc/sysrq-trigger", timeout: 60}
    """)
    out = run(cfg, tmp / "results", timeout=900)
    assert out.code == 1, out.stderr
    return out


def _copy(real_run: RunOutcome, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(real_run.run_dir, dst, symlinks=True)
    return dst


def _refused(tmp_path: Path, root: Path, says: str) -> None:
    for argv in (("report", str(root)), ("merge", str(root), "--out", str(tmp_path / "m"))):
        p = cli(*argv)
        assert p.returncode == 2, (argv, p.stderr)
        lines = [x for x in p.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"lam-harness: error: {root}"), lines
        assert says in lines[0] and "Traceback" not in p.stderr
        for f in (root / "summary.html", root / "junit.xml", *(tmp_path / "m").rglob("*")):
            assert not f.is_file() or SECRET not in f.read_text(errors="replace")
    assert _qemus_under(tmp_path) == []


def test_the_real_run_keeps_only_public_keys_and_a_private_initramfs(
        real_run: RunOutcome) -> None:
    job = real_run.run_dir / "it"
    assert sorted(p.name for p in (job / "keys").iterdir()) == [
        "client_ed25519.pub", "host_ed25519.pub"]
    assert (job / "initramfs.cpio").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("how", ["truncated", "not-json", "wrong-types", "empty",
                                 "newer-schema"])
def test_corrupt_run_json_to_report_and_merge(real_run: RunOutcome, tmp_path: Path,
                                              how: str) -> None:
    root = _copy(real_run, tmp_path)
    f = root / "run.json"
    text = f.read_text()
    if how == "truncated":
        f.write_text(text[:len(text) // 2])
    elif how == "not-json":
        f.write_text("<html>not json</html>\n")
    elif how == "empty":
        f.write_text("")
    elif how == "newer-schema":
        data = json.loads(text)
        assert data["schema"] == 1
        data["schema"] = 2
        f.write_text(json.dumps(data))
    else:
        data = json.loads(text)
        data["jobs"][0]["tests"][0]["duration"] = "fast"
        f.write_text(json.dumps(data))
    _refused(tmp_path, root, "run.json")


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink", "job-name"])
def test_crafted_run_json_cannot_read_outside(real_run: RunOutcome, tmp_path: Path,
                                              how: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n")
    root = _copy(real_run, tmp_path)
    f = root / "run.json"
    data = json.loads(f.read_text())
    t = data["jobs"][0]["tests"][0]
    if how == "dotdot":
        t["stdout"] = "../../../secret.txt"
        says = "leads out"
    elif how == "absolute":
        t["stdout"] = str(secret)
        says = "absolute"
    elif how == "symlink":
        out = root / "it" / t["stdout"]
        out.unlink()
        out.symlink_to(secret)
        says = "symlink out"
    else:
        data["jobs"][0]["name"] = "../.."
        says = "plain folder name"
    f.write_text(json.dumps(data))
    _refused(tmp_path, root, says)


def test_the_real_run_reports_and_merges_untouched(real_run: RunOutcome,
                                                   tmp_path: Path) -> None:
    """The checks refuse no folder the harness itself wrote."""
    root = _copy(real_run, tmp_path)
    p = cli("report", str(root), "--fail-on", "never")
    assert p.returncode == 0, p.stderr
    p = cli("merge", str(root), "--out", str(tmp_path / "m"))
    assert p.returncode == 0, p.stderr
