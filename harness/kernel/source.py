"""Kernel sources as harness-owned git trees.

Every source becomes a git repository under ``kernels/`` that the harness owns,
so patches always go through ``git am --3way`` and bisect/validate reuse the
same machinery:
- ``git: PATH, ref: REV``: a ``--shared --no-checkout`` clone of the user's
  repository (objects are read through alternates; the user's checkout, index
  and branches are never touched), checked out detached at the ref's commit.
- ``tarball: PATH``: unpacked once and imported as one commit.
- ``debian: linux-source-6.12``: ``apt-get download``, the tarball inside the
  .deb unpacked once and imported as one commit.
The *identity* of a source (commit id, tarball checksum, package version and
checksum) is cheap to compute and goes into the build cache key.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import ConfigError, InfraError, UserError
from ..progress import step
from . import debian

GIT_ID = ["-c", "user.name=lam-harness", "-c", "user.email=lam-harness@localhost",
          "-c", "advice.detachedHead=false", "-c", "gc.auto=0"]


@dataclass(frozen=True)
class SourceRef:
    """What to build, identified without touching any tree."""

    kind: str  # git | tarball | debian
    identity: str  # goes into cache keys
    location: str  # user repo path, tarball path or package name
    commit: str | None = None  # for git
    version: str | None = None  # for debian


@dataclass(frozen=True)
class Source:
    ref: SourceRef
    repo: Path  # harness-owned git repository with a working tree
    base: str  # commit to apply patches on


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(["git", *GIT_ID, "-C", str(repo), *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise InfraError(f"git {' '.join(args[:3])} in {repo} failed: "
                         f"{r.stderr.strip()[-300:]}")
    return r


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def identify(cfg: Config) -> SourceRef:
    src = cfg.kernel.source
    assert src is not None
    if src.git is not None:
        repo = cfg.resolve_path(src.git, "kernel.source.git")
        ref = src.ref or "HEAD"
        r = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                            f"{ref}^{{commit}}"], capture_output=True, text=True)
        if r.returncode != 0:
            raise ConfigError(f"kernel.source.ref: {ref!r} is not a commit in {repo}",
                              where=cfg.where("kernel.source.ref" if src.ref else
                                              "kernel.source.git"))
        sha = r.stdout.strip()
        return SourceRef("git", f"git:{sha}", str(repo), commit=sha)
    if src.tarball is not None:
        path = cfg.resolve_path(src.tarball, "kernel.source.tarball")
        return SourceRef("tarball", f"tarball:{_sha256(path)}", str(path))
    assert src.debian is not None
    name = debian.resolve_name(src.debian)
    pi = debian.info(name)
    return SourceRef("debian", f"debian:{name}={pi.version}:{pi.sha256[:16]}", name,
                     version=pi.version)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", text)[:60]


def import_tarball(ref: SourceRef, tarball: Path, repo: Path, kernels_dir: Path,
                   must_have: tuple[str, ...]) -> Source:
    """A tarball unpacked once and imported into a harness-owned git tree."""
    stamp = repo / ".git" / "lam-harness-base"
    if not stamp.exists():
        _import_tree(ref, repo, kernels_dir, tarball=tarball, must_have=must_have)
    return Source(ref, repo, stamp.read_text().strip())


def materialize_existing(ref: SourceRef, repo: Path) -> Source:
    return Source(ref, repo, (repo / ".git" / "lam-harness-base").read_text().strip())


def materialize(ref: SourceRef, kernels_dir: Path) -> Source:
    """The harness-owned tree for ``ref`` (created on first use)."""
    if ref.kind == "git":
        assert ref.commit is not None
        user = Path(ref.location)
        digest = hashlib.sha256(str(user.resolve()).encode()).hexdigest()[:10]
        repo = kernels_dir / "git" / f"{_slug(user.name)}-{digest}"
        if not (repo / ".git").exists():
            repo.parent.mkdir(parents=True, exist_ok=True)
            with step(f"cloning {user} (shared, no checkout)"):
                r = subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout",
                                    str(user), str(repo)], capture_output=True, text=True)
            if r.returncode != 0:
                raise InfraError(f"git clone --shared {user} failed: {r.stderr.strip()}")
        if git(repo, "cat-file", "-e", f"{ref.commit}^{{commit}}", check=False).returncode:
            git(repo, "fetch", "-q", str(user), ref.commit)
        return Source(ref, repo, ref.commit)
    digest = hashlib.sha256(ref.identity.encode()).hexdigest()[:12]
    name = _slug(ref.location if ref.kind == "debian" else Path(ref.location).name)
    repo = kernels_dir / "src" / f"{name}-{ref.version or ''}-{digest}".replace("--", "-")
    stamp = repo / ".git" / "lam-harness-base"
    if not stamp.exists():
        _import_tree(ref, repo, kernels_dir)
    return Source(ref, repo, stamp.read_text().strip())


def _import_tree(ref: SourceRef, repo: Path, kernels_dir: Path,
                 tarball: Path | None = None, must_have: tuple[str, ...] = ("Makefile",
                                                                             "Kconfig")) -> None:
    work = repo.with_name(repo.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(repo, ignore_errors=True)
    work.mkdir(parents=True)
    if tarball is not None:
        pkg, dl = None, None
    elif ref.kind == "debian":
        dl = kernels_dir / "src" / ".download"
        deb = debian.download(ref.location, dl)
        pkg = work / "pkg"
        debian.unpack(deb, pkg)
        tarballs = sorted(pkg.glob("usr/src/linux-source-*.tar.*"))
        if not tarballs:
            raise InfraError(f"{ref.location}: no usr/src/linux-source-*.tar.* inside")
        tarball = tarballs[0]
    else:
        tarball, pkg, dl = Path(ref.location), None, None
    tree = work / "tree"
    with step(f"unpacking {tarball.name}"):
        _untar(tarball, tree)
    if pkg is not None:
        shutil.rmtree(pkg)
    if dl is not None:
        shutil.rmtree(dl, ignore_errors=True)
    if not all((tree / f).exists() for f in must_have):
        raise UserError(f"{ref.location}: not the expected source tree (no "
                        f"{'/'.join(must_have)})")
    with step("importing the tree into git (once per source)"):
        git(tree, "init", "-q")
        # Debian's linux-source ignores everything ("/*" in .gitignore): -f.
        git(tree, "add", "-A", "-f")
        git(tree, "commit", "-q", "--no-verify", "-m", f"pristine {ref.identity}")
    base = git(tree, "rev-parse", "HEAD").stdout.strip()
    (tree / ".git" / "lam-harness-base").write_text(base + "\n")
    tree.rename(repo)
    shutil.rmtree(work)


def _untar(tarball: Path, dest: Path) -> None:
    """Extract to ``dest``, dropping the single top-level folder tarballs have."""
    raw = dest.with_name(dest.name + ".raw")
    raw.mkdir(parents=True)
    # --no-same-owner: as root, tar would keep the tarball's uids, and git then
    # refuses the tree ("dubious ownership").
    r = subprocess.run(["tar", "--no-same-owner", "-xf", str(tarball), "-C", str(raw)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise InfraError(f"tar -xf {tarball} failed: {r.stderr.strip()[-300:]}")
    entries = list(raw.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        entries[0].rename(dest)
        raw.rmdir()
    else:
        raw.rename(dest)


def lock_path(src: Source) -> Path:
    return src.repo.parent / f".{src.repo.name}.lock"


__all__ = ["SourceRef", "Source", "identify", "materialize", "git", "lock_path"]
