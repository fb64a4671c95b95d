"""This machine as a Host: subprocesses, local files, unix and TCP sockets.

QEMU runs in a session of its own with PR_SET_PDEATHSIG=SIGKILL, so the
kernel kills it if the harness dies, even by SIGKILL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import BootError, InfraError
from ..procs import kill_group
from ..procs import pdeathsig as pdeathsig  # re-exported
from ..vm import hostinfo
from .base import Completed, RunPlace


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LocalProcess:
    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    @property
    def lost(self) -> str | None:
        return None

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            kill_group(self.popen, grace=1.0)


class LocalHost:
    label = "local"
    local = True

    def run(self, argv: list[str], *, input: bytes | None = None,
            timeout: float | None = 60.0) -> Completed:
        try:
            r = subprocess.run(argv, input=input, capture_output=True, timeout=timeout)
        except FileNotFoundError:
            raise InfraError(f"{argv[0]} not found") from None
        except subprocess.TimeoutExpired:
            raise InfraError(f"{argv[0]} did not finish within {timeout:g}s") from None
        return Completed(r.returncode, r.stdout, r.stderr)

    def put(self, src: Path, dst: str) -> None:
        shutil.copyfile(src, dst)

    def get(self, src: str, dst: Path) -> None:
        shutil.copyfile(src, dst)

    def stage(self, src: Path, *, executable: bool = False, what: str = "") -> str:
        return str(src)

    def stage_qemu(self, binary: str) -> str:
        return binary

    def prepare_run(self, initrd: Path, common: int) -> RunPlace:
        return RunPlace(tempfile.mkdtemp(prefix="lamh-"), str(initrd), free_port())

    def free_port(self) -> int:
        return free_port()

    def spawn(self, argv: list[str], log: Path, run_dir: str) -> LocalProcess:
        out = open(log, "ab", buffering=0)  # noqa: SIM115
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                 start_new_session=True, preexec_fn=pdeathsig)
        except FileNotFoundError:
            raise InfraError(f"QEMU binary {argv[0]} not found") from None
        finally:
            out.close()
        return LocalProcess(p)

    def release(self, run_dir: str) -> None:
        shutil.rmtree(run_dir, ignore_errors=True)

    def open_unix(self, path: str, wait: float, alive: Callable[[], bool]) -> socket.socket:
        deadline = time.monotonic() + wait
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return s
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if not alive():
                    raise BootError("QEMU exited before its socket "
                                    f"{os.path.basename(path)} came up") from None
                if time.monotonic() > deadline:
                    raise BootError(f"QEMU's socket {path} did not appear "
                                    f"within {wait:.0f}s") from None
                time.sleep(0.005)

    def open_tcp(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), timeout=timeout)
        # Small request/response packets: no Nagle delay on our side.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def facts(self, qemu: object = "system") -> hostinfo.HostFacts:
        return hostinfo.probe(qemu)

    def require_qemu(self, binary: str) -> hostinfo.QemuFacts:
        return hostinfo.require_qemu(binary)

    def fork(self) -> LocalHost:
        return self

    def close(self) -> None:
        pass


LOCAL = LocalHost()
