"""QEMU on a remote runner: started under the agent's watchdog on an exec
channel (which kills QEMU's process group when the channel ends, however the
local side ended), its unix sockets reached through the agent's relay, the
guest's SSH port through a direct-tcpip channel: nothing listens on the
runner's network interfaces (QEMU's sockets are unix sockets in a private
folder and its hostfwd binds 127.0.0.1)."""

from __future__ import annotations

import json
import os
import select
import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paramiko

from ..errors import BootError, InfraError
from ..progress import say
from .ssh_conn import NET_ERRORS, SSHConnection, close_channel

HEARTBEAT_EVERY = 2.0  # seconds between heartbeat bytes to a remote watchdog
HEARTBEAT_TIMEOUT = 30.0  # either side gives up after this long without one


class SSHQemu(SSHConnection):
    """QEMU processes and the channels to their sockets."""

    def free_port(self) -> int:
        return int(self.agent_call("freeport")["port"])

    def spawn(self, argv: list[str], log: Path, run_dir: str) -> RemoteProcess:
        t = self._transport()
        try:
            chan = t.open_session(timeout=15)
            chan.exec_command(shlex.join(self._agent_argv(
                "spawn", "--dir", run_dir, "--heartbeat", f"{HEARTBEAT_TIMEOUT:g}", "--",
                *argv)))
        except NET_ERRORS as e:
            raise InfraError(f"{self.label}: cannot start QEMU: {e}") from None
        p = RemoteProcess(self, chan, log, run_dir)
        p.started(30.0)
        return p

    def release(self, run_dir: str) -> None:
        """``agent kill DIR``: kills a leftover QEMU recorded there, removes DIR."""
        if run_dir in self.released:
            return
        try:
            r = self.agent_call("kill", run_dir, timeout=30)
            self.released.add(run_dir)
            if r.get("refused"):
                say(f"{self.label}: the agent kept {run_dir}: {r['refused']}")
        except InfraError as e:
            say(f"{self.label}: could not clean up {run_dir}: {e} (the remote watchdog "
                "kills QEMU by itself when the connection ends)")

    def open_unix(self, path: str, wait: float, alive: Callable[[], bool]) -> paramiko.Channel:
        """An exec channel running the agent's relay to ``path``: it reports
        ``connected`` on stderr, then carries the socket's bytes on stdout."""
        t = self._transport()
        try:
            chan = t.open_session(timeout=15)
            chan.exec_command(shlex.join(self._agent_argv("relay", path, "--wait",
                                                          f"{wait:g}")))
        except NET_ERRORS as e:
            raise BootError(f"{self.label}: cannot reach {path}: {e}") from None
        err = b""
        deadline = time.monotonic() + wait + 30
        while b"relay: connected" not in err:
            if chan.recv_stderr_ready():
                err += chan.recv_stderr(4096)
                continue
            if chan.exit_status_ready() or chan.closed:
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(4096)
                close_channel(chan)
                if not alive():
                    raise BootError(f"QEMU exited before its socket "
                                    f"{os.path.basename(path)} came up")
                msg = err.decode("utf-8", "replace").strip().splitlines()
                raise BootError(f"{self.label}: {msg[-1] if msg else 'relay to ' + path}")
            if time.monotonic() > deadline or not self._active():
                close_channel(chan)
                raise BootError(f"{self.label}: no relay to {path}")
            select.select([chan], [], [], 0.05)
        return chan

    def open_tcp(self, host: str, port: int, timeout: float) -> paramiko.Channel:
        t = self._transport()
        chan = t.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=timeout)
        return chan

    def forwarding(self) -> str:
        """Whether the server allows direct-tcpip (the guest's SSH needs it)."""
        try:
            chan = self._transport().open_channel("direct-tcpip", ("127.0.0.1", 1),
                                                  ("127.0.0.1", 0), timeout=10)
            close_channel(chan)
            return "allowed"
        except paramiko.ChannelException as e:
            if e.code == 1:  # SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
                return "prohibited (AllowTcpForwarding no): the guest's SSH cannot be reached"
            return "allowed"
        except NET_ERRORS as e:
            return f"unknown ({e})"



class RemoteProcess:
    """QEMU under the remote watchdog, on one exec channel: stderr carries
    QEMU's output (appended to the local log), stdout the agent's JSON lines
    (pid, heartbeat replies, exit).  A thread pumps both and sends the
    heartbeat.  ``kill`` sends ``k``; EOF on the channel (this process gone,
    connection dropped) makes the watchdog kill QEMU and remove its folder."""

    def __init__(self, host: SSHQemu, chan: paramiko.Channel, log: Path, run_dir: str) -> None:
        self.host, self.chan, self.log_path, self.run_dir = host, chan, log, run_dir
        self._pid: int | None = None
        self._rc: int | None = None
        self._lost: str | None = None
        self.why: str | None = None
        self._pid_event = threading.Event()
        self._done = threading.Event()  # QEMU's end is known (exit report, or lost)
        self._closed = threading.Event()  # the agent's channel is gone
        self._last_reply = time.monotonic()
        self._thread = threading.Thread(target=self._pump, name=f"qemu@{host.label}",
                                        daemon=True)
        self._thread.start()

    def started(self, timeout: float) -> None:
        if not self._pid_event.wait(timeout) or self._pid is None:
            self._closed.wait(2.0)
            try:
                tail = self.log_path.read_bytes()[-2000:].decode("utf-8", "replace")
            except OSError:
                tail = ""
            lines = [ln for ln in tail.splitlines() if ln.strip()]
            close_channel(self.chan)
            raise InfraError(f"{self.host.label}: QEMU did not start under the remote agent: "
                             f"{self.why or (lines[-1] if lines else self._lost or 'no reason')}")

    @property
    def pid(self) -> int:
        return self._pid or 0

    @property
    def returncode(self) -> int | None:
        return self.poll()

    @property
    def lost(self) -> str | None:
        return self._lost

    def poll(self) -> int | None:
        if not self._done.is_set():
            return None
        return self._rc if self._rc is not None else 255

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired("qemu (remote)", timeout or 0)
        rc = self.poll()
        assert rc is not None
        return rc

    def kill(self) -> None:
        if not self._closed.is_set():
            try:
                self.chan.sendall(b"k")
            except NET_ERRORS:
                pass
            if not self._closed.wait(10.0):
                close_channel(self.chan)
        if self._rc is None:
            # No word from the watchdog (connection lost): make sure on a fresh
            # connection (the watchdog kills QEMU by itself on EOF anyway).
            self.host.release(self.run_dir)

    def _pump(self) -> None:
        buf = b""
        next_hb = time.monotonic() + HEARTBEAT_EVERY
        chan = self.chan
        with open(self.log_path, "ab", buffering=0) as log:
            try:
                while True:
                    got = False
                    while chan.recv_stderr_ready():
                        log.write(chan.recv_stderr(65536))
                        got = True
                    while chan.recv_ready():
                        buf += chan.recv(65536)
                        *lines, buf = buf.split(b"\n")
                        for line in lines:
                            self._message(line)
                        got = True
                    if (chan.closed or chan.exit_status_ready() or chan.eof_received) \
                            and not chan.recv_ready() and not chan.recv_stderr_ready():
                        break
                    now = time.monotonic()
                    if now >= next_hb and self._pid is not None:
                        next_hb = now + HEARTBEAT_EVERY
                        chan.sendall(b".")
                    if now - self._last_reply > HEARTBEAT_TIMEOUT:
                        self._lost = (f"no heartbeat from the remote watchdog on "
                                      f"{self.host.label} for {HEARTBEAT_TIMEOUT:g}s")
                        self.host._drop()  # a half-open connection: give it up
                        break
                    if not got:
                        select.select([chan], [], [], 0.25)
            except NET_ERRORS as e:
                if self._rc is None:
                    self._lost = f"SSH connection to {self.host.label} failed: {e}"
        if self._rc is None and self._lost is None:
            # The channel closes a moment before the transport notices its end.
            deadline = time.monotonic() + 1.0
            while self.host._active() and time.monotonic() < deadline:
                time.sleep(0.05)
            self._lost = (f"SSH connection to {self.host.label} lost"
                          if not self.host._active() else
                          "the remote watchdog ended without reporting QEMU's exit")
        close_channel(chan)
        self._pid_event.set()
        self._done.set()
        self._closed.set()

    def _message(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
        except ValueError:
            return
        self._last_reply = time.monotonic()
        if "pid" in msg:
            self._pid = int(msg["pid"])
            self._pid_event.set()
        if "exit" in msg:
            self.why = msg.get("why")
            self._rc = int(msg["exit"]) if msg["exit"] is not None else 255
            self._done.set()
