"""Output floods from a real guest (Debian's cloud kernel in real QEMU), one
booted guest for the file: console output with and without newlines, and a
test flooding its stdout.  Caps are set small (limits:) so that the floods
pass them in seconds under TCG (the serial console moves ~300 KB/s there);
bench/faults.py covers 1 GiB through the same code with the default caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults._flood import Flood, capped, qemu_gone, run_flood
from tests.integration.helpers import write_config

pytestmark = pytest.mark.vm

CONSOLE_CAP = 64 << 10
OUTPUT_CAP = 1 << 20
CONSOLE_BYTES = 1_000_000  # per console flood: ~15x the cap
STDOUT_BYTES = (64 << 20) // 18 * 18  # ~64x the cap, in whole 18-byte lines
LINE = "console flood line: printk-sized noise, with a newline ......"


@pytest.fixture(scope="module")
def flood(debian_kernel: Path, tmp_path_factory: pytest.TempPathFactory) -> Flood:
    tmp = tmp_path_factory.mktemp("output-flood")
    cfg = write_config(tmp, f"""
        machine: {{boot_timeout: 120}}
        limits: {{console_log: 64K, test_output: 1M}}
        tests:
          - {{name: console-lines, run: "yes '{LINE}' | head -c {CONSOLE_BYTES} > /dev/console",
              timeout: 120}}
          - {{name: console-noline, timeout: 120,
              run: "head -c {CONSOLE_BYTES} /dev/zero | tr '\\\\0' x > /dev/console"}}
          - {{name: stdout-flood, timeout: 300,
              run: "yes 'stdout flood line' | head -c {STDOUT_BYTES}; echo the-end"}}
          - {{name: after, run: "echo still here"}}
    """)
    return run_flood(cfg, tmp / "results")


def test_the_run_passes_and_leaves_no_qemu(flood: Flood) -> None:
    assert flood.code == 0, flood.stderr
    assert flood.run["status"] == "passed" and flood.run["exit_code"] == 0
    assert {n: t["verdict"] for n, t in flood.tests().items()} == {
        "console-lines": "pass", "console-noline": "pass", "stdout-flood": "pass", "after": "pass"}
    assert qemu_gone(flood.run["jobs"][0]["qemu_pid"])


def test_console_log_is_capped_with_head_and_tail(flood: Flood) -> None:
    head, dropped, tail = capped(flood.run_dir / "it" / "console.log", CONSOLE_CAP, "console.log")
    assert b"Linux version 6.12" in head  # the boot log, as written
    assert dropped >= 2 * CONSOLE_BYTES - CONSOLE_CAP
    # The tail is the newest output: the last test's markers, after the floods.
    assert b"lam-harness: start after.1" in tail and b"lam-harness: end after.1 rc=0" in tail
    notes = flood.run["jobs"][0]["notes"]
    assert any(n.startswith("console.log capped at limits.console_log (64K): ") for n in notes)


def test_stdout_is_capped_with_head_and_tail(flood: Flood) -> None:
    t = flood.tests()["stdout-flood"]
    head, dropped, tail = capped(flood.run_dir / "it" / t["stdout"], OUTPUT_CAP, "stdout")
    assert head.startswith(b"stdout flood line\nstdout flood line\n")
    assert tail.endswith(b"stdout flood line\nthe-end\n")
    assert len(head) + dropped + len(tail) == STDOUT_BYTES + len(b"the-end\n")
    assert any(n.startswith("stdout capped at limits.test_output (1M): ") for n in t["notes"])


def test_junit_is_valid_with_bounded_output(flood: Flood) -> None:
    cases = {c.get("name"): c for c in flood.junit().iter("testcase")}
    assert set(cases) == {"console-lines", "console-noline", "stdout-flood", "after"}
    out = cases["stdout-flood"].findtext("system-out") or ""
    assert len(out) < 70_000
    assert out.startswith("stdout flood line") and out.endswith("the-end\n")
    assert "bytes not shown here]" in out


def test_harness_memory_stays_flat(flood: Flood) -> None:
    assert flood.rss_mb < 200, f"{flood.rss_mb:.1f} MB; RSS growth:\n{flood.rss_growth}"
