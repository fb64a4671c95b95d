"""Ctrl-C (SIGINT) and SIGTERM at every stage of a run: while a test runs,
while the guest boots, while make builds the kernel, and with two guests at
once. Each leaves exit 130, run.json "interrupted", a JUnit file, the console
log, the results so far, and no QEMU, make or compiler behind it."""

from __future__ import annotations

import fcntl
import shutil
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import sshd as sshd_mod
from tests.conftest import KERNELS, ROOT, need
from tests.faults.conftest import NONE, Harness, left_behind
from tests.integration.helpers import write_config

pytestmark = pytest.mark.vm

SIGNALS = pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM],
                                  ids=["SIGINT", "SIGTERM"])

TESTS = """
    tests:
      - {name: first, run: "true"}
      - {name: long, run: "sleep 120", timeout: 200}
      - {name: last, run: "true"}
"""


@SIGNALS
def test_signal_mid_test(debian_kernel: Path, tmp_path: Path, sig: int) -> None:
    h = Harness(tmp_path, "run", str(write_config(tmp_path, """
    machine: {boot_timeout: 120}
    """ + TESTS)))
    h.wait_console("lam-harness: start long.1")
    h.signal(sig)
    end = h.end(timeout=60)
    end.check(130, "interrupted", NONE)
    t = end.tests()
    assert t["first"]["verdict"] == "pass"
    assert t["long"]["verdict"] == "notrun" and t["last"]["verdict"] == "notrun"
    assert end.run["jobs"][0]["status"] == "interrupted"
    assert "lam-harness: ready" in (end.run_dir / "it" / "console.log").read_text()


@SIGNALS
def test_signal_during_boot(debian_kernel: Path, tmp_path: Path, sig: int) -> None:
    # rdinit=/bin/cat: the kernel boots and init never brings up SSH, so the
    # signal surely lands while the harness waits for the guest
    h = Harness(tmp_path, "run", str(write_config(tmp_path, """
    machine: {cmdline: "rdinit=/bin/cat", boot_timeout: 300}
    """ + TESTS)))
    h.wait_console("Run /bin/cat as init process")
    h.signal(sig)
    end = h.end(timeout=60)
    end.check(130, "interrupted", NONE)
    assert {t["verdict"] for t in end.tests().values()} == {"notrun"}
    assert "Linux version 6.12" in (end.run_dir / "it" / "console.log").read_text()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd_mod.Sshd]:
    need(sshd_mod.available(), "sshd not installed (Debian package openssh-server)")
    s = sshd_mod.Sshd(tmp_path_factory.mktemp("remote")).start()
    yield s
    s.stop()


@SIGNALS
def test_signal_with_two_guests_at_once(debian_kernel: Path, tmp_path: Path, sig: int,
                                        sshd: sshd_mod.Sshd) -> None:
    """A runner with concurrency: 2 spreads the tests over two guests; the
    signal stops both, and the remote runner keeps no QEMU."""
    cfg = write_config(tmp_path, f"""
        host: {sshd.host_spec(concurrency=2)}
        machine: {{boot_timeout: 120}}
        tests:
          - {{name: a, run: "sleep 120", timeout: 200}}
          - {{name: b, run: "sleep 120", timeout: 200}}
          - {{name: c, run: "true"}}
    """)
    h = Harness(tmp_path, "run", str(cfg))
    h.wait_for("both guests running a test",
               lambda: h.console().count("lam-harness: start ") >= 2)
    h.signal(sig)
    end = h.end(timeout=60)
    end.check(130, "interrupted", NONE, console=False, leftovers=str(sshd.workdir))
    verdicts = {n: t["verdict"] for n, t in end.tests().items()}
    assert verdicts["a"] == verdicts["b"] == "notrun", verdicts
    assert len(end.run["jobs"][0]["parts"]) == 2, end.run["jobs"][0]
    assert len(list(end.run_dir.glob("it/**/console.log"))) == 2
    assert not left_behind(str(tmp_path))


def _make_running_under(builds: Path) -> list[tuple[int, str]]:
    from tests.faults.conftest import processes_mentioning

    return processes_mentioning(str(builds))


def test_signals_during_make(tmp_path: Path) -> None:
    """SIGINT, then SIGTERM, while make compiles: no make or compiler
    survives, no half-built kernel enters the cache, and the source lock is
    free again (the second build starts at once, not 'waiting')."""
    for t in ("make", "gcc", "apt-get", "qemu-system-x86_64", "flex", "bison"):
        need(shutil.which(t) is not None, f"{t} not installed")
    copy = tmp_path / "demo-bug"
    shutil.copytree(ROOT / "patches" / "demo-bug", copy)
    series = [ln.strip() for ln in (copy / "series").read_text().splitlines() if ln.strip()]
    first = copy / series[0]
    # a source byte no earlier build has seen: make must recompile and relink
    text = first.read_text()
    assert "+ * LAM hardware.  NOT FOR PRODUCTION KERNELS." in text
    line = "+ * LAM hardware.  NOT FOR PRODUCTION KERNELS."
    first.write_text(text.replace(line, f"{line} {uuid.uuid4().hex}", 1))
    cfg = tmp_path / "demo.yaml"
    cfg.write_text((ROOT / "configs" / "demo-bug.yaml").read_text()
                   .replace("patches: [patches/demo-bug]", f"patches: [{copy}]")
                   .replace("configs/kconfig/lam-guest.config",
                            str(ROOT / "configs" / "kconfig" / "lam-guest.config")))
    builds = KERNELS / "build"
    cache = KERNELS / "cache"
    before = set(cache.glob("*")) if cache.exists() else set()
    for n, sig in enumerate((signal.SIGINT, signal.SIGTERM)):
        h = Harness(tmp_path / f"try{n}", "run", str(cfg))
        h.wait_stderr("configuring (base + fragments, olddefconfig, verify): done", timeout=900)
        # configure's own make is over: the make that now runs builds the kernel
        h.wait_for("make building the kernel", lambda: bool(_make_running_under(builds)),
                   timeout=60)
        assert "waiting for another build" not in h.stderr()
        h.signal(sig)
        end = h.end(timeout=60)
        end.check(130, "interrupted", NONE, console=False, leftovers=str(builds))
        assert {t["verdict"] for t in end.tests().values()} == {"notrun"}
        # nothing half-built was published to the cache
        assert {p for p in cache.glob("*") if not p.name.endswith(".tmp")} - before \
            <= {cache / "index"}, set(cache.glob("*")) - before
        for lock in KERNELS.glob("src/.*.lock"):
            with open(lock) as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if still held
                fcntl.flock(f, fcntl.LOCK_UN)
