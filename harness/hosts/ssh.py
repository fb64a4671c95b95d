"""A remote machine as a Host, over one paramiko SSH connection: the
connection and host keys (``ssh_conn.py``), file transfer and the
content-addressed store (``ssh_files.py``), remote QEMU (``ssh_qemu.py``),
joined here with what needs them all: the agent staged on connect, a run's
folder, the host's facts.

Remote work goes through ``agent.py`` (standard-library Python, uploaded
content-addressed); ``docs/hosts.md`` has the whole picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MissingToolError
from ..vm import hostinfo
from .base import RunPlace
from .ssh_files import AGENT, SSHFiles
from .ssh_qemu import SSHQemu


class SSHHost(SSHQemu, SSHFiles):
    """The Host protocol (``hosts/base.py``) on a remote runner."""

    def connect(self) -> SSHHost:
        if self._connect():
            self.agent = self.stage(AGENT, what="agent")
        return self

    def fork(self) -> SSHHost:
        """Another connection to the same host, sharing the upload lock and
        hashes (no file is uploaded twice at once)."""
        h = SSHHost(f"{self.target.user}@{self.target.host}", port=self.target.port,
                    key=self.key, known_hosts=self.known_hosts,
                    workdir=self._workdir_setting, accept_new_host_key=False,
                    keepalive=self.keepalive, python=self.python)
        h._stage_lock, h._hashes, h.stats = self._stage_lock, self._hashes, self.stats
        return h.connect()

    def prepare_run(self, initrd: Path, common: int) -> RunPlace:
        base = self.stage(initrd, length=common, what="initramfs (common part)",
                          name="initramfs-common.cpio")
        with open(initrd, "rb") as f:
            f.seek(common)
            tail = f.read()
        r = self.agent_call("prepare", "--base", base, input=tail)
        return RunPlace(r["dir"], r["initrd"], int(r["port"]))

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


def _qemu_facts(q: dict[str, Any]) -> hostinfo.QemuFacts:
    return hostinfo.QemuFacts(q["binary"], bool(q["found"]), q.get("version"),
                              tuple(q.get("version_tuple") or ()), bool(q.get("knows_lam")),
                              bool(q.get("tcg_lam")))



def open_ssh_host(ssh: str, **kw: Any) -> SSHHost:
    return SSHHost(ssh, **kw).connect()
