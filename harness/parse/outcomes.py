"""Names of the outcomes that are not kernel bugs but the test infrastructure
failing, worded like the field words them (syzkaller's ``pkg/report``), so
that reports, baselines and bisection compare them as titles like any oops.

They are the ``reason`` of an ``error`` verdict (or of a job's error) when no
oops report explains what happened; an oops report, when there is one, always
wins (its title is the reason, the verdict is ``crash``).

* ``LOST_CONNECTION``: the SSH connection to the guest broke (or the guest
  stopped answering it) and the console shows no oops report.
* ``NO_OUTPUT``: the serial console stayed silent for longer than the limit
  while a test ran (a hang with no lockup or hung-task report).
* ``TIMED_OUT``: the harness's own deadline for a step passed (not a test's
  ``timeout``, which is a test failure).
* ``KVM_INTERNAL_ERROR``: QEMU stopped the guest with ``KVM internal error.
  Suberror: N`` (the hypervisor could not emulate something).
* ``BOOT_FAILURE``: the guest never printed the readiness marker (and no oops
  report says why).

Pure: names and one matcher for QEMU's output, no I/O.
"""

from __future__ import annotations

import re

__all__ = [
    "BOOT_FAILURE",
    "INFRA_OUTCOMES",
    "KVM_INTERNAL_ERROR",
    "LOST_CONNECTION",
    "NO_OUTPUT",
    "TIMED_OUT",
    "kvm_internal_error",
]

LOST_CONNECTION = "lost connection to test machine"
NO_OUTPUT = "no output from test machine"
TIMED_OUT = "timed out"
KVM_INTERNAL_ERROR = "KVM internal error"
BOOT_FAILURE = "boot failure"

INFRA_OUTCOMES: tuple[str, ...] = (
    LOST_CONNECTION, NO_OUTPUT, TIMED_OUT, KVM_INTERNAL_ERROR, BOOT_FAILURE,
)

# QEMU (accel/kvm/kvm-all.c): "KVM internal error. Suberror: 1"
_KVM_RE = re.compile(r"KVM internal error\. Suberror: (\d+)")


def kvm_internal_error(qemu_output: str) -> str | None:
    """``"KVM internal error"`` (with the suberror) if QEMU's output reports one."""
    m = _KVM_RE.search(qemu_output)
    return f"{KVM_INTERNAL_ERROR} (suberror {m.group(1)})" if m else None
