"""Patch series: expand the config's list (files, or folders with a ``series``
file, else their sorted ``*.patch``), and apply them on a harness-owned git
tree with ``git am --3way`` (plain diffs: ``git apply --3way`` and a commit).
A patch that does not apply is a user error naming the patch file and the
file (and line) of the failing hunk."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import ConfigError, UserError
from .source import Source, git


@dataclass(frozen=True)
class Patch:
    path: Path
    data: bytes

    @property
    def is_mbox(self) -> bool:
        head = self.data[:4096]
        return head.startswith(b"From ") or (b"\nSubject:" in head or head.startswith(b"Subject:"))


def expand(cfg: Config) -> list[Patch]:
    return expand_paths(cfg, cfg.kernel.patches, "kernel.patches")


def expand_paths(cfg: Config, entries: list[str], what: str) -> list[Patch]:
    out: list[Patch] = []
    for i, entry in enumerate(entries):
        key = f"{what}[{i}]"
        p = cfg.resolve_path(entry, key)
        if p.is_dir():
            series = p / "series"
            if series.exists():
                names = [ln.split("#", 1)[0].strip() for ln in series.read_text().splitlines()]
                files = []
                for n in filter(None, names):
                    f = p / n.split()[0]
                    if not f.is_file():
                        raise ConfigError(f"{key}: {series} names {n!r}, which does not exist",
                                          where=cfg.where(key))
                    files.append(f)
            else:
                files = sorted(p.glob("*.patch"))
            if not files:
                raise ConfigError(f"{key}: {p} has no series file and no *.patch",
                                  where=cfg.where(key))
        else:
            files = [p]
        out.extend(Patch(f, f.read_bytes()) for f in files)
    return out


def digest(patches: list[Patch]) -> str:
    h = hashlib.sha256()
    for p in patches:
        h.update(p.path.name.encode() + b"\0" + hashlib.sha256(p.data).digest())
    return h.hexdigest()


_FAILED = [
    re.compile(r"error: patch failed: (\S+):(\d+)"),
    re.compile(r"CONFLICT \([^)]*\): Merge conflict in (\S+)"),
    re.compile(r"error: (\S+): does not exist in index"),
    re.compile(r"error: (\S+): already exists in (?:index|working directory)"),
    re.compile(r"error: (\S+): patch does not apply"),
    re.compile(r"sha1 information is lacking or useless \((\S+)\)"),
]


def _failing_hunk(output: str, patch: bytes) -> str:
    for rx in _FAILED:
        m = rx.search(output)
        if m:
            return ":".join(m.groups())
    # No hunk named (a corrupt patch, say): name the files it touches and git's words.
    files = re.findall(rb"(?m)^diff --git a/(\S+)", patch) or re.findall(rb"(?m)^--- a/(\S+)",
                                                                         patch)
    err = next((ln for ln in output.splitlines() if ln.startswith(("error:", "fatal:"))), "")
    where = ", ".join(dict.fromkeys(f.decode(errors="replace") for f in files)) or "unknown file"
    return where + (f" ({err})" if err else "")


def checkout(src: Source) -> None:
    """Reset the tree to the pristine base (only changed files are touched)."""
    git(src.repo, "am", "--abort", check=False)
    r = git(src.repo, "checkout", "-q", "-f", "--detach", src.base, check=False)
    if r.returncode != 0:
        raise UserError(f"cannot check out {src.base} in {src.repo}: {r.stderr.strip()}")
    git(src.repo, "clean", "-q", "-f", "-d", "-x")


def apply(src: Source, patches: list[Patch]) -> str:
    """Check out the base and apply the series; returns the resulting commit."""
    checkout(src)
    for p in patches:
        if p.is_mbox:
            r = git(src.repo, "am", "-q", "--3way", "--keep-cr", str(p.path), check=False)
        else:
            r = git(src.repo, "apply", "--3way", "--index", "-p1", str(p.path), check=False)
            if r.returncode == 0:
                r = git(src.repo, "commit", "-q", "--no-verify", "-m", f"apply {p.path.name}",
                        check=False)
        if r.returncode != 0:
            git(src.repo, "am", "--abort", check=False)
            # Say which hunk fails: git apply --check names file and line.
            diag = git(src.repo, "apply", "--check", "-v", str(p.path), check=False)
            out = diag.stdout + diag.stderr + r.stdout + r.stderr
            checkout(src)
            raise UserError(f"patch {p.path} does not apply to {src.ref.identity}: "
                            f"hunk failed in {_failing_hunk(out, p.data)}")
    return git(src.repo, "rev-parse", "HEAD").stdout.strip()
