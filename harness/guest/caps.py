"""The in-guest half of the LAM capability chain: ``lamh-caps`` (a static C
helper compiled once on the host, shipped in the initramfs) reads the vCPU's
CPUID LAM bit and ``arch_prctl(ARCH_GET_MAX_TAG_BITS)``; the parser is pure."""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import MissingToolError

GUEST_PATH = "/usr/bin/lamh-caps"


@dataclass(frozen=True)
class GuestLam:
    cpuid_lam: bool
    max_tag_bits: int
    prctl_errno: int
    # in a child with LAM_U57 enabled (only when max_tag_bits > 0):
    untag_mask: str | None = None  # /proc/self/status "untag_mask:", e.g. 0x81ffffffffffffff
    tagged_access: bool | None = None  # a load through a pointer with bits 62:57 set worked

    @property
    def available(self) -> bool:
        return self.cpuid_lam and self.max_tag_bits > 0

    def reasons(self) -> list[str]:
        out = []
        if not self.cpuid_lam:
            out.append("guest vCPU has no LAM (CPUID.(EAX=7,ECX=1):EAX[26] = 0 in the guest)")
        if self.max_tag_bits <= 0:
            if self.prctl_errno:
                why = f"arch_prctl failed, errno {self.prctl_errno}"
            elif not self.cpuid_lam:
                why = "as it must be without LAM in the vCPU"
            else:
                why = "the guest kernel does not enable LAM (CONFIG_ADDRESS_MASKING off?)"
            out.append(f"ARCH_GET_MAX_TAG_BITS = {self.max_tag_bits}: {why}")
        if out:
            return out
        ok = [f"guest: CPUID LAM bit set and ARCH_GET_MAX_TAG_BITS = {self.max_tag_bits}"]
        if self.untag_mask is not None:
            ok.append(f"with LAM_U57 on, untag_mask {self.untag_mask}")
        if self.tagged_access is False:
            ok.append("but a load through a tagged pointer FAILED: LAM is advertised and "
                      "broken; LAM tests run and will say so")
        elif self.tagged_access:
            ok.append("a load through a tagged pointer works")
        return ok


def parse(output: str) -> GuestLam | None:
    vals: dict[str, int] = {}
    mask: str | None = None
    for line in output.splitlines():
        k, sep, v = line.strip().partition("=")
        if sep and k == "untag_mask":
            mask = v.strip()
        elif sep and re.fullmatch(r"-?[0-9]{1,18}", v.strip()):
            # ASCII digits only: str.isdigit() takes "²", which int() refuses.
            vals[k] = int(v)
    if not {"cpuid_lam", "max_tag_bits"} <= vals.keys():
        return None
    access = vals["tagged_access"] == 1 if "tagged_access" in vals else None
    return GuestLam(vals["cpuid_lam"] == 1, vals["max_tag_bits"], vals.get("prctl_errno", 0),
                    mask, access)


def binary(cache_dir: Path) -> Path:
    """The compiled helper, built once per source text and compiler."""
    src = resources.files("harness.guest").joinpath("files", "lamh-caps.c").read_bytes()
    try:
        cc = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise MissingToolError("gcc not found: needed for the guest's lamh-caps helper "
                               "(make setup installs it)") from None
    key = hashlib.sha256(src + cc.encode()).hexdigest()[:16]
    out = cache_dir / f"lamh-caps-{key}"
    if not out.exists():
        # Two guests of one run (or two runs) may build it at once: each in
        # files of its own, the first rename wins, both get the same binary.
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".lamh-caps-") as work:
            c = Path(work) / "lamh-caps.c"
            c.write_bytes(src)
            tmp = Path(work) / "lamh-caps"
            r = subprocess.run(["gcc", "-static", "-O2", "-o", str(tmp), str(c)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise MissingToolError(f"cannot build lamh-caps (static glibc needed: "
                                       f"libc6-dev): {r.stderr.strip()[-300:]}")
            tmp.replace(out)
    return out
