"""A minimal synchronous QMP client (JSON lines over a unix socket)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any


class QmpError(Exception):
    pass


class Qmp:
    def __init__(self, path: Path | None, timeout: float = 5.0,
                 stream: Any | None = None) -> None:
        """Connect to the unix socket ``path``, or talk over an already
        connected ``stream`` (a socket or a paramiko channel: ``Qmp.over``)."""
        if stream is None:
            assert path is not None
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(str(path))
        else:
            self.sock = stream
            self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rwb")
        self._read()  # greeting
        self.execute("qmp_capabilities")

    @classmethod
    def over(cls, stream: Any, timeout: float = 5.0) -> Qmp:
        try:
            return cls(None, timeout, stream)
        except BaseException:
            stream.close()
            raise

    def _read(self) -> dict[str, Any]:
        while True:
            line = self.file.readline()
            if not line:
                raise QmpError("QMP connection closed")
            msg: dict[str, Any] = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, cmd: str, **args: Any) -> Any:
        req: dict[str, Any] = {"execute": cmd}
        if args:
            req["arguments"] = args
        self.file.write(json.dumps(req).encode() + b"\n")
        self.file.flush()
        resp = self._read()
        if "error" in resp:
            raise QmpError(f"{cmd}: {resp['error'].get('desc', resp['error'])}")
        return resp.get("return")

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sock.close()
