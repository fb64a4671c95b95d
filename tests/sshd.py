"""A real OpenSSH server for tests and benches: ``/usr/sbin/sshd -D -e -f`` on
127.0.0.1:<free port> with its own host key, config and authorized key, all in
a temporary folder (no system sshd config is read or touched).  The "remote"
user is whoever runs the tests (root here: PermitRootLogin prohibit-password).

``SetEnv SHLVL=1`` keeps a login shell from sourcing ~/.bashrc for exec
requests (Debian's bash does that when started by sshd): this machine's root
.bashrc runs ``pyenv init`` (0.6 s per command), which a runner would not."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def available() -> bool:
    return Path(SSHD).exists() and shutil.which("ssh-keygen") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def keygen(path: Path) -> Path:
    path.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lamh-test", "-f",
                    str(path)], check=True)
    return path


class Sshd:
    """Start with ``start()``; ``client_key``, ``known_hosts`` (with this
    server's key) and ``host_spec()`` are what a config needs."""

    def __init__(self, folder: Path, name: str = "sshd", *, port: int | None = None,
                 host_key: Path | None = None, authorized: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        """``host_key`` (an OpenSSH private key), ``authorized`` (a public key
        line) and ``port``: given ones instead of new ones; ``env``: set for
        every session (sshd's SetEnv)."""
        self.dir = folder / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        self.port = port or free_port()
        self.host_key = host_key or keygen(self.dir / "host_ed25519")
        self.client_key = keygen(self.dir / "client_ed25519")
        self.authorized = self.dir / "authorized_keys"
        self.authorized.write_text(authorized + "\n" if authorized else
                                   (self.dir / "client_ed25519.pub").read_text())
        self.known_hosts = self.dir / "known_hosts"
        if host_key is None:
            pub = (self.dir / "host_ed25519.pub").read_text().split()
            self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}\n")
        setenv = " ".join(f"{k}={v}" for k, v in {"SHLVL": "1", **(env or {})}.items())
        self.workdir = self.dir / "work"
        self.log = self.dir / "sshd.log"
        self.config = self.dir / "sshd_config"
        self.config.write_text(f"""\
Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
AuthorizedKeysFile {self.authorized}
PidFile {self.dir}/sshd.pid
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
SetEnv {setenv}
LogLevel VERBOSE
""")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def user(self) -> str:
        return getpass.getuser()

    def start(self, timeout: float = 10.0) -> Sshd:
        # sshd's privilege separation folder (compiled in; Debian's package
        # makes it only when its own service starts).
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)],
                                     stdout=open(self.log, "ab"),  # noqa: SIM115
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not listen on {self.port}: {self.log.read_text()[-2000:]}")

    def host_spec(self, **extra: object) -> str:
        """The YAML flow mapping for ``host:``."""
        fields = {"ssh": f"{self.user}@127.0.0.1", "port": self.port,
                  "key": str(self.client_key), "known_hosts": str(self.known_hosts),
                  "workdir": str(self.workdir), **extra}
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in fields.items()) + "}"

    def session_pids(self) -> list[int]:
        """The sshd processes serving connections: the listener's children."""
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True).stdout
        return [int(p) for p in out.split()]

    def drop_connections(self) -> list[int]:
        """Kill the sshd children serving sessions (SIGKILL): the TCP
        connections drop, the commands they ran see EOF on stdin."""
        pids = self.session_pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.drop_connections()
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _yaml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
