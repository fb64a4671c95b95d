"""Kernel modules the guest must load at boot, with their dependencies.

Debian's kernels ship drivers such as virtio_net as compressed modules
(``.ko.xz``) and no ``modules.dep`` (depmod runs at install time, and we never
install).  Dependencies are read from each module's ``.modinfo`` section and
modules are decompressed on the host, since busybox ``insmod`` cannot.
"""

from __future__ import annotations

import gzip
import lzma
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InfraError

_DEPENDS = re.compile(rb"(?:^|\x00)depends=([^\x00]*)\x00")
_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


@dataclass(frozen=True)
class Module:
    name: str  # canonical: dashes become underscores
    data: bytes  # uncompressed .ko


def canonical(name: str) -> str:
    return name.replace("-", "_")


def _strip_suffix(filename: str) -> str:
    for s in sorted(_SUFFIXES, key=len, reverse=True):
        if filename.endswith(s):
            return filename[: -len(s)]
    return filename


def index(modules_dir: Path) -> tuple[dict[str, Path], set[str]]:
    """Module files by canonical name, and the names built into the kernel."""
    files: dict[str, Path] = {}
    for p in (modules_dir / "kernel").rglob("*.ko*") if (modules_dir / "kernel").is_dir() else []:
        if p.name.endswith(_SUFFIXES):
            files[canonical(_strip_suffix(p.name))] = p
    for extra in ("updates", "extra"):
        for p in (modules_dir / extra).rglob("*.ko*") if (modules_dir / extra).is_dir() else []:
            files[canonical(_strip_suffix(p.name))] = p
    builtin: set[str] = set()
    bfile = modules_dir / "modules.builtin"
    if bfile.exists():
        for line in bfile.read_text().split():
            builtin.add(canonical(_strip_suffix(line.rsplit("/", 1)[-1])))
    return files, builtin


def decompress(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(raw)
    if path.name.endswith(".gz"):
        return gzip.decompress(raw)
    if path.name.endswith(".zst"):
        import subprocess

        return subprocess.run(["zstd", "-dc", str(path)], capture_output=True,
                              check=True).stdout
    return raw


def depends(ko: bytes) -> list[str]:
    m = _DEPENDS.search(ko)
    if not m or not m.group(1):
        return []
    return [canonical(d) for d in m.group(1).decode().split(",") if d]


def closure(modules_dir: Path | None, wanted: list[str]) -> list[Module]:
    """Modules to load, dependencies first; built-in or absent-but-builtin
    names are skipped. A wanted module that is neither is an error."""
    if modules_dir is None:
        return []
    files, builtin = index(modules_dir)
    order: list[Module] = []
    done: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        name = canonical(name)
        if name in done or name in builtin:
            return
        if name in chain:
            raise InfraError(f"module dependency cycle: {' -> '.join(chain + (name,))}")
        if name not in files:
            raise InfraError(f"kernel module {name!r} is neither built in nor in {modules_dir}")
        data = decompress(files[name])
        for dep in depends(data):
            visit(dep, chain + (name,))
        done.add(name)
        order.append(Module(name, data))

    for w in wanted:
        visit(w, ())
    return order
