"""File transfer for a remote runner: SFTP put/get, and the content-addressed
store: files are uploaded by sha256 into ``<workdir>/cas/<sha256>/<name>``; a
hash already there is not sent again.  The workdir and the store hold what
the runner executes, so they must be the SSH user's own and writable by no
one else."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from pathlib import Path
from typing import IO, cast

import paramiko

from ..errors import InfraError
from ..progress import say
from .ssh_conn import SSHConnection

AGENT = Path(__file__).with_name("agent.py")


class _Range:
    """The first ``length`` bytes of a file, as a readable file object."""

    def __init__(self, f: IO[bytes], length: int) -> None:
        self.f, self.left = f, length

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data


class SSHFiles(SSHConnection):
    """Uploads, downloads and the content-addressed store, on the connection's SFTP."""

    def _setup_workdir(self) -> None:
        self._mkdirs(f"{self.workdir}/cas")
        self._check_workdir()

    def _check_workdir(self) -> None:
        """The workdir and its CAS hold what the runner executes (the agent,
        QEMU, kernels): they must be real folders of the SSH user that no one
        else can write; anything else is refused before anything is staged."""
        assert self._sftp is not None
        probe = f"{self.workdir}/.owner-probe-{os.getpid()}-{threading.get_ident()}"
        with self._sftp.open(probe, "w"):
            pass
        try:
            self.uid = self._sftp.lstat(probe).st_uid
        finally:
            self._sftp.remove(probe)
        for d in (self.workdir, f"{self.workdir}/cas"):
            self._check_owned(d, self.uid, want_dir=True)

    def _check_owned(self, path: str, uid: int | None, want_dir: bool) -> None:
        assert self._sftp is not None
        st = self._sftp.lstat(path)
        mode = st.st_mode or 0
        kind = ("folder" if want_dir else "file")
        problem = None
        if stat.S_ISLNK(mode):
            problem = "is a symlink"
        elif want_dir and not stat.S_ISDIR(mode) or not want_dir and not stat.S_ISREG(mode):
            problem = f"is not a {kind}"
        elif uid is not None and st.st_uid != uid:
            problem = f"is owned by uid {st.st_uid}, not by {self.target.user} (uid {uid})"
        elif mode & 0o022:
            problem = (f"is writable by {'others' if mode & 0o002 else 'its group'} "
                       f"(mode {stat.S_IMODE(mode):04o}; chmod go-w)")
        if problem:
            raise InfraError(f"{self.label}: {path} {problem}: refused (the runner executes "
                             "what the workdir holds)")

    def _mkdirs(self, path: str) -> None:
        assert self._sftp is not None
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            p = "/" + "/".join(parts[:i])
            try:
                self._sftp.stat(p)
            except FileNotFoundError:
                self._sftp.mkdir(p, 0o700)

    # -- files ------------------------------------------------------------------
    def _sftp_client(self) -> paramiko.SFTPClient:
        self._transport()
        assert self._sftp is not None
        return self._sftp

    def put(self, src: Path, dst: str) -> None:
        self._retrying(f"upload of {src.name}", lambda: self._sftp_client().put(str(src), dst))

    def get(self, src: str, dst: Path) -> None:
        self._retrying(f"download of {src}", lambda: self._sftp_client().get(src, str(dst)))

    def _sha256(self, src: Path, length: int | None = None) -> tuple[str, int]:
        st = src.stat()
        n = st.st_size if length is None else length
        key = (str(src), st.st_size, st.st_mtime_ns, n)
        if key not in self._hashes:
            h = hashlib.sha256()
            with open(src, "rb") as f:
                left = n
                while left > 0:
                    chunk = f.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    h.update(chunk)
                    left -= len(chunk)
            self._hashes[key] = h.hexdigest()
        return self._hashes[key], n

    def stage(self, src: Path, *, executable: bool = False, what: str = "",
              length: int | None = None, name: str | None = None) -> str:
        """Upload ``src`` (or its first ``length`` bytes) to
        ``<workdir>/cas/<sha256>/<name>`` unless that hash is there already."""
        sha, size = self._sha256(src, length)
        name = name or src.name
        final_dir = f"{self.workdir}/cas/{sha}"
        dest = f"{final_dir}/{name}"

        def upload() -> str:
            sftp = self._sftp_client()
            try:
                sftp.lstat(dest)
                self._check_owned(final_dir, self.uid, want_dir=True)
                self._check_owned(dest, self.uid, want_dir=False)
                self.stats["hits"] += 1
                return dest
            except FileNotFoundError:
                pass
            tmp = f"{final_dir}.tmp-{os.getpid()}-{threading.get_ident()}"
            try:
                sftp.mkdir(tmp, 0o700)
            except OSError:
                pass
            label = f"{what + ' ' if what else ''}{name} ({size / 1e6:.1f} MB)"
            t0 = time.monotonic()
            last = [t0]

            def progress(done: int, total: int) -> None:
                now = time.monotonic()
                if now - last[0] >= 2.0 and total:
                    last[0] = now
                    say(f"uploading {label} to {self.label}: {100 * done // total}%")

            with open(src, "rb") as f:
                sftp.putfo(cast(IO[bytes], _Range(f, size)), f"{tmp}/{name}", size, progress)
            sftp.chmod(f"{tmp}/{name}", 0o755 if executable else 0o644)
            try:
                sftp.posix_rename(tmp, final_dir)
            except OSError:  # someone else uploaded it meanwhile
                self._rm_tmp(sftp, tmp, name)
            took = time.monotonic() - t0
            self.stats["uploads"] += 1
            self.stats["bytes"] += size
            if src != AGENT:
                say(f"uploaded {label} to {self.label} in {took:.1f}s "
                    f"({size / 1e6 / max(took, 1e-6):.0f} MB/s)")
            return dest

        with self._stage_lock:
            result: str = self._retrying(f"upload of {name}", upload)
            return result

    @staticmethod
    def _rm_tmp(sftp: paramiko.SFTPClient, tmp: str, name: str) -> None:
        try:
            sftp.remove(f"{tmp}/{name}")
            sftp.rmdir(tmp)
        except OSError:
            pass

    def stage_qemu(self, binary: str) -> str:
        if "/" not in binary:
            return binary  # on the remote's PATH
        return self.stage(Path(binary), executable=True, what="QEMU")
