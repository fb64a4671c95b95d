"""Files that cannot grow without limit, and reads that cannot take the whole
of a file into memory.

:class:`CappedWriter` streams bytes to a file as they arrive, up to ``cap``
bytes on disk: the first half of the cap (the head) stays as written; past
it, the file keeps the most recent output (the tail) after a truncation
marker line that says how many bytes were dropped there.  When the file
reaches the cap, the newest part of the tail region is copied down to just
after the marker and the file is truncated (each byte is copied at most once
on average: linear time, memory bounded by one copy chunk).

Crash trade-off: everything written is on disk at once (no tail buffered in
memory), so a harness killed at any point leaves the head, the marker and the
tail up to the last write.  A crash in the middle of a compaction can leave
a stretch of the tail twice (the copy is done before the truncation, and the
marker's count is written first), never a hole.

:func:`read_bounded` reads at most ``limit`` bytes of a file: all of it when
it is small, else its head and tail with a marker line between them.
"""

from __future__ import annotations

import os
from pathlib import Path

MARKER_PREFIX = b"[lam-harness: "
_MARKER_WIDTH = 160  # the marker line is padded to a fixed length, rewritten in place
_COPY_CHUNK = 1 << 20
_ALIGN = 4096  # the tail starts after a newline found within this many bytes
MIN_CAP = 4096


def human(n: int) -> str:
    """``64 MiB``, ``512 KiB``, ``100 bytes``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def marker(dropped: int, cap: int, what: str) -> bytes:
    """The truncation marker line (fixed length, newline on both sides)."""
    text = (f"[lam-harness: {dropped} bytes dropped here: {what} is capped at {human(cap)}, "
            "head and tail kept]")
    return b"\n" + text.encode()[:_MARKER_WIDTH].ljust(_MARKER_WIDTH) + b"\n"


class CappedWriter:
    """A write-only file of at most ``cap`` bytes: head, marker, tail.
    ``append``: continue an existing file (its bytes count toward the cap)."""

    def __init__(self, path: Path, cap: int, what: str | None = None,
                 append: bool = False) -> None:
        if cap < MIN_CAP:
            raise ValueError(f"cap must be at least {MIN_CAP} bytes")
        self.path = path
        self.cap = cap
        self.what = what or path.name
        flags = os.O_RDWR | os.O_CREAT | (0 if append else os.O_TRUNC)
        self._fd: int | None = os.open(path, flags | os.O_CLOEXEC, 0o644)
        self.pos = os.lseek(self._fd, 0, os.SEEK_END)
        self.written = 0  # bytes given to write()
        self.dropped = 0  # bytes of them no longer in the file
        self._head = cap // 2
        self._mlen = len(marker(0, cap, self.what))
        self._region = self._head  # where the tail region starts (after the marker once cut)

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def write(self, data: bytes) -> int:
        fd = self._fd
        if fd is None:
            raise ValueError("write to a closed CappedWriter")
        mv = memoryview(data)
        self.written += len(mv)
        while mv:
            if self.pos >= self.cap:
                self._compact(fd)
            n = os.pwrite(fd, mv[:self.cap - self.pos], self.pos)
            self.pos += n
            mv = mv[n:]
        return len(data)

    def flush(self) -> None:
        pass  # unbuffered: every write() is in the file already

    def _compact(self, fd: int) -> None:
        """Drop the older half of the tail region: marker, then copy, then truncate."""
        dst = self._head + self._mlen
        keep = (self.cap - dst) // 2
        src = self.pos - keep
        first = os.pread(fd, min(_ALIGN, keep), src)
        nl = first.find(b"\n")
        if 0 <= nl < len(first) - 1:
            src += nl + 1  # start the tail on a line of its own
        self.dropped += src - self._region
        os.pwrite(fd, marker(self.dropped, self.cap, self.what), self._head)
        off = 0
        while src + off < self.pos:
            chunk = os.pread(fd, min(_COPY_CHUNK, self.pos - src - off), src + off)
            if not chunk:
                break
            os.pwrite(fd, chunk, dst + off)
            off += len(chunk)
        self.pos = dst + off
        os.ftruncate(fd, self.pos)
        self._region = dst

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> CappedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_bounded(path: Path, limit: int, *, head: bool = True, tail: bool = True) -> bytes:
    """At most ``limit`` bytes of ``path`` (plus a marker line): the whole
    file when it fits, else its head and tail (or only one of them) with a
    marker saying how many bytes are not shown.  OSError when unreadable."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size <= limit:
            return f.read(limit)
        h = (limit // 2 if tail else limit) if head else 0
        t = (limit - h) if tail else 0
        first = f.read(h) if h else b""
        last = b""
        if t:
            f.seek(size - t)
            last = f.read(t)
    note = (f"\n[lam-harness: {size - h - t} of {size} bytes not shown here]\n").encode()
    return first + note + last
