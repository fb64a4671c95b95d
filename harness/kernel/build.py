"""Build a kernel from source, never twice.

Inputs -> (source tree, patches applied) -> .config (base + fragments, merged
by the kernel's own merge_config.sh + olddefconfig, then verified) -> make
(out of tree, -j cores, ccache) -> artifacts in ``kernels/cache/<key>/``.

The key hashes the source identity, the patch bytes, the final .config, the
compiler version, the make arguments and the selftests list.  A cheaper
*input key* (the same, with the base and fragment bytes instead of the final
.config) indexes finished builds, so an unchanged rerun touches no tree and
runs no make at all.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..config import Config, KconfigSpec
from ..errors import ConfigError, InfraError, MissingToolError
from ..procs import kill_group, pdeathsig
from ..progress import say, step
from . import kconfig, patches, selftests, source

RECIPE = 3  # bump when the build recipe changes what a key produces
KCONFIG_TARGETS = {"tinyconfig", "defconfig", "allnoconfig", "x86_64_defconfig", "kvm_guest.config"}
ARCH = "x86_64"


class BuildError(InfraError):
    """make failed: the message carries the compiler's error lines."""


@dataclass
class BuildResult:
    key: str
    dir: Path  # kernels/cache/<key>
    hit: bool  # True: no make ran
    bzimage: Path
    vmlinux: Path | None
    system_map: Path | None
    config: Path
    modules_dir: Path | None
    selftests_dir: Path | None
    kernel_release: str | None
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return str(self.info.get("label", self.key[:12]))


@cache
def compiler_version(cc: str = "gcc") -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise MissingToolError(f"{cc} not found: install gcc (make setup does)") from None
    first: str = out.splitlines()[0] if out else cc
    return first


def make_args(jobs: int | None = None) -> list[str]:
    cc = "ccache gcc" if shutil.which("ccache") else "gcc"
    return [f"ARCH={ARCH}", f"CC={cc}", "KBUILD_BUILD_USER=lam-harness",
            "KBUILD_BUILD_HOST=lam-harness"]


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another build holding {path}")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _kconfig_inputs(cfg: Config) -> tuple[KconfigSpec, dict[str, Any], list[Path]]:
    spec = cfg.kernel.config or KconfigSpec(base="tinyconfig",
                                            fragments=["configs/kconfig/lam-guest.config"])
    if spec.base in KCONFIG_TARGETS:
        base: dict[str, Any] = {"target": spec.base}
    else:
        bp = cfg.resolve_path(spec.base, "kernel.config.base")
        base = {"file": hashlib.sha256(bp.read_bytes()).hexdigest()}
    frags = [cfg.resolve_path(f, f"kernel.config.fragments[{i}]")
             for i, f in enumerate(spec.fragments)]
    base["fragments"] = [hashlib.sha256(f.read_bytes()).hexdigest() for f in frags]
    return spec, base, frags


def cache_root(kernels_dir: Path) -> Path:
    return kernels_dir / "cache"


def _load(dir: Path) -> BuildResult | None:
    meta = dir / "build.json"
    if not meta.exists():
        return None
    info = json.loads(meta.read_text())
    def opt(name: str) -> Path | None:
        return dir / name if (dir / name).exists() else None
    mods = None
    rel = info.get("kernel_release")
    if rel and (dir / "modules" / "lib" / "modules" / rel).is_dir():
        mods = dir / "modules" / "lib" / "modules" / rel
    return BuildResult(info["key"], dir, True, dir / "bzImage", opt("vmlinux"),
                       opt("System.map"), dir / "config", mods, opt("selftests"), rel, info)


def build(cfg: Config, kernels_dir: Path, jobs: int | None = None) -> BuildResult:
    """Build (or find in the cache) the kernel of ``cfg.kernel.source``."""
    t0 = time.monotonic()
    ref = source.identify(cfg)
    series = patches.expand(cfg)
    spec, kinputs, frag_paths = _kconfig_inputs(cfg)
    cc = compiler_version()
    margs = make_args()
    tests = list(cfg.kernel.selftests)
    input_key = _hash({"recipe": RECIPE, "source": ref.identity, "patches": patches.digest(series),
                       "kconfig": kinputs, "cc": cc, "make": margs, "selftests": tests})
    croot = cache_root(kernels_dir)
    idx = croot / "index" / input_key
    if idx.exists():
        hit = _load(croot / idx.read_text().strip())
        if hit is not None:
            hit.info["lookup_s"] = round(time.monotonic() - t0, 3)
            return hit
    src = source.materialize(ref, kernels_dir)
    with _locked(source.lock_path(src)):
        with step(f"applying {len(series)} patch(es) on {ref.identity}"):
            head = patches.apply(src, series)
        bdir = kernels_dir / "build" / src.repo.name
        bdir.mkdir(parents=True, exist_ok=True)
        log = bdir / "build.log"
        log.write_text("")
        timings: dict[str, float] = {}
        t = time.monotonic()
        with step("configuring (base + fragments, olddefconfig, verify)"):
            final = configure(src.repo, bdir, spec, frag_paths, margs, log)
        timings["kconfig_s"] = round(time.monotonic() - t, 2)
        key = _hash({"recipe": RECIPE, "source": ref.identity,
                     "patches": patches.digest(series), "config": final, "cc": cc,
                     "make": margs, "selftests": tests})
        out = croot / key
        if _load(out) is not None:
            idx.parent.mkdir(parents=True, exist_ok=True)
            idx.write_text(key + "\n")
            hit = _load(out)
            assert hit is not None
            return hit
        ccache_before = _ccache_stats()
        t = time.monotonic()
        values = kconfig.parse_config(final)
        targets = ["bzImage"] + (["modules"] if values.get("MODULES") == "y" else [])
        _make(src.repo, bdir, margs + targets, log, jobs, "building kernel")
        timings["make_s"] = round(time.monotonic() - t, 2)
        tmp = croot / (key + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if values.get("MODULES") == "y":
            _make(src.repo, bdir, margs + ["modules_install", f"INSTALL_MOD_PATH={tmp/'modules'}",
                                           "INSTALL_MOD_STRIP=1"], log, jobs, "installing modules")
        if tests:
            t = time.monotonic()
            with step(f"building selftests {', '.join(tests)}"):
                _make(src.repo, bdir, margs + ["headers"], log, jobs, None)
                selftests.build(src.repo, bdir / "usr" / "include", tests, tmp / "selftests", log)
            timings["selftests_s"] = round(time.monotonic() - t, 2)
        for name, dst in (("arch/x86/boot/bzImage", "bzImage"), ("vmlinux", "vmlinux"),
                          ("System.map", "System.map"), (".config", "config")):
            if (bdir / name).exists():
                shutil.copy2(bdir / name, tmp / dst)
        release = (bdir / "include" / "config" / "kernel.release")
        rel = release.read_text().strip() if release.exists() else None
        shutil.copy2(log, tmp / "build.log")
        info = {
            "key": key, "input_key": input_key, "recipe": RECIPE, "source": ref.identity,
            "tree": str(src.repo), "head": head, "patches": [str(p.path) for p in series],
            "patches_sha256": patches.digest(series), "config_base": spec.base,
            "fragments": [str(f) for f in frag_paths], "cc": cc, "make_args": margs,
            "jobs": jobs or os.cpu_count(), "selftests": tests, "kernel_release": rel,
            "timings": timings, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "ccache": _ccache_delta(ccache_before, _ccache_stats()),
            "label": f"{ref.identity.split('=')[0]} + {len(series)} patch(es)",
        }
        (tmp / "build.json").write_text(json.dumps(info, indent=2) + "\n")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        idx.parent.mkdir(parents=True, exist_ok=True)
        idx.write_text(key + "\n")
    res = _load(out)
    assert res is not None
    res.hit = False
    return res


def configure(repo: Path, bdir: Path, spec: KconfigSpec, frags: list[Path], margs: list[str],
              log: Path) -> str:
    """Write ``bdir/.config`` from base + fragments and verify it; returns it."""
    cfgfile = bdir / ".config"
    if spec.base in KCONFIG_TARGETS:
        cfgfile.unlink(missing_ok=True)
        _make(repo, bdir, margs + [spec.base], log, 1, None)
    else:
        shutil.copy2(spec.base, cfgfile)
    if frags:
        merge = repo / "scripts" / "kconfig" / "merge_config.sh"
        r = subprocess.run([str(merge), "-m", "-O", str(bdir), str(cfgfile), *map(str, frags)],
                           cwd=repo, capture_output=True, text=True)
        with open(log, "a") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0:
            raise InfraError(f"merge_config.sh failed: {r.stderr.strip()[-400:]}")
    _make(repo, bdir, margs + ["olddefconfig"], log, 1, None)
    final = cfgfile.read_text()
    requested = [s for f in frags for s in kconfig.parse_fragment(f.read_text(), str(f))]
    values = kconfig.parse_config(final)
    wrong = [s for s in requested if kconfig._norm(values.get(s.symbol, "n"))
             != kconfig._norm(s.value)]
    if wrong:
        defs = kconfig.index_tree(repo, {s.symbol for s in wrong})
        dropped = kconfig.verify(requested, values, defs)
        if dropped:
            raise ConfigError(f"{len(dropped)} requested kconfig option(s) did not survive "
                              "olddefconfig:\n  " + "\n  ".join(map(str, dropped)),
                              where=str(dropped[0].setting.file) + f":{dropped[0].setting.line}")
    return final


_STEP = re.compile(rb"^\s+(CC|AS|LD|AR|HOSTCC|HOSTLD|OBJCOPY|GEN|CHK|UPD|SYNC|BTF|VDSO|"
                   rb"MODPOST|KSYMS|SORTTAB|INSTALL|HDRINST|CALL|WRAP|POLICY|RELOCS|ZSTD|"
                   rb"GZIP|XZ|MKPIGGY|CPUSTR|DESCEND)\b")
def _make(repo: Path, bdir: Path, args: list[str], log: Path, jobs: int | None,
          what: str | None) -> None:
    n = jobs or os.cpu_count() or 1
    env = dict(os.environ)
    env.setdefault("CCACHE_BASEDIR", str(repo.parent))
    env.setdefault("CCACHE_NOHASHDIR", "true")
    # ccache's base_dir turns absolute paths into paths relative to the build
    # folder, which the kernel's own -fmacro-prefix-map=$(srctree)/ no longer
    # strips: map the relative form too, so BUG reports say "arch/x86/...".
    rel = os.path.relpath(repo, bdir)
    cmd = ["make", "-C", str(repo), f"O={bdir}", f"-j{n}", *args,
           f"KCPPFLAGS=-ffile-prefix-map={rel}/="]
    steps_file = bdir / ".lam-harness-steps"
    try:
        expected = int(steps_file.read_text()) if what and steps_file.exists() else 0
    except ValueError:
        expected = 0
    t0 = last = time.monotonic()
    steps = 0
    every = 5.0 if sys.stderr.isatty() else 20.0
    with open(log, "ab", buffering=0) as lf:
        lf.write(("$ " + " ".join(cmd) + "\n").encode())
        try:
            # make and every compiler it starts in a group of their own: an
            # interrupted build stops the whole tree, not only the top make.
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True, preexec_fn=pdeathsig)
        except FileNotFoundError:
            raise MissingToolError("make not found: install make (make setup does)") from None
        assert p.stdout is not None
        try:
            for line in p.stdout:
                lf.write(line)
                if _STEP.match(line):
                    steps += 1
                if what and time.monotonic() - last > every:
                    last = time.monotonic()
                    pct = f" ~{min(99, 100 * steps // expected)}%" if expected else ""
                    say(f"{what}: {steps} steps{pct}, {last - t0:.0f}s")
            rc = p.wait()
        except BaseException:
            kill_group(p)
            raise
    if rc != 0:
        errors = _error_lines(log)
        raise BuildError(f"make {' '.join(a for a in args if '=' not in a)} failed "
                         f"(exit {rc}):\n" + "\n".join(errors) + f"\nfull log: {log}")
    if what and steps:
        steps_file.write_text(str(steps))


def _error_lines(log: Path, limit: int = 40) -> list[str]:
    """The compiler's own error lines (with their context), not make's noise."""
    lines = log.read_text(errors="replace").splitlines()[-5000:]
    out: list[str] = []
    for i, line in enumerate(lines):
        if re.search(r": (?:fatal )?error: |undefined reference to|: error:", line):
            out.extend(lines[i:i + 4])
    if not out:
        out = [ln for ln in lines if ln.startswith("make") and "***" in ln][-5:] or lines[-10:]
    dedup = list(dict.fromkeys(out))
    return dedup[:limit]


def _ccache_stats() -> dict[str, int]:
    if not shutil.which("ccache"):
        return {}
    r = subprocess.run(["ccache", "--print-stats"], capture_output=True, text=True)
    stats = {}
    for line in r.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1].isdigit():
            stats[parts[0]] = int(parts[1])
    return stats


def _ccache_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    keys = ("direct_cache_hit", "preprocessed_cache_hit", "cache_miss")
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if k in after}
