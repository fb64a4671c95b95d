"""What this host can do for a guest: KVM (real or not), CPU LAM, QEMU.

Reads /sys, /proc and the CPUID instruction; runs ``qemu -version`` and
``-cpu help``.  The accel decision itself is a pure function of these facts.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import platform
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..errors import MissingToolError

LAM_CPUID_LEAF, LAM_CPUID_SUBLEAF, LAM_EAX_BIT = 7, 1, 26

# push rbx; mov eax,edi; mov ecx,esi; mov r8,rdx; cpuid;
# mov [r8],eax; mov [r8+4],ebx; mov [r8+8],ecx; mov [r8+12],edx; pop rbx; ret
_CPUID_CODE = bytes.fromhex("5389f889f14989d00fa2418900418958044189480841895" "00c5bc3")


def cpuid(leaf: int, subleaf: int = 0) -> tuple[int, int, int, int] | None:
    """Execute CPUID on this CPU (x86-64 only); None where it cannot run."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except (OSError, ValueError):
        return None
    try:
        buf.write(_CPUID_CODE)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        fn = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32,
                              ctypes.POINTER(ctypes.c_uint32))(addr)
        out = (ctypes.c_uint32 * 4)()
        fn(leaf, subleaf, out)
        result = (out[0], out[1], out[2], out[3])
        del fn
        return result
    finally:
        try:
            buf.close()
        except BufferError:  # a ctypes view still alive; the page is freed at exit
            pass


@dataclass
class KvmFacts:
    dev_present: bool
    dev_usable: bool  # open(O_RDWR) works for us
    modules: list[str]  # kvm-related modules loaded: kvm_intel, kvm_amd, kvm_pvm...

    @property
    def real(self) -> bool:
        return any(m in self.modules for m in ("kvm_intel", "kvm_amd"))

    @property
    def flavour(self) -> str:
        for m in ("kvm_intel", "kvm_amd"):
            if m in self.modules:
                return m
        others = [m for m in self.modules if m != "kvm"]
        return others[0] if others else ("kvm" if self.dev_present else "none")


@dataclass
class QemuFacts:
    binary: str
    found: bool
    version: str | None = None
    version_tuple: tuple[int, ...] = ()
    knows_lam: bool = False
    tcg_lam: bool = False  # TCG offers LAM (a QEMU patched with patches/qemu/tcg-lam)


@dataclass
class HostFacts:
    kernel: str
    cpu_model: str
    cpu_lam: bool | None  # None: could not execute CPUID
    kvm: KvmFacts
    qemu: QemuFacts
    tools: dict[str, str | None] = field(default_factory=dict)
    cpu_vendor: str = ""  # CPUID leaf 0: "GenuineIntel", "AuthenticAMD"...; "" unknown
    hypervisor: str = ""  # CPUID 0x40000000 signature when the host is a guest ("KVMKVMKVM")


# A host that is itself a guest of QEMU's TCG shows whatever CPUID bits that
# QEMU emulates (LAM included, on a tcg-lam QEMU): its LAM is not hardware.
TCG_SIGNATURE = "TCGTCGTCGTCG"
TCG_MODEL = "QEMU TCG CPU"


def lam_hardware_problems(facts: HostFacts) -> list[str]:
    """Why the host's LAM bit cannot be taken as hardware LAM for KVM guests
    (empty: it can). LAM is an Intel feature run by kvm_intel; a TCG CPU
    (model string or hypervisor signature) is emulation whatever its bits."""
    out = []
    if facts.cpu_vendor and facts.cpu_vendor != "GenuineIntel":
        out.append(f"host CPU vendor is {facts.cpu_vendor}, not GenuineIntel")
    elif not facts.cpu_vendor:
        out.append("host CPU vendor unknown (CPUID not readable)")
    if TCG_MODEL in facts.cpu_model:
        out.append(f"host CPU is {facts.cpu_model!r}: QEMU's TCG, emulated")
    if facts.hypervisor == TCG_SIGNATURE:
        out.append("host runs under QEMU's TCG (hypervisor signature TCGTCGTCGTCG): emulated")
    return out


def kvm_facts(sys_module: Path = Path("/sys/module"), dev: Path = Path("/dev/kvm")) -> KvmFacts:
    mods = sorted(p.name for p in sys_module.glob("kvm*")) if sys_module.is_dir() else []
    usable = False
    if dev.exists():
        try:
            fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
            os.close(fd)
            usable = True
        except OSError:
            usable = False
    return KvmFacts(dev.exists(), usable, mods)


def _regs_text(*regs: int) -> str:
    return b"".join(r.to_bytes(4, "little") for r in regs).decode("ascii", "replace").strip("\0 ")


def cpu_vendor() -> str:
    regs = cpuid(0)
    return "" if regs is None else _regs_text(regs[1], regs[3], regs[2])


def hypervisor_signature() -> str:
    """CPUID 0x40000000's signature when CPUID.1:ECX[31] (hypervisor) is set."""
    leaf1 = cpuid(1)
    if leaf1 is None or not leaf1[2] >> 31 & 1:
        return ""
    regs = cpuid(0x40000000)
    return "" if regs is None else _regs_text(regs[1], regs[2], regs[3])


def cpu_lam() -> bool | None:
    regs = cpuid(0)
    if regs is None or regs[0] < LAM_CPUID_LEAF:
        return None if regs is None else False
    r = cpuid(LAM_CPUID_LEAF, LAM_CPUID_SUBLEAF)
    return None if r is None else bool(r[0] >> LAM_EAX_BIT & 1)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def qemu_binary(setting: object) -> str:
    """The binary for a ``machine.qemu`` string; a source build resolves later."""
    return setting if isinstance(setting, str) and setting != "system" else "qemu-system-x86_64"


@cache
def qemu_facts(binary: str) -> QemuFacts:
    path = shutil.which(binary)
    if path is None:
        return QemuFacts(binary, False)
    out = subprocess.run([path, "-version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", out)
    vt = tuple(int(x) for x in m.groups() if x is not None) if m else ()
    cpus = subprocess.run([path, "-cpu", "help"], capture_output=True, text=True).stdout
    knows_lam = bool(re.search(r"(?m)^\s+.*\blam\b", cpus.split("Recognized CPUID flags:")[-1]))
    return QemuFacts(path, True, ".".join(map(str, vt)) or None, vt, knows_lam,
                     knows_lam and _tcg_offers_lam(path))


def _tcg_offers_lam(path: str, timeout: float = 15.0) -> bool:
    """Asked twice when the first answer is no: a loaded host can lose one."""
    return _probe_tcg_lam(path, timeout) or _probe_tcg_lam(path, timeout)


def _probe_tcg_lam(path: str, timeout: float) -> bool:
    """Does ``-accel tcg -cpu max,+lam,enforce`` start? (Stock QEMU refuses:
    "TCG doesn't support requested features".) Paused, no guest code runs:
    success is QEMU's QMP greeting on stdout."""
    import select

    p = subprocess.Popen([path, "-accel", "tcg", "-cpu", "max,+lam,enforce", "-display", "none",
                          "-nodefaults", "-S", "-qmp", "stdio",
                          "-L", "/usr/share/qemu", "-L", "/usr/share/seabios"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        assert p.stdout is not None and p.stdin is not None
        # The greeting can come before the CPU is realized; a command is only
        # answered once the machine exists (a refused CPU ends QEMU first).
        p.stdin.write(b'{"execute": "qmp_capabilities"}\n{"execute": "query-status"}\n')
        p.stdin.flush()
        # Raw reads, not readline(): a buffered reader can hold both answers
        # while select() sees nothing left on the fd.
        fd = p.stdout.fileno()
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                return False
            buf += chunk
            if sum(ln.startswith(b'{"return"') for ln in buf.split(b"\n")) >= 2:
                return True
        return False
    except (BrokenPipeError, OSError):
        return False
    finally:
        p.kill()
        p.wait()


def require_qemu(binary: str) -> QemuFacts:
    q = qemu_facts(binary)
    if not q.found:
        raise MissingToolError(f"{binary} not found: install qemu-system-x86 >= 9.1 from "
                               "bookworm-backports (make setup does)")
    return q


TOOLS = ("qemu-system-x86_64", "busybox", "dropbear", "dropbearkey", "apt-get", "dpkg-deb",
         "ldd", "git", "make", "gcc", "ccache")


def probe(qemu: object = "system") -> HostFacts:
    tools = {t: shutil.which(t) or (t if Path(f"/bin/{t}").exists() else None) for t in TOOLS}
    return HostFacts(platform.release(), cpu_model(), cpu_lam(), kvm_facts(),
                     qemu_facts(qemu_binary(qemu)), tools, cpu_vendor(), hypervisor_signature())


__all__ = ["HostFacts", "KvmFacts", "QemuFacts", "probe", "kvm_facts", "qemu_facts", "cpuid",
           "require_qemu", "MissingToolError", "lam_hardware_problems"]
