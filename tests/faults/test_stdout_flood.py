"""1 GiB of test stdout through the real exec path (paramiko channel ->
capped stdout file -> verdict) from a real OpenSSH server: under TCG a guest
makes output too slowly for 1 GiB in a test (test_output_flood.py floods
64 MiB from a real guest).  Exactly 1 GiB used to end as a lost connection:
paramiko's own rekey at 512 MiB steps raced the channel close."""

from __future__ import annotations

from pathlib import Path

from harness.config import TestSpec
from harness.model import Verdict
from tests.faults._flood import capped, run_on, sshd_guest

GIB = 1 << 30


def test_a_gib_of_stdout_passes_capped_at_64_mib(tmp_path: Path) -> None:
    test = TestSpec("gib", f"yes 'stdout flood line' | head -c {GIB}; echo the-end",
                    timeout=600)
    with sshd_guest(tmp_path) as guest:
        r = run_on(guest, test, tmp_path / "job")
        assert guest.transport is not None and guest.transport.is_active()
    assert r.verdict is Verdict.PASS, r.reason
    assert r.exit_status == 0
    head, dropped, tail = capped(tmp_path / "job" / "gib" / "stdout", 64 << 20, "stdout")
    assert head.startswith(b"stdout flood line\n")
    assert tail.endswith(b"stdout flothe-end\n")  # head -c cut the last line
    assert len(head) + dropped + len(tail) == GIB + len(b"the-end\n")
    assert (tmp_path / "job" / "gib" / "stderr").read_bytes() == b""
    assert r.notes == [f"stdout capped at limits.test_output (64M): {dropped} of "
                       f"{GIB + 8} bytes dropped between its head and tail"]


def test_tap_results_around_a_flood_are_read_from_head_and_tail(tmp_path: Path) -> None:
    """format: tap (under a pty) with 80 MiB of noise between two results: the
    stdout file is capped, TAP is parsed from a bounded view, and both results
    are still there (the noise between them is what is dropped)."""
    test = TestSpec("tap", "echo 'TAP version 13'; echo 1..2; echo 'ok 1 first'; "
                    f"yes '# noise' | head -c {80 << 20}; echo 'ok 2 last'",
                    format="tap", timeout=600)
    with sshd_guest(tmp_path) as guest:
        r = run_on(guest, test, tmp_path / "job")
    assert r.verdict is Verdict.PASS, (r.reason, r.notes)
    assert [(s.name, s.verdict) for s in r.subtests] == [("first", Verdict.PASS),
                                                         ("last", Verdict.PASS)]
    capped(tmp_path / "job" / "tap" / "stdout", 64 << 20, "stdout")
    assert any(n.startswith("TAP parsed from the first and last 1 MiB of stdout only")
               for n in r.notes), r.notes
