"""pexpect over a paramiko channel: the remote serial console read with the same
pexpect interface as the local socket (``fdpexpect.fdspawn``), without an
``ssh`` binary in between."""

from __future__ import annotations

import select
from typing import Any

import paramiko
import pexpect
from pexpect.spawnbase import SpawnBase


class ChannelSpawn(SpawnBase):  # type: ignore[misc]
    """``read_nonblocking`` via ``chan.recv``; EOF when the channel closes."""

    def __init__(self, chan: paramiko.Channel, timeout: float | None = 30,
                 maxread: int = 65536, **kw: Any) -> None:
        super().__init__(timeout=timeout, maxread=maxread, **kw)
        self.chan = chan
        self.child_fd = -1  # no file descriptor of ours: reads go through recv
        self.name = f"<paramiko channel {chan.get_id()}>"
        self.closed = False

    def read_nonblocking(self, size: int = 1, timeout: float | None = -1) -> Any:
        if timeout == -1:
            timeout = self.timeout
        if not self.chan.recv_ready():
            if self.chan.closed or self.chan.eof_received:
                self.flag_eof = True
                raise pexpect.EOF("channel closed")
            # A channel's fileno() is a pipe paramiko makes readable when data
            # (or EOF) arrives: select works on it like on a socket.
            r, _, _ = select.select([self.chan], [], [], timeout)
            if not r:
                raise pexpect.TIMEOUT("Timeout exceeded.")
        data = self.chan.recv(size)
        if not data:
            self.flag_eof = True
            raise pexpect.EOF("channel closed")
        s = self._decoder.decode(data, final=False)
        self._log(s, "read")
        return s

    def send(self, s: Any) -> int:
        s = self._coerce_send_string(s)
        self._log(s, "send")
        b = self._encoder.encode(s, final=False)
        self.chan.sendall(b)
        return len(b)

    def sendline(self, s: Any = "") -> int:
        s = self._coerce_send_string(s)
        return self.send(s + self.linesep)

    def isalive(self) -> bool:
        return not self.chan.closed

    def close(self) -> None:
        self.chan.close()
        self.closed = True
