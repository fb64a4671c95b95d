"""Kselftests built from the same tree, against its own uapi headers
(``make headers``), statically linked so the guest needs no libc.

``x86/lam`` compiles ``tools/testing/selftests/x86/lam.c`` into
``x86/lam_64`` (the x86 folder's naming); other ``DIR/NAME`` entries compile
``DIR/NAME.c`` into ``DIR/NAME``.

``kselftest:TARGET`` (e.g. ``kselftest:x86``) runs the kernel's own kselftest
``install`` for that target with ``CC="gcc -static"``, which yields
``kselftest/run_kselftest.sh`` with the target's tests beside it, ready for
``run_kselftest.sh -t x86:test_vsyscall_64 ...`` in the guest."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..errors import ConfigError, InfraError

CFLAGS = ["-static", "-O2", "-g", "-std=gnu99", "-pthread", "-Wall"]
LIBS = ["-lrt", "-ldl", "-lm"]


def output_name(test: str) -> str:
    d, name = test.rsplit("/", 1)
    return f"{d}/{name}_64" if d == "x86" else test


def build(repo: Path, headers: Path, tests: list[str], out: Path, log: Path) -> list[Path]:
    root = repo / "tools" / "testing" / "selftests"
    built = []
    for t in tests:
        if t.startswith("kselftest:"):
            built.append(install_collection(repo, headers, t.split(":", 1)[1], out, log))
            continue
        if "/" not in t:
            raise ConfigError(f"kernel.selftests: {t!r} must be DIR/NAME, e.g. x86/lam")
        src = root / f"{t}.c"
        if not src.exists():
            raise ConfigError(f"kernel.selftests: {t!r}: no {src.relative_to(repo)} in this tree")
        dst = out / output_name(t)
        dst.parent.mkdir(parents=True, exist_ok=True)
        extra = ["-DCAN_BUILD_64"] if t.startswith("x86/") else []
        cmd = ["gcc", *CFLAGS, *extra, "-isystem", str(headers), "-I", str(root),
               "-I", str(src.parent), "-o", str(dst), str(src), *LIBS]
        r = subprocess.run(cmd, capture_output=True, text=True)
        with open(log, "a") as f:
            f.write("$ " + " ".join(cmd) + "\n" + r.stdout + r.stderr)
        if r.returncode != 0:
            errs = [ln for ln in r.stderr.splitlines() if "error" in ln][:10]
            raise InfraError(f"selftest {t} failed to build:\n" + "\n".join(errs or
                                                                           r.stderr.splitlines()[-10:]))
        built.append(dst)
    return built


def install_collection(repo: Path, headers: Path, target: str, out: Path, log: Path) -> Path:
    """``make -C tools/testing/selftests TARGETS=target install``, static."""
    root = repo / "tools" / "testing" / "selftests"
    if not target or not (root / target / "Makefile").exists():
        raise ConfigError(f"kernel.selftests: kselftest:{target}: no "
                          f"tools/testing/selftests/{target}/Makefile in this tree")
    dest = out / "kselftest"
    build_dir = headers.parent.parent / "kselftest-build"
    cmd = ["make", "-C", str(root), f"TARGETS={target}", f"O={build_dir}",
           f"INSTALL_PATH={dest}", "CC=gcc -static", f"KHDR_INCLUDES=-isystem {headers}",
           "install"]
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0 or not (dest / "run_kselftest.sh").exists():
        raise InfraError(f"kselftest install of {target} failed (exit {r.returncode}); "
                         f"see {log}")
    return dest / "run_kselftest.sh"
