"""hostinfo reads the real CPU: vendor and hypervisor signature come from the
CPUID instruction, and agree with what the kernel says in /proc/cpuinfo."""

from __future__ import annotations

from pathlib import Path

from harness.vm import hostinfo


def test_vendor_and_hypervisor_match_proc_cpuinfo() -> None:
    """lam-harness runs on x86-64 hosts only (LAM is an x86 feature)."""
    info = Path("/proc/cpuinfo").read_text()
    vendor = next(ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("vendor_id"))
    assert hostinfo.cpu_vendor() == vendor
    flags = next(ln for ln in info.splitlines() if ln.startswith("flags")).split()
    sig = hostinfo.hypervisor_signature()
    assert bool(sig) == ("hypervisor" in flags)
    f = hostinfo.probe()
    assert (f.cpu_vendor, f.hypervisor) == (vendor, sig)
