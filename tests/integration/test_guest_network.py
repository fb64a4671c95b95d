"""The guest's network, on Debian's 6.12 cloud kernel in real QEMU: by default
(machine.network: restricted, QEMU ``restrict=on``) the guest cannot open a
connection to the host's loopback (10.0.2.2 in user-mode networking), though
SSH into it works; with ``machine.network: user`` it can."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.integration.helpers import run, write_config

pytestmark = pytest.mark.vm


class Listener:
    """A TCP listener on the host's 127.0.0.1 that records what it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.got: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                data = b""
                try:
                    while chunk := conn.recv(4096):
                        data += chunk
                except OSError:
                    pass
                self.got.append(data)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(10)


@pytest.mark.parametrize("network", [None, "user"])
def test_guest_reaches_the_host_loopback_only_when_the_config_opts_in(
        debian_kernel: Path, tmp_path: Path, network: str | None) -> None:
    listen = Listener()
    try:
        opt = f", network: {network}" if network else ""
        cfg = write_config(tmp_path, f"""
            machine: {{accel: auto, smp: 1, memory: 512M, boot_timeout: 120{opt}}}
            tests:
              - {{name: reach-host, run: "echo guest-was-here | nc -w 5 10.0.2.2 {listen.port}",
                  timeout: 30}}
        """)
        out = run(cfg, tmp_path / "results", timeout=900)
    finally:
        listen.close()
    verdict = out.tests()["reach-host"]["verdict"]
    if network == "user":
        assert out.code == 0, out.stderr
        assert verdict == "pass" and listen.got == [b"guest-was-here\n"]
    else:
        # SSH (the hostfwd) worked, the test ran, and its connection went nowhere.
        assert out.code == 1, out.stderr
        assert verdict == "fail" and listen.got == []
        argv = (out.run_dir / "it" / "qemu.cmdline").read_text()
        assert "restrict=on" in argv
