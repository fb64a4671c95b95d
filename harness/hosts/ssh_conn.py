"""The SSH connection of a remote runner (``SSHHost``): host keys checked
against known_hosts, keepalives, one reconnect for idempotent steps, commands
and agent calls on exec channels.

Security: the server's host key must be in known_hosts (unknown or changed
keys are refused before anything is sent; ``accept_new_host_key`` records an
unknown key on first use, like OpenSSH's ``accept-new``, never a changed one).
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import logging
import os
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from ..errors import InfraError
from ..progress import say
from ..vm import hostinfo
from .base import Completed

# paramiko logs refused channel opens (expected while a guest boots) as
# errors; the harness reports what matters itself.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
NET_ERRORS = (paramiko.SSHException, EOFError, OSError)


@dataclass(frozen=True)
class Target:
    user: str
    host: str
    port: int

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """The name OpenSSH and paramiko look up in known_hosts."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


def parse_target(ssh: str, port: int) -> Target:
    """``user@host`` (user defaults to the local login) -> Target."""
    user, _, host = ssh.rpartition("@")
    host = host.strip("[]")
    if not host or any(c.isspace() for c in ssh):
        raise ValueError(f"{ssh!r} is not user@host")
    return Target(user or getpass.getuser(), host, port)


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return f"{key.get_name()} SHA256:{base64.b64encode(digest).decode().rstrip('=')}"


class HostKeyError(InfraError):
    """The server's host key is unknown or changed: nothing was sent."""


class _UnknownKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Unknown host key: refuse, or (accept_new) record it and go on.  A
    *changed* key never reaches a policy: paramiko raises BadHostKeyException."""

    def __init__(self, target: Target, known_hosts: Path, accept_new: bool) -> None:
        self.target, self.known_hosts, self.accept_new = target, known_hosts, accept_new

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        if not self.accept_new:
            raise HostKeyError(
                f"{self.target.label}: unknown host key {fingerprint(key)} (not in "
                f"{self.known_hosts}): refusing to connect. Check the fingerprint and add the "
                f"key (ssh-keyscan -p {self.target.port} {self.target.host} >> "
                f"{self.known_hosts}), or allow recording it on first use with "
                "accept_new_host_key: true (doctor: --accept-new-host-key)")
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.known_hosts, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        say(f"{self.target.label}: new host key {fingerprint(key)} recorded in "
            f"{self.known_hosts} (accept_new_host_key)")


def close_channel(chan: paramiko.Channel) -> None:
    """Close a channel; on a connection that just died that raises."""
    try:
        chan.close()
    except NET_ERRORS:
        pass


class SSHConnection:
    """One paramiko connection to ``user@host`` and the runner's workdir.
    The state of the layers built on it (uploads, QEMU runs, facts) is set up
    here too, so that ``SSHHost`` has one constructor."""

    local = False

    def __init__(self, ssh: str, *, port: int = 22, key: Path | None = None,
                 known_hosts: Path | None = None, workdir: str = ".cache/lam-harness",
                 accept_new_host_key: bool = False, keepalive: float = 5.0,
                 python: str = "python3") -> None:
        self.target = parse_target(ssh, port)
        self.label = self.target.label
        self.key = key
        self.known_hosts = known_hosts or Path.home() / ".ssh" / "known_hosts"
        self.accept_new = accept_new_host_key
        self.keepalive = keepalive
        self.python = python
        self._workdir_setting = workdir
        self.workdir = ""
        self.uid: int | None = None  # the SSH user's, as the remote reports it
        self.agent = ""
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.RLock()  # connection state
        self._stage_lock = threading.RLock()  # one upload at a time, no duplicates
        self._hashes: dict[tuple[str, int, int, int], str] = {}
        self._qemu: dict[str, hostinfo.QemuFacts] = {}
        self._facts: dict[str, Any] | None = None
        self.released: set[str] = set()  # run dirs removed already
        self.server_version = ""
        self.stats = {"hits": 0, "uploads": 0, "bytes": 0}  # content-addressed uploads

    # -- connection -------------------------------------------------------------
    def connect(self) -> SSHConnection:
        self._connect()
        return self

    def _connect(self) -> bool:
        """Connect unless connected; True when a new connection was made."""
        with self._lock:
            if self._client is not None and self._active():
                return False
            self._drop()
            client = paramiko.SSHClient()
            if self.known_hosts.exists():
                try:
                    client.load_system_host_keys(str(self.known_hosts))
                except (OSError, paramiko.SSHException) as e:
                    raise InfraError(f"{self.label}: cannot read {self.known_hosts}: {e}") \
                        from None
            client.set_missing_host_key_policy(
                _UnknownKeyPolicy(self.target, self.known_hosts, self.accept_new))
            t = self.target
            try:
                # Small packets both ways (the guest's SSH is nested in this
                # connection): no Nagle delay on our side.
                sock = socket.create_connection((t.host, t.port), timeout=15)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                client.connect(t.host, t.port, t.user, sock=sock,
                               key_filename=str(self.key) if self.key else None,
                               allow_agent=self.key is None, look_for_keys=self.key is None,
                               timeout=15, banner_timeout=15, auth_timeout=15)
            except HostKeyError:
                client.close()
                raise
            except paramiko.BadHostKeyException as e:
                client.close()
                raise HostKeyError(
                    f"{self.label}: host key CHANGED: {self.known_hosts} has "
                    f"{fingerprint(e.expected_key)}, the server offers {fingerprint(e.key)}; "
                    "refusing to connect (a different machine, or a man in the middle). If the "
                    f"change is expected: ssh-keygen -R '{t.known_hosts_name}' -f "
                    f"{self.known_hosts}") from None
            except paramiko.PasswordRequiredException:
                client.close()
                raise InfraError(f"{self.label}: key {self.key} is encrypted: use a key "
                                 "without a passphrase (or ssh-agent, without key:)") from None
            except paramiko.AuthenticationException as e:
                client.close()
                how = f"key {self.key}" if self.key else "ssh-agent / ~/.ssh keys"
                raise InfraError(f"{self.label}: authentication failed with {how} ({e}): is "
                                 "its public key in the remote's authorized_keys?") from None
            except (OSError, paramiko.SSHException, EOFError) as e:
                client.close()
                raise InfraError(f"{self.label}: cannot connect: {e}") from None
            tr = client.get_transport()
            assert tr is not None
            tr.set_keepalive(max(1, int(self.keepalive)))
            self.server_version = tr.remote_version
            self._client = client
            try:
                self._sftp = client.open_sftp()
                home = self._sftp.normalize(".")
                w = self._workdir_setting
                self.workdir = w if w.startswith("/") else f"{home}/{w.removeprefix('~/')}"
                self._setup_workdir()
            except NET_ERRORS as e:
                self._drop()
                raise InfraError(f"{self.label}: SFTP and the workdir "
                                 f"{self._workdir_setting!r} are needed: {e}") from None
        return True

    def _setup_workdir(self) -> None:
        """Called with SFTP open on a new connection (the CAS checks it)."""

    def _active(self) -> bool:
        t = self._client.get_transport() if self._client is not None else None
        return t is not None and t.is_active()

    def _transport(self) -> paramiko.Transport:
        # connect() outside our lock: it stages the agent, which takes the
        # upload lock (a thread uploading holds that one and then wants ours).
        with self._lock:
            active = self._active()
        if not active:
            self.connect()
        with self._lock:
            t = self._client.get_transport() if self._client is not None else None
            if t is None:
                raise paramiko.SSHException("not connected")
            return t

    def _drop(self) -> None:
        with self._lock:
            if self._sftp is not None:
                try:
                    self._sftp.close()
                except NET_ERRORS:
                    pass
            if self._client is not None:
                self._client.close()
            self._client, self._sftp = None, None

    def close(self) -> None:
        self._drop()

    def _retrying(self, what: str, fn: Callable[[], Any], idempotent: bool = True) -> Any:
        """Run ``fn``; after a dropped connection reconnect and run it once more
        (idempotent steps only)."""
        for attempt in (0, 1):
            try:
                self._transport()
                return fn()
            except InfraError:
                raise
            except NET_ERRORS as e:
                if attempt == 0 and idempotent and not self._active():
                    say(f"{self.label}: connection lost during {what} ({e}): reconnecting")
                    self._drop()
                    continue
                raise InfraError(f"{self.label}: {what} failed: {e}") from None
        raise AssertionError("unreachable")

    # -- commands ---------------------------------------------------------------
    def _exec(self, argv: list[str], input: bytes | None, timeout: float | None) -> Completed:
        t = self._transport()
        chan = t.open_session(timeout=15)
        try:
            chan.exec_command(shlex.join(argv))
            if input:
                chan.sendall(input)
            chan.shutdown_write()
            out, err = bytearray(), bytearray()
            deadline = time.monotonic() + timeout if timeout is not None else None
            while True:
                while chan.recv_ready():
                    out += chan.recv(65536)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                if chan.exit_status_ready() and not chan.recv_ready() \
                        and not chan.recv_stderr_ready():
                    return Completed(chan.recv_exit_status(), bytes(out), bytes(err))
                if chan.closed and not chan.recv_ready() and not chan.recv_stderr_ready():
                    raise EOFError("channel closed without an exit status")
                if deadline is not None and time.monotonic() > deadline:
                    raise InfraError(f"{self.label}: {argv[0]} did not finish within "
                                     f"{timeout:g}s")
                select.select([chan], [], [], 0.2)
        finally:
            close_channel(chan)

    def run(self, argv: list[str], *, input: bytes | None = None,
            timeout: float | None = 60.0) -> Completed:
        """Not retried: an arbitrary command may not be idempotent."""
        result: Completed = self._retrying(argv[0], lambda: self._exec(argv, input, timeout),
                                           idempotent=False)
        return result

    def _agent_argv(self, *args: str) -> list[str]:
        return [self.python, "-I", "-S", self.agent, *args]

    def agent_call(self, *args: str, input: bytes | None = None, timeout: float = 120.0,
                   idempotent: bool = True) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            r = self._exec(self._agent_argv(*args), input, timeout)
            lines = [ln for ln in r.stdout.decode("utf-8", "replace").splitlines() if ln]
            if r.status != 0 or not lines:
                detail = r.stderr.decode("utf-8", "replace").strip().splitlines()
                raise InfraError(f"{self.label}: remote agent {args[0]} failed (status "
                                 f"{r.status}): {detail[-1] if detail else 'no output'}"
                                 + (f" (is {self.python} installed there?)"
                                    if r.status == 127 else ""))
            out: dict[str, Any] = json.loads(lines[-1])
            return out
        result: dict[str, Any] = self._retrying(f"agent {args[0]}", call, idempotent)
        return result
