"""QEMU built from Debian's source package plus a patch series (for example
``patches/qemu/tcg-lam``), for the x86_64-softmmu target only, built once and
cached like kernels: ``kernels/qemu/<key>/qemu-system-x86_64``.

The source is the package's upstream tarball (``apt-get source
--download-only``), imported into a harness-owned git tree so patches go
through ``git am --3way`` like kernel patches.  Firmware is not built: the
Debian tarball drops the binary blobs, so the built QEMU is run with
``-L`` pointing at the firmware folders of the installed qemu-system-x86."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, QemuSource
from ..errors import ConfigError, InfraError
from ..kernel import patches as kpatches
from ..kernel import source as ksource
from ..kernel.build import _locked, compiler_version
from ..progress import say, step

RECIPE = 2
# Where Debian's qemu-system-x86 keeps firmware (its own --firmwarepath).
FIRMWARE_DIRS = ("/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu")
FIRMWARE_ARGS = tuple(a for d in FIRMWARE_DIRS for a in ("-L", d))
# Offline and minimal: no fdt (meson would clone dtc), no firmware blobs (the
# Debian tarball has none); meson comes from the harness's own venv (PyPI).
CONFIGURE = ["--target-list=x86_64-softmmu", "--without-default-features", "--enable-tcg",
             "--enable-kvm", "--enable-slirp", "--disable-fdt", "--disable-install-blobs",
             "--disable-docs", "--disable-werror"]


@dataclass(frozen=True)
class BuiltQemu:
    binary: Path
    key: str
    hit: bool
    firmware_args: tuple[str, ...] = FIRMWARE_ARGS


def _showsrc(name: str) -> tuple[str, str]:
    """(version, orig tarball sha256) of the newest source package ``name``."""
    r = subprocess.run(["apt-cache", "showsrc", name], capture_output=True, text=True)
    if r.returncode != 0 or "Version:" not in r.stdout:
        raise InfraError(f"apt-cache showsrc {name}: no source package (a deb-src line for "
                         "bookworm-backports is needed; make setup adds it)")
    best: tuple[str, str] = ("", "")
    for block in r.stdout.split("\n\n"):
        v = re.search(r"(?m)^Version: (\S+)", block)
        orig = re.search(r"(?m)^ ([0-9a-f]{64}) \d+ \S+\.orig\.tar\.\w+$", block)
        if v and (not best[0] or _vkey(v.group(1)) > _vkey(best[0])):
            best = (v.group(1), orig.group(1) if orig else "")
    return best


def _vkey(v: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", v)]


def build(cfg: Config, kernels_dir: Path, spec: QemuSource | None = None,
          key_name: str = "machine.qemu") -> BuiltQemu:
    if spec is None:
        assert isinstance(cfg.machine.qemu, QemuSource)
        spec = cfg.machine.qemu
    version, orig_sha = _showsrc(spec.debian)
    identity = f"debian-src:{spec.debian}={version}:{orig_sha[:16]}"
    series = kpatches.expand_paths(cfg, spec.patches, f"{key_name}.patches")
    cc = compiler_version()
    key = hashlib.sha256(json.dumps({"recipe": RECIPE, "source": identity,
                                     "patches": kpatches.digest(series), "configure": CONFIGURE,
                                     "cc": cc}, sort_keys=True).encode()).hexdigest()
    out = kernels_dir / "qemu" / key
    binary = out / "qemu-system-x86_64"
    if binary.exists():
        return BuiltQemu(binary, key, True)
    ref = ksource.SourceRef("debian", identity, spec.debian, version=version)
    name = f"qemu-{version.split(':')[-1]}".replace("~", "_")
    repo = kernels_dir / "src" / f"{name}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"
    if not (repo / ".git" / "lam-harness-base").exists():
        dl = kernels_dir / "src" / ".download-qemu"
        shutil.rmtree(dl, ignore_errors=True)
        dl.mkdir(parents=True)
        with step(f"downloading the {spec.debian} source package"):
            r = subprocess.run(["apt-get", "source", "--download-only", spec.debian], cwd=dl,
                               capture_output=True, text=True)
        origs = sorted(dl.glob("*.orig.tar.*"))
        if not origs:
            raise InfraError(f"apt-get source {spec.debian} failed: "
                             f"{(r.stderr or r.stdout).strip()[-300:]}")
        ksource.import_tarball(ref, origs[0], repo, kernels_dir, must_have=("configure",
                                                                          "meson.build"))
        shutil.rmtree(dl, ignore_errors=True)
    src = ksource.materialize_existing(ref, repo)
    with _locked(ksource.lock_path(src)):
        with step(f"applying {len(series)} QEMU patch(es)"):
            kpatches.apply(src, series)
        bdir = kernels_dir / "qemu-build" / repo.name
        bdir.mkdir(parents=True, exist_ok=True)
        log = bdir / "build.log"
        t0 = time.monotonic()
        env = dict(os.environ, CCACHE_BASEDIR=str(repo.parent), CCACHE_NOHASHDIR="true")
        cc_arg = ["--cc=ccache gcc"] if shutil.which("ccache") else []
        _edk2_placeholders(repo)
        with open(log, "w") as lf, step("configuring QEMU (x86_64-softmmu)"):
            c = subprocess.run([str(repo / "configure"), *CONFIGURE, *cc_arg,
                                f"--python={sys.executable}"], cwd=bdir,
                               stdout=lf, stderr=subprocess.STDOUT, env=env)
        if c.returncode != 0:
            raise InfraError(f"QEMU configure failed; see {log}")
        with open(log, "a") as lf, step("building QEMU (x86_64-softmmu)"):
            c = subprocess.run(["ninja", "-j", str(os.cpu_count() or 1), "qemu-system-x86_64"],
                               cwd=bdir, stdout=lf, stderr=subprocess.STDOUT, env=env)
        if c.returncode != 0:
            errs = [ln for ln in log.read_text(errors="replace").splitlines()
                    if "error:" in ln][:10]
            raise InfraError("QEMU build failed:\n" + "\n".join(errs) + f"\nfull log: {log}")
        tmp = out.with_name(key + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shutil.copy2(bdir / "qemu-system-x86_64", tmp / "qemu-system-x86_64")
        shutil.copy2(log, tmp / "build.log")
        (tmp / "build.json").write_text(json.dumps({
            "key": key, "source": identity, "patches": [str(p.path) for p in series],
            "configure": CONFIGURE, "cc": cc, "build_s": round(time.monotonic() - t0, 1)},
            indent=2) + "\n")
        tmp.rename(out)
    say(f"QEMU built: {binary}")
    return BuiltQemu(binary, key, False)


def _edk2_placeholders(repo: Path) -> None:
    """meson wants the compressed edk2 images the Debian tarball leaves out; they
    are never built for the qemu-system-x86_64 target, so empty files do."""
    listing = (repo / "pc-bios" / "meson.build").read_text(errors="replace")
    for name in re.findall(r"'(edk2-[\w.-]+\.fd)'", listing):
        bz = repo / "pc-bios" / f"{name}.bz2"
        if not bz.exists():
            bz.write_bytes(b"")


def resolve(cfg: Config, kernels_dir: Path, setting: str | QemuSource | None = None,
            key_name: str = "machine.qemu") -> tuple[str, tuple[str, ...]]:
    """(QEMU binary, extra arguments) for ``machine.qemu`` (or another setting of
    the same forms, such as ``machine.lam_emulator``)."""
    q = cfg.machine.qemu if setting is None else setting
    if isinstance(q, QemuSource):
        b = build(cfg, kernels_dir, q, key_name)
        return str(b.binary), b.firmware_args
    if q == "system":
        return "qemu-system-x86_64", ()
    path = cfg.resolve_path(q, key_name)
    if not os.access(path, os.X_OK):
        raise ConfigError(f"{key_name}: {path} is not executable",
                          where=cfg.where(key_name))
    return str(path), ()
