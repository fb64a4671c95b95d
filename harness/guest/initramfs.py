"""The guest's initramfs, written by the harness as a newc cpio (no root).

Contents: static busybox and its applet links, dropbear with its shared
libraries (read from ``ldd``), the kernel modules the guest must load,
payload files from the config, the per-run SSH keys, ``/init`` and the
``lamh-run`` test wrapper.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import MissingToolError, UserError
from . import cpio
from .cpio import Entry
from .keys import RunKeys
from .modules import Module

READY_PREFIX = "lam-harness: ready "
# kselftest's runner.sh calls /usr/bin/timeout --foreground when it exists;
# busybox's timeout has no --foreground. Elsewhere on PATH, the runner runs
# tests directly and the harness enforces the test's timeout itself.
MOVED_APPLETS = {"usr/bin/timeout": "bin/timeout"}
_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


@dataclass
class GuestTools:
    busybox: Path
    dropbear: Path

    @staticmethod
    def find() -> GuestTools:
        found: dict[str, Path] = {}
        for name, candidates, pkg in (
            ("busybox", ["/bin/busybox", "/usr/bin/busybox"], "busybox-static"),
            ("dropbear", ["/usr/sbin/dropbear", "/usr/bin/dropbear"], "dropbear-bin"),
        ):
            path = next((Path(c) for c in candidates if Path(c).exists()), None)
            if path is None and (w := shutil.which(name)):
                path = Path(w)
            if path is None:
                raise MissingToolError(f"{name} not found: install {pkg} (make setup does)")
            found[name] = path
        return GuestTools(found["busybox"], found["dropbear"])


@dataclass
class ImageSpec:
    keys: RunKeys
    nonce: str  # printed after READY_PREFIX by /init: stale consoles never match
    modules: list[Module] = field(default_factory=list)
    payloads: list[tuple[Path, str]] = field(default_factory=list)  # host path, guest path


def shared_libs(binary: Path) -> list[Path]:
    """The dynamic loader and libraries ``binary`` needs, by ``ldd``."""
    try:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise MissingToolError("ldd not found (package libc-bin)") from None
    if "not a dynamic executable" in out or "statically linked" in out:
        return []
    return [Path(m.group(1)) for line in out.splitlines() if (m := _LDD_PATH.search(line))]


def _busybox_applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True,
                         check=True).stdout
    return [a for a in out.split() if a]


class _Tree:
    """Entries in order, creating parent directories on the way."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.dirs: set[str] = set()
        self.names: set[str] = set()

    def mkdir(self, path: str, perm: int = 0o755) -> None:
        path = path.strip("/")
        if not path or path in self.dirs:
            return
        self.mkdir(path.rsplit("/", 1)[0] if "/" in path else "")
        self.dirs.add(path)
        self.entries.append(Entry.dir(path, perm))

    def add(self, e: Entry) -> None:
        if e.path in self.names:
            return
        parent = e.path.rsplit("/", 1)[0] if "/" in e.path else ""
        self.mkdir(parent)
        self.names.add(e.path)
        self.entries.append(e)

    def file(self, path: str, data: bytes, perm: int = 0o644) -> None:
        self.add(Entry.file(path, data, perm))

    def host_file(self, guest_path: str, host_path: Path, perm: int | None = None) -> None:
        st = host_path.stat()
        self.file(guest_path, host_path.read_bytes(), perm if perm is not None else
                  stat.S_IMODE(st.st_mode))

    def host_tree(self, guest_path: str, host_path: Path) -> None:
        if host_path.is_dir():
            self.mkdir(guest_path)
            for child in sorted(host_path.iterdir()):
                self.host_tree(f"{guest_path.rstrip('/')}/{child.name}", child)
        elif host_path.is_symlink():
            self.add(Entry.symlink(guest_path, str(host_path.readlink())))
        else:
            self.host_file(guest_path, host_path)


def _script(name: str) -> bytes:
    return resources.files("harness.guest").joinpath("files", name).read_bytes()


def build(spec: ImageSpec, out: Path, tools: GuestTools | None = None) -> int:
    """Write the initramfs to ``out``; returns its size in bytes."""
    return build_split(spec, out, tools)[1]


def build_split(spec: ImageSpec, out: Path,
                tools: GuestTools | None = None) -> tuple[int, int]:
    """Write the initramfs to ``out`` as two concatenated newc archives (the
    kernel unpacks them in turn): first everything that does not change from
    run to run, then the per-run part (nonce and keys, a few KB).  Returns
    (size of the first archive, total size): a remote host keeps the first
    part content-addressed and only receives the second one per run."""
    tools = tools or GuestTools.find()
    t = _Tree()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "run",
              "var/log", "lib/modules", "opt"):
        t.mkdir(d)
    t.mkdir("root", 0o700)
    t.mkdir("root/.ssh", 0o700)
    t.host_file("bin/busybox", tools.busybox, 0o755)
    for applet in _busybox_applets(tools.busybox):
        applet = MOVED_APPLETS.get(applet.strip("/"), applet.strip("/"))
        if applet != "bin/busybox":
            t.add(Entry.symlink(applet, "/bin/busybox"))
    t.host_file("usr/sbin/dropbear", tools.dropbear, 0o755)
    for lib in shared_libs(tools.dropbear):
        t.host_file(str(lib), lib.resolve(), 0o755)
    t.file("init", _script("init"), 0o755)
    t.file("usr/bin/lamh-run", _script("lamh-run"), 0o755)
    t.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    t.file("etc/group", b"root:x:0:\ntty:x:5:\n")
    t.file("etc/shells", b"/bin/sh\n")
    t.file("etc/nsswitch.conf", b"passwd: files\ngroup: files\nhosts: files\n")
    t.file("etc/hosts", b"127.0.0.1 localhost lam-guest\n")
    t.file("etc/profile", b"export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='lam-guest# '\n")
    t.file("etc/lam-harness/modules", "".join(f"{m.name}\n" for m in spec.modules).encode())
    for m in spec.modules:
        t.file(f"lib/modules/{m.name}.ko", m.data)
    for host_path, guest_path in spec.payloads:
        if not guest_path.startswith("/"):
            raise UserError(f"payload destination {guest_path!r} must be absolute")
        t.host_tree(guest_path, host_path)
    t.mkdir("etc/dropbear")
    # The per-run part: its directories already exist in the first archive.
    per_run = [Entry.file("etc/lam-harness/nonce", spec.nonce.encode() + b"\n"),
               Entry.file("root/.ssh/authorized_keys", spec.keys.client_pub.encode() + b"\n",
                          0o600),
               Entry.file("etc/dropbear/host_key", spec.keys.host_key_dropbear.read_bytes(),
                          0o600)]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    # 0600: the per-run part holds the guest's private host key.
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        common = cpio.write(f, t.entries)
        size = common + cpio.write(f, per_run, first_ino=len(t.entries) + 2)
    tmp.replace(out)
    return common, size
