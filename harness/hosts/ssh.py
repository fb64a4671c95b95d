"""A remote machine as a Host, over one paramiko SSH connection.

Security: the server's host key must be in known_hosts (unknown or changed
keys are refused before anything is sent; ``accept_new_host_key`` records an
unknown key on first use, like OpenSSH's ``accept-new``, never a changed one).
Nothing listens on the remote's network interfaces: QEMU's sockets are unix
sockets in a private folder and its hostfwd binds 127.0.0.1; the guest's SSH
port is reached with a direct-tcpip channel, the unix sockets through the
agent's relay on an exec channel.

Remote work goes through ``agent.py`` (standard-library Python, uploaded
content-addressed): QEMU runs under its watchdog, which kills QEMU's process
group when the channel ends, however the local side ended.  Files are
uploaded content-addressed (sha256) into ``<workdir>/cas/<sha256>/<name>``;
a hash already there is not sent again.
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
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import paramiko

from ..errors import BootError, InfraError, MissingToolError
from ..progress import say
from ..vm import hostinfo
from .base import Completed, RunPlace

AGENT = Path(__file__).with_name("agent.py")
# paramiko logs refused channel opens (expected while a guest boots) as
# errors; the harness reports what matters itself.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
HEARTBEAT_EVERY = 2.0  # seconds between heartbeat bytes to a remote watchdog
HEARTBEAT_TIMEOUT = 30.0  # either side gives up after this long without one
_NET_ERRORS = (paramiko.SSHException, EOFError, OSError)


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


class _Range:
    """The first ``length`` bytes of a file, as a readable file object."""

    def __init__(self, f: IO[bytes], length: int) -> None:
        self.f, self.left = f, length

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data


class SSHHost:
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
    def connect(self) -> SSHHost:
        with self._lock:
            if self._client is not None and self._active():
                return self
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
                self._mkdirs(f"{self.workdir}/cas")
                self._check_workdir()
            except _NET_ERRORS as e:
                self._drop()
                raise InfraError(f"{self.label}: SFTP and the workdir "
                                 f"{self._workdir_setting!r} are needed: {e}") from None
        self.agent = self.stage(AGENT, what="agent")
        return self

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
                except _NET_ERRORS:
                    pass
            if self._client is not None:
                self._client.close()
            self._client, self._sftp = None, None

    def close(self) -> None:
        self._drop()

    def fork(self) -> SSHHost:
        """Another connection to the same host, sharing the upload lock and
        hashes (no file is uploaded twice at once)."""
        h = SSHHost(f"{self.target.user}@{self.target.host}", port=self.target.port,
                    key=self.key, known_hosts=self.known_hosts,
                    workdir=self._workdir_setting, accept_new_host_key=False,
                    keepalive=self.keepalive, python=self.python)
        h._stage_lock, h._hashes, h.stats = self._stage_lock, self._hashes, self.stats
        return h.connect()

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

    def _retrying(self, what: str, fn: Callable[[], Any], idempotent: bool = True) -> Any:
        """Run ``fn``; after a dropped connection reconnect and run it once more
        (idempotent steps only)."""
        for attempt in (0, 1):
            try:
                self._transport()
                return fn()
            except InfraError:
                raise
            except _NET_ERRORS as e:
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
            _close(chan)

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

    # -- machines ---------------------------------------------------------------
    def prepare_run(self, initrd: Path, common: int) -> RunPlace:
        base = self.stage(initrd, length=common, what="initramfs (common part)",
                          name="initramfs-common.cpio")
        with open(initrd, "rb") as f:
            f.seek(common)
            tail = f.read()
        r = self.agent_call("prepare", "--base", base, input=tail)
        return RunPlace(r["dir"], r["initrd"], int(r["port"]))

    def free_port(self) -> int:
        return int(self.agent_call("freeport")["port"])

    def spawn(self, argv: list[str], log: Path, run_dir: str) -> RemoteProcess:
        t = self._transport()
        try:
            chan = t.open_session(timeout=15)
            chan.exec_command(shlex.join(self._agent_argv(
                "spawn", "--dir", run_dir, "--heartbeat", f"{HEARTBEAT_TIMEOUT:g}", "--",
                *argv)))
        except _NET_ERRORS as e:
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
        except _NET_ERRORS as e:
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
                _close(chan)
                if not alive():
                    raise BootError(f"QEMU exited before its socket "
                                    f"{os.path.basename(path)} came up")
                msg = err.decode("utf-8", "replace").strip().splitlines()
                raise BootError(f"{self.label}: {msg[-1] if msg else 'relay to ' + path}")
            if time.monotonic() > deadline or not self._active():
                _close(chan)
                raise BootError(f"{self.label}: no relay to {path}")
            select.select([chan], [], [], 0.05)
        return chan

    def open_tcp(self, host: str, port: int, timeout: float) -> paramiko.Channel:
        t = self._transport()
        chan = t.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=timeout)
        return chan

    # -- facts ------------------------------------------------------------------
    def _qemu_binary(self, setting: object) -> str:
        b = hostinfo.qemu_binary(setting)
        return self.stage_qemu(b) if "/" in b and Path(b).is_file() else b

    def raw_facts(self, qemu: object = "system") -> dict[str, Any]:
        binary = self._qemu_binary(qemu)
        raw = self.agent_call("facts", "--qemu", binary, "--workdir", self.workdir)
        self._facts = raw
        q = raw["qemu"][binary]
        self._qemu[binary] = _qemu_facts(q)
        return raw

    def facts(self, qemu: object = "system") -> hostinfo.HostFacts:
        raw = self.raw_facts(qemu)
        binary = self._qemu_binary(qemu)
        k = raw["kvm"]
        lam = raw["cpu_lam"] if raw["cpu_lam"] is not None else raw["cpu_flags_lam"]
        return hostinfo.HostFacts(raw["kernel"], raw["cpu_model"], lam,
                                  hostinfo.KvmFacts(k["dev_present"], k["dev_usable"],
                                                    list(k["modules"])),
                                  self._qemu[binary], dict(raw["tools"]),
                                  str(raw.get("cpu_vendor") or ""),
                                  str(raw.get("hypervisor") or ""))

    def require_qemu(self, binary: str) -> hostinfo.QemuFacts:
        if binary not in self._qemu:
            raw = self.agent_call("facts", "--qemu", binary, "--workdir", self.workdir)
            self._qemu[binary] = _qemu_facts(raw["qemu"][binary])
        q = self._qemu[binary]
        if not q.found:
            raise MissingToolError(f"{self.label}: {binary} not found on the remote host: "
                                   "install qemu-system-x86 >= 9.1 there")
        return q

    def forwarding(self) -> str:
        """Whether the server allows direct-tcpip (the guest's SSH needs it)."""
        try:
            chan = self._transport().open_channel("direct-tcpip", ("127.0.0.1", 1),
                                                  ("127.0.0.1", 0), timeout=10)
            _close(chan)
            return "allowed"
        except paramiko.ChannelException as e:
            if e.code == 1:  # SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
                return "prohibited (AllowTcpForwarding no): the guest's SSH cannot be reached"
            return "allowed"
        except _NET_ERRORS as e:
            return f"unknown ({e})"


def _close(chan: paramiko.Channel) -> None:
    """Close a channel; on a connection that just died that raises."""
    try:
        chan.close()
    except _NET_ERRORS:
        pass


def _qemu_facts(q: dict[str, Any]) -> hostinfo.QemuFacts:
    return hostinfo.QemuFacts(q["binary"], bool(q["found"]), q.get("version"),
                              tuple(q.get("version_tuple") or ()), bool(q.get("knows_lam")),
                              bool(q.get("tcg_lam")))


class RemoteProcess:
    """QEMU under the remote watchdog, on one exec channel: stderr carries
    QEMU's output (appended to the local log), stdout the agent's JSON lines
    (pid, heartbeat replies, exit).  A thread pumps both and sends the
    heartbeat.  ``kill`` sends ``k``; EOF on the channel (this process gone,
    connection dropped) makes the watchdog kill QEMU and remove its folder."""

    def __init__(self, host: SSHHost, chan: paramiko.Channel, log: Path, run_dir: str) -> None:
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
            _close(self.chan)
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
            except _NET_ERRORS:
                pass
            if not self._closed.wait(10.0):
                _close(self.chan)
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
            except _NET_ERRORS as e:
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
        _close(chan)
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


def open_ssh_host(ssh: str, **kw: Any) -> SSHHost:
    return SSHHost(ssh, **kw).connect()
