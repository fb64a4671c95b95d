"""The QEMU command line, as a pure function of the machine profile and the
host facts: accel choice (with its reason), CPU model and flags, devices."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import MachineSpec
from ..errors import InfraError
from .hostinfo import HostFacts, KvmFacts, lam_hardware_problems


@dataclass(frozen=True)
class AccelChoice:
    accel: str  # "kvm" | "tcg"
    reason: str


@dataclass(frozen=True)
class LamChoice:
    status: str  # "requested" (flag passed) | "absent" | "off"
    cpu_flags: tuple[str, ...]  # "+lam"[, "enforce"] when requested, else "-lam" (or none)
    reasons: tuple[str, ...]
    source: str = ""  # "hardware" | "emulated (TCG)" when requested


@dataclass
class QemuInvocation:
    binary: str
    kernel: Path
    initrd: Path
    cmdline: str
    serial_sock: Path
    qmp_sock: Path
    ssh_port: int
    accel: AccelChoice
    cpu: str  # model plus flags, as given to -cpu
    smp: int
    memory: str
    name: str = "lam-harness"
    extra: list[str] = field(default_factory=list)
    network: str = "restricted"  # machine.network: "restricted" | "user"

    def argv(self, console_stdio: bool = False) -> list[str]:
        """The command line; ``console_stdio`` puts the serial console on
        stdio instead of the socket (for references measured without the
        harness)."""
        console = ["-serial", "stdio"] if console_stdio else [
            # server=on,wait=on: QEMU waits for the harness to attach, so the
            # console is captured from its first byte.
            "-chardev", f"socket,id=con0,path={opt_value(self.serial_sock)},server=on,wait=on",
            "-serial", "chardev:con0",
        ]
        return [
            self.binary,
            "-name", self.name,
            "-nodefaults", "-no-user-config", "-display", "none",
            "-accel", self.accel.accel,
            "-cpu", self.cpu,
            "-smp", str(self.smp),
            "-m", self.memory,
            "-kernel", str(self.kernel),
            "-initrd", str(self.initrd),
            "-append", self.cmdline,
            *console,
            "-chardev", f"socket,id=qmp0,path={opt_value(self.qmp_sock)},server=on,wait=off",
            "-mon", "chardev=qmp0,mode=control",
            # The guest's sshd is reachable on the loopback interface only;
            # restrict=on cuts the guest off from the host and the LAN (the
            # hostfwd still works) unless the config opts in (machine.network).
            "-netdev", f"user,id=net0,{'' if self.network == 'user' else 'restrict=on,'}"
                       f"hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
            "-device", "virtio-net-pci,netdev=net0,romfile=",
            "-no-reboot",
            *self.extra,
        ]


def opt_value(value: object) -> str:
    """A value inside a QEMU ``-opt a=b,c=d`` list: QEMU reads ``,,`` as one
    comma, so a path with a comma cannot start a new option."""
    return str(value).replace(",", ",,")


def choose_accel(requested: str, kvm: KvmFacts) -> AccelChoice:
    """``auto`` takes KVM only when it is real hardware virtualization."""
    if requested == "tcg":
        return AccelChoice("tcg", "accel: tcg requested by the config")
    if requested == "kvm":
        if not kvm.dev_present:
            raise InfraError("accel: kvm requested but this host has no /dev/kvm")
        if not kvm.dev_usable:
            raise InfraError("accel: kvm requested but /dev/kvm cannot be opened (permissions?)")
        note = "" if kvm.real else f" (warning: /dev/kvm is {kvm.flavour}, not kvm_intel/kvm_amd)"
        return AccelChoice("kvm", f"accel: kvm requested by the config{note}")
    if kvm.real and kvm.dev_usable:
        return AccelChoice("kvm", f"{kvm.flavour} loaded and /dev/kvm usable")
    if kvm.real:
        return AccelChoice("tcg", f"{kvm.flavour} loaded but /dev/kvm cannot be opened: TCG")
    if kvm.dev_present:
        return AccelChoice("tcg", f"/dev/kvm is backed by {kvm.flavour}, not kvm_intel/kvm_amd "
                                  "(a software virtualizer that cannot run a stock kernel): TCG")
    return AccelChoice("tcg", "no /dev/kvm on this host: TCG")


def choose_lam(policy: str, accel: AccelChoice, facts: HostFacts) -> LamChoice:
    """Which LAM CPU flags to pass, and why LAM is or is not offered.  When no
    LAM is given, a QEMU that knows the flag gets ``-lam``: whatever the CPU
    model would turn on (``-cpu max`` on a QEMU whose TCG emulates LAM), the
    guest then has no LAM, as the record says."""
    no_lam = ("-lam",) if facts.qemu.knows_lam else ()
    if policy == "off":
        return LamChoice("off", no_lam, ("machine.lam: off",))
    missing: list[str] = []
    if facts.cpu_lam is not True:
        missing.append("host CPU has no LAM (CPUID.(EAX=7,ECX=1):EAX[26] = 0)"
                       if facts.cpu_lam is False else "host CPU LAM unknown (CPUID not readable)")
    else:
        missing += lam_hardware_problems(facts)
    if accel.accel != "kvm":
        missing.append("accel is TCG, and this QEMU's TCG does not emulate LAM "
                       "(a QEMU with patches/qemu/tcg-lam does)")
    elif facts.kvm.flavour != "kvm_intel":
        missing.append(f"KVM is {facts.kvm.flavour}, not kvm_intel")
    if not facts.qemu.knows_lam:
        missing.append(f"QEMU {facts.qemu.version or '?'} does not know the 'lam' CPU flag "
                       "(needs >= 9.1)")
    flags = ("+lam", "enforce") if policy == "required" else ("+lam",)
    if not missing:
        return LamChoice("requested", flags, (
            "host CPU LAM (GenuineIntel), real KVM (kvm_intel), QEMU knows lam",), "hardware")
    if accel.accel == "tcg" and facts.qemu.tcg_lam:
        return LamChoice("requested", flags, (
            f"LAM emulated by the TCG of {facts.qemu.binary} (patches/qemu/tcg-lam): "
            "not hardware",), "emulated (TCG)")
    if policy == "required":
        raise InfraError("machine.lam: required, but LAM is not available: "
                         + "; ".join(missing))
    return LamChoice("absent", no_lam, tuple(missing))


def emulator_accel(policy: str, accel_requested: str, hw: LamChoice,
                   emulator_configured: bool) -> AccelChoice | None:
    """TCG with ``machine.lam_emulator`` when LAM is wanted and the host cannot
    give it in hardware; None to stay with ``machine.qemu``. An explicit
    ``accel: kvm`` is kept (the emulator works only under TCG)."""
    if (policy == "off" or not emulator_configured or hw.source == "hardware"
            or accel_requested == "kvm"):
        return None
    return AccelChoice("tcg", "no hardware LAM (" + "; ".join(hw.reasons)
                       + "): TCG with machine.lam_emulator")


def cpu_option(spec: MachineSpec, accel: AccelChoice, flags: tuple[str, ...]) -> tuple[str, str]:
    """(-cpu value, note). ``host`` needs KVM: under TCG it becomes ``max``."""
    model = spec.cpu or ("host" if accel.accel == "kvm" else "max")
    note = ""
    if accel.accel == "tcg" and model == "host":
        model, note = "max", "cpu: host needs KVM; using max under TCG"
    return ",".join((model, *flags)), note


def kernel_cmdline(spec: MachineSpec) -> str:
    parts = ["console=ttyS0,115200", "rdinit=/init"]
    if spec.panic_on_oops:
        parts += ["panic=-1", "oops=panic"]
    if spec.cmdline.strip():
        parts.append(spec.cmdline.strip())
    return " ".join(parts)
