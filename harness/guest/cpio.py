"""A newc (SVR4, no CRC) cpio writer: the initramfs format the kernel unpacks.

Pure and rootless: ownership is always root (uid/gid 0), modes and contents
come from the caller, so no privileges or loop mounts are needed.  Entries are
written in the order given; parents must come before children.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

TRAILER = "TRAILER!!!"


@dataclass(frozen=True)
class Entry:
    path: str  # inside the archive, without a leading "/"
    mode: int  # full st_mode: file type bits | permissions
    data: bytes = b""  # file contents, or the target of a symlink

    @staticmethod
    def dir(path: str, perm: int = 0o755) -> Entry:
        return Entry(path.strip("/"), stat.S_IFDIR | perm)

    @staticmethod
    def file(path: str, data: bytes, perm: int = 0o644) -> Entry:
        return Entry(path.strip("/"), stat.S_IFREG | perm, data)

    @staticmethod
    def symlink(path: str, target: str) -> Entry:
        return Entry(path.strip("/"), stat.S_IFLNK | 0o777, target.encode())


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _header(ino: int, mode: int, nlink: int, size: int, namesize: int) -> bytes:
    fields = (ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, namesize, 0)
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def write(out: BinaryIO, entries: Iterable[Entry], *, first_ino: int = 1) -> int:
    """Write the archive (with trailer) to ``out``; returns the bytes written."""
    written = 0
    ino = first_ino
    for e in list(entries) + [Entry(TRAILER, 0)]:
        name = e.path.encode() + b"\0"
        nlink = 2 if stat.S_ISDIR(e.mode) else 1
        hdr = _header(ino if e.path != TRAILER else 0, e.mode, nlink if e.path != TRAILER else 1,
                      len(e.data), len(name))
        chunk = hdr + name + _pad4(len(hdr) + len(name)) + e.data + _pad4(len(e.data))
        out.write(chunk)
        written += len(chunk)
        ino += 1
    return written
