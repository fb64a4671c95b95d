"""harness.bounded: capped files (head + marker + tail, streamed) and bounded reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.bounded import MIN_CAP, CappedWriter, marker, read_bounded

_DROPPED = re.compile(rb"\[lam-harness: (\d+) bytes dropped here: (\S+) is capped at ([^,]+),")


def _lines(n: int) -> list[bytes]:
    return [f"line {i:07d} of the output\n".encode() for i in range(n)]


def test_small_output_is_kept_verbatim(tmp_path: Path) -> None:
    data = b"".join(_lines(100))
    with CappedWriter(tmp_path / "out", 64 << 10) as w:
        for i in range(0, len(data), 7):
            w.write(data[i:i + 7])
    assert (tmp_path / "out").read_bytes() == data
    assert not w.truncated and w.written == len(data)


@pytest.mark.parametrize("chunk", [1, 333, 4096, 1 << 20])
def test_big_output_keeps_head_marker_and_tail_within_the_cap(tmp_path: Path,
                                                              chunk: int) -> None:
    cap = 64 << 10
    lines = _lines(20_000 if chunk > 1 else 4_000)
    data = b"".join(lines)
    w = CappedWriter(tmp_path / "stdout", cap)
    for i in range(0, len(data), chunk):
        w.write(data[i:i + chunk])
        assert w.pos <= cap and (tmp_path / "stdout").stat().st_size <= cap  # on disk as it goes
    w.close()
    out = (tmp_path / "stdout").read_bytes()
    assert len(out) <= cap
    m = _DROPPED.search(out)
    assert m is not None and m.group(2) == b"stdout" and m.group(3) == b"64 KiB"
    head, _, tail = out.partition(m.group(0))
    assert data.startswith(head[:-1])  # the head as written (the marker adds a newline)
    assert len(head) >= cap // 2
    tail = tail.split(b"\n", 1)[1]  # past the padded marker line
    assert data.endswith(tail) and cap // 4 - 200 <= len(tail) <= cap // 2
    assert tail.startswith(b"line ")  # starts on a line boundary
    assert int(m.group(1)) == w.dropped == len(data) - (len(head) - 1) - len(tail)
    assert w.written == len(data)


def test_marker_has_a_fixed_length() -> None:
    assert len(marker(0, 1 << 26, "console.log")) == len(marker(10**18, 1 << 26, "console.log"))


def test_append_continues_the_file_and_counts_it(tmp_path: Path) -> None:
    p = tmp_path / "console.log"
    p.write_bytes(b"first boot\n")
    with CappedWriter(p, MIN_CAP, append=True) as w:
        w.write(b"x" * 10 * MIN_CAP)
    out = p.read_bytes()
    assert out.startswith(b"first boot\nxxx") and len(out) <= MIN_CAP and w.truncated


def test_cap_too_small_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        CappedWriter(tmp_path / "f", 100)


def test_read_bounded_keeps_head_and_tail(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"H" * 1000 + b"M" * 100_000 + b"T" * 1000)
    got = read_bounded(p, 2000)
    assert got.startswith(b"H" * 1000 + b"\n[lam-harness: 100000 of 102000 bytes not shown")
    assert got.endswith(b"]\n" + b"T" * 1000)
    assert read_bounded(p, 1000, head=False).endswith(b"\n" + b"T" * 1000)
    assert read_bounded(p, 1000, tail=False).startswith(b"H" * 1000 + b"\n[lam-harness")
    p.write_bytes(b"small")
    assert read_bounded(p, 2000) == b"small"
