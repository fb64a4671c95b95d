"""Where QEMU runs: this machine or remote LAM runners over SSH, behind one
Host protocol (base.py).  See docs/hosts.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, HostSpec
from .base import Completed, Host, Process, RunPlace, Stream
from .local import LOCAL, LocalHost


@dataclass
class Runner:
    """One entry of ``host:`` / ``hosts:``: a connected host and how many
    guests it runs at once."""

    host: Host
    concurrency: int = 1
    _forks: list[Host] = field(default_factory=list)

    def slot(self, k: int) -> Host:
        """The host for guest slot ``k`` (0-based): slot 0 is ``host``, the
        others get connections of their own."""
        while len(self._forks) < k:
            self._forks.append(self.host.fork())
        return self.host if k == 0 else self._forks[k - 1]

    def close(self) -> None:
        for h in [*self._forks, self.host]:
            h.close()


def ssh_host(spec: HostSpec, cfg: Config | None = None, key: str = "host") -> Host:
    """Connect to ``spec`` (host key checked, authenticated, agent staged)."""
    from .ssh import SSHHost

    def path(value: str | None, name: str) -> Path | None:
        if value is None:
            return None
        if cfg is None:
            return Path(value).expanduser()
        return cfg.resolve_path(value, f"{key}.{name}", must_exist=name == "key")

    h = SSHHost(spec.ssh, port=spec.port, key=path(spec.key, "key"),
                known_hosts=path(spec.known_hosts, "known_hosts"), workdir=spec.workdir,
                accept_new_host_key=spec.accept_new_host_key, keepalive=spec.keepalive,
                python=spec.python)
    return h.connect()


def runners(cfg: Config) -> list[Runner]:
    """The config's runners, connected (refused host keys and failed logins
    raise InfraError before anything runs)."""
    entries: list[tuple[str, str | HostSpec]] = (
        [(f"hosts[{i}]", h) for i, h in enumerate(cfg.hosts)] if cfg.hosts
        else [("host", cfg.host)])
    out: list[Runner] = []
    try:
        for key, spec in entries:
            if isinstance(spec, str):
                out.append(Runner(LOCAL, 1))
            else:
                out.append(Runner(ssh_host(spec, cfg, key), spec.concurrency))
    except BaseException:
        close(out)
        raise
    return out


def close(rs: list[Runner]) -> None:
    for r in rs:
        r.close()


__all__ = ["Completed", "Host", "LOCAL", "LocalHost", "Process", "RunPlace", "Runner",
           "Stream", "close", "runners", "ssh_host"]
