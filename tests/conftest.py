"""Shared fixtures. Integration tests boot the real Debian cloud kernel in real
QEMU; where QEMU or the kernel cannot be had they skip, except under CI=true or
HARNESS_REQUIRE_VM=1, where that is a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KERNELS = Path(os.environ.get("HARNESS_KERNELS", ROOT / "kernels"))
DEBIAN_KERNEL = "linux-image-6.12.*-cloud-amd64-unsigned"


def vm_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("HARNESS_REQUIRE_VM") == "1"


def need(condition: bool, what: str) -> None:
    """Skip (locally) or fail (CI / HARNESS_REQUIRE_VM=1) when ``what`` is missing."""
    if condition:
        return
    msg = (f"{what} (set up with `make setup`; HARNESS_REQUIRE_VM=1 or CI=true turn this "
           "skip into a failure)")
    if vm_required():
        pytest.fail(msg)
    pytest.skip(msg)  # only without HARNESS_REQUIRE_VM=1 / CI=true (see vm_required)


@pytest.fixture(scope="session")
def debian_kernel() -> Path:
    """The unpacked Debian 6.12 cloud kernel package (downloaded once)."""
    need(shutil.which("qemu-system-x86_64") is not None, "qemu-system-x86_64 not installed")
    need(shutil.which("apt-get") is not None, "apt-get not available")
    from harness.errors import HarnessError
    from harness.kernel import prebuilt

    try:
        pkg = prebuilt.resolve_debian_package(DEBIAN_KERNEL)
        art = prebuilt.fetch_debian(pkg, KERNELS)
    except HarnessError as e:
        need(False, f"Debian kernel unavailable: {e}")
        raise
    return art.bzimage


_SUMMARY_KEY = pytest.StashKey[list[str]]()


@pytest.fixture
def terminal_summary(request: pytest.FixtureRequest) -> object:
    """``terminal_summary(text)``: print ``text`` in pytest's terminal summary,
    whatever the capture mode (figures that a test measures, e.g. the oops
    corpus figures)."""
    def add(text: str) -> None:
        request.config.stash.setdefault(_SUMMARY_KEY, []).append(text)
    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    texts = config.stash.get(_SUMMARY_KEY, [])
    if texts:
        terminalreporter.section("measured figures")
        for text in texts:
            terminalreporter.write_line(text)
