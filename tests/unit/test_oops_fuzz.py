"""Fuzzing harness.parse.oops: arbitrary bytes (invalid UTF-8, NULs, 1 MB
lines) never raise, and the fast path agrees with the line scanner.  That
the time stays linear in the input is measured by bench/oops.py."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.parse.oops import OopsScanner, Report, normalize_title, scan, scan_bytes

FUZZ = settings(max_examples=500, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Lines the parser cares about, to build inputs that reach deep into it.
VOCAB = [
    "------------[ cut here ]------------",
    "kernel BUG at arch/x86/mm/tlb.c:593!",
    "Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI",
    "Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: "
    "0000 [#1] SMP KASAN",
    "BUG: kernel NULL pointer dereference, address: 0000000000000000",
    "BUG: unable to handle page fault for address: ffffc90000a0f000",
    "BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x6be/0x7b0",
    "Write of size 1 at addr ffff888103e1b173 by task kunit_try_catch/184",
    "BUG: KCSAN: data-race in a / b",
    "UBSAN: shift-out-of-bounds in lib/foo.c:3:9",
    "WARNING: CPU: 1 PID: 88 at drivers/misc/lkdtm/bugs.c:111 lkdtm_WARNING+0x21/0x30",
    "WARNING: possible circular locking dependency detected",
    "ffff888103a4c0b8 (&dev->lock){+.+.}-{3:3}, at: foo_work+0x2c/0x90",
    "is trying to release lock (&dev->mutex) at:",
    "[<ffffffff81234567>] foo_close+0x3c/0x70",
    "INFO: task sh:85 blocked for more than 122 seconds.",
    "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
    "watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [sh:85]",
    "BUG: workqueue leaked atomic, lock or RCU: kworker/0:1[12]",
    "     preempt=0x00000001 lock=0->0 RCU=0->0 workfn=bad_work_fn",
    "Kernel panic - not syncing: Fatal exception",
    "Kernel Offset: disabled",
    "Rebooting in 10 seconds..",
    "---[ end trace 0000000000000000 ]---",
    "---[ end Kernel panic - not syncing: Fatal exception ]---",
    "==================================================================",
    "RIP: 0010:switch_mm_irqs_off+0x3a5/0x4b0",
    "RIP: 0033:0x41a0f5",
    "Call Trace:",
    " <TASK>",
    " </TASK>",
    " <IRQ>",
    " ? die+0x36/0x90",
    " __schedule+0x2f1/0xb80",
    " foo_ioctl+0x9a/0x120 [foo]",
    "CPU: 1 UID: 0 PID: 97 Comm: lam_64 Not tainted 6.12.0 #1",
    "page last allocated via order 0, migratetype Unmovable",
    "Linux version 6.12.0 (root@build) (gcc 12.2.0) #1 SMP",
    "reboot: Restarting system",
    "** 12 printk messages dropped **",
    "lam_64[97]: segfault at 7f3c0a6d3000 ip 0000000000401d2e sp 00007ffc5b7e8d40 error 6",
    "virtio_net virtio0 eth0: link up",
    "",
]
PREFIXES = ["", "[   12.345678] ", "[   12.345678][  T88] ", "[   12.345678][  T99] ",
            "[   12.345678][    C1] ", "[    T88] ", "<4>", "# [   12.345678] "]

lines_st = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(PREFIXES), st.sampled_from(VOCAB)).map("".join),
        st.text(max_size=80),
    ),
    max_size=120,
)


def _check(reports: list[Report]) -> None:
    for r in reports:
        assert r.start_line <= r.first_line <= r.last_line
        assert r.lines and len(r.lines) <= 400
        assert r.title and "\n" not in r.title
        assert normalize_title(r.title) == r.title
        assert r.kind
        r.to_dict()


@FUZZ
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise_and_both_paths_agree(data: bytes) -> None:
    reports = scan_bytes(data)
    assert reports == scan(data.decode("utf-8", "replace"))
    _check(reports)


@FUZZ
@given(lines_st, st.sampled_from(["\n", "\r\n"]))
def test_console_like_input(lines: list[str], eol: str) -> None:
    text = eol.join(lines)
    reports = scan(text)
    _check(reports)
    assert scan_bytes(text.encode("utf-8", "surrogatepass")) == scan(
        text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
    # streaming: the same reports, each returned once
    scanner = OopsScanner()
    streamed: list[Report] = []
    for line in text.split("\n")[: -1 if text.endswith("\n") else None]:
        streamed += scanner.feed(line)
    streamed += scanner.flush()
    assert sorted(streamed, key=lambda r: (r.first_line, r.start_line)) == reports


def test_megabyte_lines() -> None:
    mb = 1 << 20
    for line in (b"A" * mb, b"BUG: " + b"x" * mb, b"WARNING: " + b"at " * (mb // 3),
                 b"BUG: KASAN: " + b" in " * (mb // 4), b"UBSAN: " + b"a " * (mb // 2),
                 b"\xff\xfe" * (mb // 2), b"[" * mb, b"=" * mb,
                 b"Kernel panic - not syncing: " + b"\x00" * mb):
        data = b"kernel BUG at x.c:1!\n" + line + b"\n" + line + b"\nBUG: " + line + b"\n"
        reports = scan_bytes(data)
        assert reports == scan(data.decode("utf-8", "replace"))
        _check(reports)
        assert all(len(x) <= 4096 for r in reports for x in r.lines)


ADVERSARIAL = [
    # headers on every line: one report per line
    "BUG: KASAN: " + " in " * 200 + "\n",
    "WARNING: " + "at " * 300 + "\n",
    # a report that never ends until max lines, with long frame-like lines
    "BUG: soft lockup\n" + "Call Trace:\n" + (" f+0x1/0x2" * 50 + "\n") * 10,
    # cut-here storms and rulers
    "------------[ cut here ]------------\n" + "=" * 300 + "\n",
    # long lines full of literals
    "[#" * 500 + "BUG" * 300 + "\n",
    "[   1.000000][  T1] ------------[ cut here ]------------\n[   1.0][  T2] x\n",
]


def test_adversarial_inputs() -> None:
    """Inputs built to be slow (their timing is in bench/oops.py: no timed
    assertion here) still parse, the same way on both paths."""
    for block in ADVERSARIAL:
        data = (block * 200).encode()
        reports = scan_bytes(data)
        assert reports == scan(data.decode())
        _check(reports)
