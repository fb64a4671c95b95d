"""2000 WARNINGs on a real guest's console (printk records through
/dev/kmsg, as the kernel prints them): the first limits.max_reports (100) are
kept in full, the rest counted; the test is a crash; the harness's memory
stays flat (before the cap, 2000 reports took gigabytes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults._flood import Flood, qemu_gone, run_flood
from tests.integration.helpers import write_config

pytestmark = pytest.mark.vm

WARNINGS = 2000

# One WARNING as the kernel prints it, a line per printk record.
_WARN = [
    "------------[ cut here ]------------",
    "WARNING: CPU: 0 PID: $$ at lib/flood.c:$i flood_warn+0x1/0x2",
    "Modules linked in:",
    "CPU: 0 UID: 0 PID: $$ Comm: sh Not tainted 6.12.0 #1",
    "RIP: 0010:flood_warn+0x1/0x2",
    "Call Trace:",
    " <TASK>",
    " flood_warn+0x1/0x2",
    " vfs_write+0xf9/0x440",
    " </TASK>",
    "---[ end trace 0000000000000000 ]---",
]
SCRIPT = (
    "echo on > /proc/sys/kernel/printk_devkmsg; i=0; "  # no kmsg rate limit
    f"while [ $i -lt {WARNINGS} ]; do {{ "
    + " ".join(f'echo "<4>{line}";' for line in _WARN)
    + " } > /dev/kmsg; i=$((i+1)); done"
)


@pytest.fixture(scope="module")
def flood(debian_kernel: Path, tmp_path_factory: pytest.TempPathFactory) -> Flood:
    tmp = tmp_path_factory.mktemp("warn-flood")
    (tmp / "warn.sh").write_text(SCRIPT + "\n")
    cfg = write_config(tmp, f"""
        machine: {{boot_timeout: 120}}
        payloads: [{{src: {tmp / 'warn.sh'}, dst: /opt/warn.sh}}]
        tests:
          - {{name: warn-flood, run: "sh /opt/warn.sh", timeout: 300}}
          - {{name: after, run: "echo still here"}}
    """)
    return run_flood(cfg, tmp / "results")


def test_the_flood_is_one_crash_and_the_guest_goes_on(flood: Flood) -> None:
    assert flood.code == 1, flood.stderr  # a crash is a test failure
    assert flood.run["status"] == "failed" and flood.run["exit_code"] == 1
    t = flood.tests()
    assert t["warn-flood"]["verdict"] == "crash"
    assert t["warn-flood"]["reason"] == "WARNING in flood_warn"
    assert t["after"]["verdict"] == "pass"  # a WARNING leaves the guest usable
    assert qemu_gone(flood.run["jobs"][0]["qemu_pid"])


def test_first_reports_kept_the_rest_counted(flood: Flood) -> None:
    t = flood.tests()["warn-flood"]
    assert len(t["oopses"]) == 100
    tdir = flood.run_dir / "it" / "warn-flood"
    assert sorted(p.name for p in tdir.glob("oops-*.txt")) == sorted(
        f"oops-{i}.txt" for i in range(1, 101))
    assert "at lib/flood.c:0 flood_warn" in (tdir / "oops-1.txt").read_text()
    assert "at lib/flood.c:99 flood_warn" in (tdir / "oops-100.txt").read_text()
    assert f"{WARNINGS - 100} more reports not kept (limits.max_reports 100 reached)" \
        in t["notes"]


def test_console_log_keeps_every_warning(flood: Flood) -> None:
    log = (flood.run_dir / "it" / "console.log").read_bytes()
    assert log.count(b"WARNING: CPU: 0 PID: ") == WARNINGS  # under the 64 MiB cap
    assert f"at lib/flood.c:{WARNINGS - 1} flood_warn".encode() in log


def test_junit_is_valid(flood: Flood) -> None:
    cases = {c.get("name"): c for c in flood.junit().iter("testcase")}
    fail = cases["warn-flood"].find("failure")
    assert fail is not None and fail.get("message") == "crash: WARNING in flood_warn"


def test_harness_memory_stays_flat(flood: Flood) -> None:
    print(f"harness peak RSS {flood.rss_mb:.1f} MB")
    assert flood.rss_mb < 200, f"{flood.rss_mb:.1f} MB; RSS growth:\n{flood.rss_growth}"
