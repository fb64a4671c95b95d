"""Debian packages as inputs: resolve a name (or glob) to the newest package
in apt's lists, read its version and checksum without downloading, and fetch
it with ``apt-get download`` (never installed)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import InfraError, MissingToolError
from ..progress import step


def _natural_key(s: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _apt(args: list[str]) -> str:
    try:
        r = subprocess.run(args, capture_output=True, text=True)
    except FileNotFoundError:
        raise MissingToolError(f"{args[0]} not found: Debian packages need a Debian host") from None
    if r.returncode != 0:
        raise InfraError(f"{' '.join(args)} failed: {r.stderr.strip()[-300:]}")
    return r.stdout


def resolve_name(pattern: str) -> str:
    """The newest package in apt's lists whose name matches ``pattern``."""
    if not any(c in pattern for c in "*?["):
        return pattern
    prefix = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    names = sorted((n for n in _apt(["apt-cache", "pkgnames", prefix]).split()
                    if fnmatch.fnmatchcase(n, pattern)), key=_natural_key)
    if not names:
        raise InfraError(f"no Debian package matches {pattern!r}: run 'apt-get update' with "
                         "bookworm-backports enabled (make setup does)")
    return names[-1]


@dataclass(frozen=True)
class PackageInfo:
    name: str
    version: str
    sha256: str


def info(name: str) -> PackageInfo:
    """Candidate version and .deb checksum, from apt's lists (no download)."""
    out = _apt(["apt-cache", "show", "--no-all-versions", name])
    fields = dict(re.findall(r"(?m)^(Version|SHA256): (\S+)$", out))
    if "Version" not in fields:
        raise InfraError(f"apt-cache show {name}: no candidate version (apt-get update?)")
    return PackageInfo(name, fields["Version"], fields.get("SHA256", ""))


def download(name: str, into: Path) -> Path:
    """``apt-get download`` into a fresh folder; returns the .deb."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    with step(f"downloading {name}"):
        r = subprocess.run(["apt-get", "download", name], cwd=into, capture_output=True,
                           text=True)
    debs = sorted(into.glob("*.deb"))
    if r.returncode != 0 or not debs:
        last = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no .deb"]
        raise InfraError(f"apt-get download {name} failed: {last[0]}")
    return debs[0]


def unpack(deb: Path, dest: Path) -> None:
    """``dpkg-deb -x`` into ``dest`` (atomically: a .tmp folder renamed)."""
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(dest, ignore_errors=True)
    with step(f"unpacking {deb.name}"):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
    tmp.rename(dest)
