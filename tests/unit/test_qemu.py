from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.config import MachineSpec
from harness.errors import InfraError
from harness.vm import qemu
from harness.vm.hostinfo import HostFacts, KvmFacts, QemuFacts

PVM = KvmFacts(dev_present=True, dev_usable=True, modules=["kvm", "kvm_pvm"])
INTEL = KvmFacts(dev_present=True, dev_usable=True, modules=["kvm", "kvm_intel"])
NONE = KvmFacts(dev_present=False, dev_usable=False, modules=[])
Q10 = QemuFacts("/usr/bin/qemu-system-x86_64", True, "10.0.2", (10, 0, 2), True)


def facts(kvm: KvmFacts, lam: bool | None, q: QemuFacts = Q10, vendor: str = "GenuineIntel",
          model: str = "Intel(R) Xeon(R) 6", hypervisor: str = "") -> HostFacts:
    return HostFacts("6.8.0", model, lam, kvm, q, {}, vendor, hypervisor)


def test_auto_takes_tcg_on_a_software_kvm() -> None:
    c = qemu.choose_accel("auto", PVM)
    assert c.accel == "tcg" and "kvm_pvm" in c.reason


def test_auto_takes_real_kvm() -> None:
    c = qemu.choose_accel("auto", INTEL)
    assert c.accel == "kvm" and "kvm_intel" in c.reason


def test_auto_without_kvm() -> None:
    assert qemu.choose_accel("auto", NONE).accel == "tcg"


def test_forced_kvm_on_pvm_is_allowed_with_a_warning() -> None:
    c = qemu.choose_accel("kvm", PVM)
    assert c.accel == "kvm" and "warning" in c.reason


def test_forced_kvm_without_dev_kvm_is_infra_error() -> None:
    with pytest.raises(InfraError, match="no /dev/kvm"):
        qemu.choose_accel("kvm", NONE)


def test_lam_auto_absent_under_tcg_names_each_reason() -> None:
    accel = qemu.choose_accel("auto", PVM)
    lam = qemu.choose_lam("auto", accel, facts(PVM, False))
    assert lam.status == "absent" and lam.cpu_flags == ("-lam",)
    assert any("CPUID" in r for r in lam.reasons) and any("TCG" in r for r in lam.reasons)


def test_lam_required_without_lam_stops_before_boot() -> None:
    accel = qemu.choose_accel("auto", PVM)
    with pytest.raises(InfraError, match="machine.lam: required"):
        qemu.choose_lam("required", accel, facts(PVM, False))


def test_lam_on_a_lam_host_with_real_kvm() -> None:
    accel = qemu.choose_accel("auto", INTEL)
    assert qemu.choose_lam("auto", accel, facts(INTEL, True)).cpu_flags == ("+lam",)
    assert qemu.choose_lam("required", accel, facts(INTEL, True)).cpu_flags == ("+lam", "enforce")


def test_lam_needs_a_qemu_that_knows_it() -> None:
    old = QemuFacts("qemu", True, "7.2.0", (7, 2, 0), False)
    lam = qemu.choose_lam("auto", qemu.choose_accel("auto", INTEL), facts(INTEL, True, old))
    assert lam.status == "absent" and "7.2.0" in lam.reasons[0]


def test_cpu_host_becomes_max_under_tcg() -> None:
    tcg = qemu.AccelChoice("tcg", "")
    cpu, note = qemu.cpu_option(MachineSpec(cpu="host"), tcg, ())
    assert cpu == "max" and "KVM" in note
    kvm = qemu.AccelChoice("kvm", "")
    assert qemu.cpu_option(MachineSpec(), kvm, ("+lam",))[0] == "host,+lam"


def test_kernel_cmdline_panics_on_oops_by_default() -> None:
    assert "panic=-1 oops=panic" in qemu.kernel_cmdline(MachineSpec())
    assert "oops=panic" not in qemu.kernel_cmdline(MachineSpec(panic_on_oops=False))
    assert qemu.kernel_cmdline(MachineSpec(cmdline=" nokaslr ")).endswith(" nokaslr")


def test_argv_listens_on_loopback_only_and_never_reboots() -> None:
    inv = qemu.QemuInvocation("qemu", Path("/k"), Path("/i"), "console=ttyS0", Path("/s"),
                              Path("/q"), 2222, qemu.AccelChoice("tcg", ""), "max", 2, "1G")
    argv = inv.argv()
    net = argv[argv.index("-netdev") + 1]
    assert "hostfwd=tcp:127.0.0.1:2222-:22" in net
    assert "0.0.0.0" not in " ".join(argv)
    assert "-no-reboot" in argv
    assert argv[argv.index("-accel") + 1] == "tcg"
    assert "server=on,wait=on" in argv[argv.index("-serial") - 1]
    stdio = inv.argv(console_stdio=True)
    assert stdio[stdio.index("-serial") + 1] == "stdio"


def test_lam_emulated_by_a_tcg_lam_qemu_is_labelled() -> None:
    q = QemuFacts("/k/qemu/x/qemu-system-x86_64", True, "10.0.2", (10, 0, 2), True, True)
    accel = qemu.choose_accel("auto", PVM)
    lam = qemu.choose_lam("auto", accel, facts(PVM, False, q))
    assert lam.status == "requested" and lam.cpu_flags == ("+lam",)
    assert lam.source == "emulated (TCG)" and "not hardware" in lam.reasons[0]
    assert qemu.choose_lam("required", accel, facts(PVM, False, q)).cpu_flags == (
        "+lam", "enforce")
    assert qemu.cpu_option(MachineSpec(), accel, lam.cpu_flags)[0] == "max,+lam"


def test_lam_emulator_is_taken_only_when_the_host_cannot_give_lam() -> None:
    pvm = qemu.choose_accel("auto", PVM)
    no_hw = qemu.choose_lam("auto", pvm, facts(PVM, False))
    emu = qemu.emulator_accel("auto", "auto", no_hw, True)
    assert emu is not None and emu.accel == "tcg"
    assert "host CPU has no LAM" in emu.reason and "machine.lam_emulator" in emu.reason
    assert qemu.emulator_accel("required", "auto", no_hw, True) is not None
    # not configured, LAM off, or an explicit accel: kvm: stay with machine.qemu
    assert qemu.emulator_accel("auto", "auto", no_hw, False) is None
    assert qemu.emulator_accel("off", "auto", no_hw, True) is None
    assert qemu.emulator_accel("auto", "kvm", no_hw, True) is None
    # a LAM host with real KVM: hardware, never the emulator
    intel = qemu.choose_accel("auto", INTEL)
    hw = qemu.choose_lam("auto", intel, facts(INTEL, True))
    assert hw.source == "hardware"
    assert qemu.emulator_accel("auto", "auto", hw, True) is None


AMD = KvmFacts(dev_present=True, dev_usable=True, modules=["kvm", "kvm_amd"])
TCG_LAM = QemuFacts("/k/qemu/x/qemu-system-x86_64", True, "10.0.2", (10, 0, 2), True, True)


def test_lam_off_passes_minus_lam_so_the_guest_has_none() -> None:
    """On a QEMU whose TCG emulates LAM, -cpu max alone could turn LAM on: the
    policy 'off' (and LAM absent) must say -lam, or the control run is not one."""
    tcg = qemu.choose_accel("tcg", PVM)
    off = qemu.choose_lam("off", tcg, facts(PVM, False, TCG_LAM))
    assert off.status == "off" and off.cpu_flags == ("-lam",)
    assert qemu.cpu_option(MachineSpec(), tcg, off.cpu_flags)[0] == "max,-lam"
    kvm = qemu.choose_accel("auto", INTEL)
    assert qemu.choose_lam("off", kvm, facts(INTEL, True)).cpu_flags == ("-lam",)
    # a QEMU that does not know the flag would refuse -lam: nothing is passed
    old = QemuFacts("qemu", True, "7.2.0", (7, 2, 0), False)
    assert qemu.choose_lam("off", tcg, facts(PVM, False, old)).cpu_flags == ()
    absent = qemu.choose_lam("auto", tcg, facts(PVM, False, old))
    assert absent.status == "absent" and absent.cpu_flags == ()


@pytest.mark.parametrize(("why", "kw", "kvm"), [
    ("not GenuineIntel", {"vendor": "AuthenticAMD"}, INTEL),
    ("vendor unknown", {"vendor": ""}, INTEL),
    ("QEMU's TCG", {"model": "QEMU TCG CPU version 2.5+"}, INTEL),
    ("TCGTCGTCGTCG", {"hypervisor": "TCGTCGTCGTCG"}, INTEL),
    ("not kvm_intel", {}, AMD),
])
def test_hardware_lam_needs_intel_kvm_intel_and_no_tcg_cpu(
        why: str, kw: dict[str, str], kvm: KvmFacts) -> None:
    """A harness host that is itself a guest of a tcg-lam QEMU shows the LAM
    bit: that is emulation, never 'hardware'."""
    accel = qemu.choose_accel("auto", kvm)
    lam = qemu.choose_lam("auto", accel, facts(kvm, True, **kw))
    assert lam.status == "absent" and lam.source == ""
    assert any(why in r for r in lam.reasons), lam.reasons
    with pytest.raises(InfraError, match=why):
        qemu.choose_lam("required", accel, facts(kvm, True, **kw))
    # a nested KVM guest on a real Intel LAM host is fine
    ok = qemu.choose_lam("auto", qemu.choose_accel("auto", INTEL),
                         facts(INTEL, True, hypervisor="KVMKVMKVM"))
    assert ok.source == "hardware"


def test_guest_network_is_restricted_unless_the_config_opts_in() -> None:
    inv = qemu.QemuInvocation("qemu", Path("/k"), Path("/i"), "c", Path("/s"), Path("/q"), 2222,
                              qemu.AccelChoice("tcg", ""), "max", 2, "1G")
    net = inv.argv()[inv.argv().index("-netdev") + 1]
    assert net.split(",")[:3] == ["user", "id=net0", "restrict=on"]
    assert net.endswith("hostfwd=tcp:127.0.0.1:2222-:22")
    opened = replace(inv, network="user").argv()
    assert "restrict=on" not in opened[opened.index("-netdev") + 1]


def test_chardev_paths_with_commas_are_escaped() -> None:
    inv = qemu.QemuInvocation("qemu", Path("/k"), Path("/i"), "c", Path("/r,a/serial.sock"),
                              Path("/r,path=/x/qmp.sock"), 2222, qemu.AccelChoice("tcg", ""),
                              "max", 2, "1G")
    chardevs = [a for a in inv.argv() if a.startswith("socket,")]
    assert chardevs[0] == "socket,id=con0,path=/r,,a/serial.sock,server=on,wait=on"
    assert "path=/r,,path=/x/qmp.sock," in chardevs[1]
