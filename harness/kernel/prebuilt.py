"""Prebuilt kernels: a bzImage path, or a Debian kernel package fetched with
``apt-get download`` and unpacked (never installed) under ``kernels/``."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import ConfigError, InfraError, MissingToolError
from ..progress import step


@dataclass(frozen=True)
class KernelArtifacts:
    bzimage: Path
    version: str | None  # uname -r, when known
    modules_dir: Path | None  # lib/modules/<version>
    vmlinux: Path | None
    origin: str  # "image:<path>" or "debian:<package>"


def _natural_key(s: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def resolve_debian_package(pattern: str) -> str:
    """The newest package in apt's lists whose name matches ``pattern``."""
    if not any(c in pattern for c in "*?["):
        return pattern
    prefix = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    try:
        out = subprocess.run(["apt-cache", "pkgnames", prefix], capture_output=True, text=True,
                             check=True).stdout
    except FileNotFoundError:
        raise MissingToolError("apt-cache not found: kernel.debian needs a Debian host") from None
    except subprocess.CalledProcessError as e:
        raise InfraError(f"apt-cache pkgnames {prefix} failed: {e.stderr.strip()}") from None
    names = sorted((n for n in out.split() if fnmatch.fnmatchcase(n, pattern)), key=_natural_key)
    if not names:
        raise InfraError(f"no Debian package matches {pattern!r}: run 'apt-get update' with "
                         "bookworm-backports enabled (make setup does)")
    return names[-1]


def fetch_debian(package: str, kernels_dir: Path) -> KernelArtifacts:
    dest = kernels_dir / "debian" / package
    done = dest / ".unpacked"
    if not done.exists():
        dl = kernels_dir / "debian" / ".download"
        shutil.rmtree(dl, ignore_errors=True)
        dl.mkdir(parents=True)
        with step(f"downloading {package}"):
            r = subprocess.run(["apt-get", "download", package], cwd=dl, capture_output=True,
                               text=True)
        debs = list(dl.glob("*.deb"))
        if r.returncode != 0 or not debs:
            raise InfraError(f"apt-get download {package} failed: "
                             f"{(r.stderr or r.stdout).strip().splitlines()[-1:]}")
        shutil.rmtree(dest, ignore_errors=True)
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        with step(f"unpacking {debs[0].name}"):
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(tmp)], check=True)
        tmp.rename(dest)
        done.write_text(debs[0].name + "\n")
        shutil.rmtree(dl, ignore_errors=True)
    images = sorted((dest / "boot").glob("vmlinuz-*"))
    if not images:
        raise InfraError(f"{package} has no boot/vmlinuz-*: not a kernel image package")
    version = images[-1].name.removeprefix("vmlinuz-")
    mods = dest / "lib" / "modules" / version
    return KernelArtifacts(images[-1], version, mods if mods.is_dir() else None, None,
                           f"debian:{package}")


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
    raise ConfigError("kernel.source: building kernels from source is not implemented yet",
                      where=cfg.where("kernel.source"))
