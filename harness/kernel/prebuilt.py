"""Prebuilt kernels: a bzImage path, or a Debian kernel package fetched with
``apt-get download`` and unpacked (never installed) under ``kernels/``."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import InfraError
from . import debian


@dataclass(frozen=True)
class KernelArtifacts:
    bzimage: Path
    version: str | None  # uname -r, when known
    modules_dir: Path | None  # lib/modules/<version>
    vmlinux: Path | None
    origin: str  # "image:<path>", "debian:<package>" or "build:<key>"
    selftests_dir: Path | None = None  # shipped to /opt/selftests in the guest
    build: dict[str, Any] | None = None  # build.json of a source build


def fetch_debian(package: str, kernels_dir: Path) -> KernelArtifacts:
    dest = kernels_dir / "debian" / package
    done = dest / ".unpacked"
    if not done.exists():
        dl = kernels_dir / "debian" / ".download"
        deb = debian.download(package, dl)
        debian.unpack(deb, dest)
        done.write_text(deb.name + "\n")
        shutil.rmtree(dl, ignore_errors=True)
    images = sorted((dest / "boot").glob("vmlinuz-*"))
    if not images:
        raise InfraError(f"{package} has no boot/vmlinuz-*: not a kernel image package")
    version = images[-1].name.removeprefix("vmlinuz-")
    mods = dest / "lib" / "modules" / version
    return KernelArtifacts(images[-1], version, mods if mods.is_dir() else None, None,
                           f"debian:{package}")


def resolve_debian_package(pattern: str) -> str:
    return debian.resolve_name(pattern)


def resolve(cfg: Config, kernels_dir: Path) -> KernelArtifacts:
    k = cfg.kernel
    if k.image is not None:
        image = cfg.resolve_path(k.image, "kernel.image")
        mods = cfg.resolve_path(k.modules, "kernel.modules") if k.modules else None
        vmlinux = cfg.resolve_path(k.vmlinux, "kernel.vmlinux") if k.vmlinux else None
        return KernelArtifacts(image, mods.name if mods else None, mods, vmlinux,
                               f"image:{image}")
    if k.debian is not None:
        return fetch_debian(resolve_debian_package(k.debian), kernels_dir)
    from .build import build

    b = build(cfg, kernels_dir)
    return KernelArtifacts(b.bzimage, b.kernel_release, b.modules_dir, b.vmlinux,
                           f"build:{b.key[:12]} ({b.describe()})", b.selftests_dir,
                           {**b.info, "hit": b.hit, "dir": str(b.dir)})
