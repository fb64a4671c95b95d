#!/usr/bin/env python3
"""The remote side of an SSH host: one small standard-library script, uploaded
content-addressed into the workdir and run as ``python3 -I agent.py CMD ...``
on exec channels.  It never reads a shell string: every argument arrives as
its own argv element (the local side joins them with ``shlex.join``).

Commands (each prints JSON lines on stdout; diagnostics go to stderr):

``facts [--qemu BIN]... [--workdir DIR]``
    Host facts: kernel, CPU model, LAM (``lam`` in /proc/cpuinfo flags and
    CPUID.(7,1):EAX[26] executed here), KVM modules and /dev/kvm, each QEMU's
    version, whether it knows ``lam`` and whether its TCG emulates it, free
    disk in the workdir, tools on PATH.
``prepare --base FILE``
    A private run folder (``mkdtemp``, 0700) for one machine, the initramfs
    assembled in it from FILE (the content-addressed common part) followed by
    stdin (the small per-run part), and a free TCP port on 127.0.0.1.
``spawn --dir DIR [--heartbeat S] -- ARGV...``
    The watchdog: starts ARGV in a session of its own (its own process group)
    with PR_SET_PDEATHSIG=SIGKILL, its output on our stderr, records its pid in
    DIR/qemu.pid and prints ``{"pid": N}``, then ``{"exit": RC}`` when it ends.
    It kills the process group (TERM, then KILL) as soon as stdin, the SSH
    channel, reaches EOF (channel closed, connection dropped, local side
    gone) or has been silent for S seconds (the local side sends a heartbeat
    byte every few seconds, answered with ``{"hb": 1}``, so a half-open
    connection is noticed too); DIR is then removed.  A ``k`` byte kills it
    too but keeps DIR (the harness retries in it, or removes it with
    ``kill``).  The agent itself lives until one of these happens.
``relay PATH [--wait S]``
    Bridges stdin/stdout to the unix socket PATH (waiting up to S seconds for
    it to accept): how the serial console and QMP reach the local side.
``freeport``
    A free TCP port on 127.0.0.1.
``kill DIR``
    Idempotent cleanup: the process recorded in DIR/qemu.pid is killed with
    its group when it is still ours (its command line names DIR), then DIR is
    removed.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import platform
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

HEARTBEAT_TIMEOUT = 30.0
TOOLS = ("qemu-system-x86_64", "python3", "sh", "kill")
FIRMWARE_DIRS = ("/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu")
_PR_SET_PDEATHSIG = 1
# push rbx; mov eax,edi; mov ecx,esi; mov r8,rdx; cpuid;
# mov [r8],eax; mov [r8+4],ebx; mov [r8+8],ecx; mov [r8+12],edx; pop rbx; ret
_CPUID_CODE = bytes.fromhex("5389f889f14989d00fa2418900418958044189480841895" "00c5bc3")


def emit(obj: object) -> bool:
    """One JSON line on stdout; False when nobody reads it any more."""
    data = (json.dumps(obj) + "\n").encode()
    try:
        while data:
            n = os.write(1, data)
            data = data[n:]
        return True
    except OSError:
        return False


def log(msg: str) -> None:
    try:
        os.write(2, f"lamh-agent: {msg}\n".encode())
    except OSError:
        pass


# -- facts ---------------------------------------------------------------------
def cpuid(leaf: int, subleaf: int = 0) -> tuple[int, int, int, int] | None:
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        buf = mmap.mmap(-1, mmap.PAGESIZE,
                        prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except (OSError, ValueError):
        return None
    buf.write(_CPUID_CODE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    fn = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32,
                          ctypes.POINTER(ctypes.c_uint32))(addr)
    out = (ctypes.c_uint32 * 4)()
    fn(leaf, subleaf, out)
    return (out[0], out[1], out[2], out[3])  # the page stays mapped: the process is short


def cpu_lam_cpuid() -> bool | None:
    regs = cpuid(0)
    if regs is None:
        return None
    if regs[0] < 7:
        return False
    r = cpuid(7, 1)
    return None if r is None else bool(r[0] >> 26 & 1)


def _regs_text(*regs: int) -> str:
    return b"".join(r.to_bytes(4, "little") for r in regs).decode("ascii", "replace").strip("\0 ")


def cpu_ids() -> tuple[str, str]:
    """(vendor, hypervisor signature or ""), as harness.vm.hostinfo reads them."""
    r0 = cpuid(0)
    if r0 is None:
        return "", ""
    vendor = _regs_text(r0[1], r0[3], r0[2])
    r1 = cpuid(1)
    if r1 is None or not r1[2] >> 31 & 1:
        return vendor, ""
    h = cpuid(0x40000000)
    return vendor, "" if h is None else _regs_text(h[1], h[2], h[3])


def cpuinfo() -> tuple[str, bool | None]:
    """(model name, ``lam`` among the flags; None when there are no flags)."""
    model: str | None = None
    lam: bool | None = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and lam is None:
                    lam = "lam" in value.split()
                if model is not None and lam is not None:
                    break
    except OSError:
        pass
    return model or platform.processor() or "unknown", lam


def kvm() -> dict[str, object]:
    mods = sorted(n for n in os.listdir("/sys/module") if n.startswith("kvm")) \
        if os.path.isdir("/sys/module") else []
    present = os.path.exists("/dev/kvm")
    usable = False
    if present:
        try:
            os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
            usable = True
        except OSError:
            usable = False
    return {"dev_present": present, "dev_usable": usable, "modules": mods}


def qemu_facts(binary: str) -> dict[str, object]:
    path = shutil.which(binary)
    if path is None:
        return {"binary": binary, "found": False}
    out = subprocess.run([path, "-version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", out)
    vt = [int(x) for x in m.groups() if x is not None] if m else []
    cpus = subprocess.run([path, "-cpu", "help"], capture_output=True, text=True).stdout
    knows = bool(re.search(r"(?m)^\s+.*\blam\b", cpus.split("Recognized CPUID flags:")[-1]))
    tcg = knows and (probe_tcg_lam(path) or probe_tcg_lam(path))
    return {"binary": path, "found": True, "version": ".".join(map(str, vt)) or None,
            "version_tuple": vt, "knows_lam": knows, "tcg_lam": tcg}


def probe_tcg_lam(path: str, timeout: float = 15.0) -> bool:
    """Does ``-accel tcg -cpu max,+lam,enforce`` start (paused, QMP on stdio)?
    The same probe as harness/vm/hostinfo.py."""
    fw = [a for d in FIRMWARE_DIRS for a in ("-L", d)]
    p = subprocess.Popen([path, "-accel", "tcg", "-cpu", "max,+lam,enforce", "-display", "none",
                          "-nodefaults", "-S", "-qmp", "stdio", *fw],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        assert p.stdout is not None and p.stdin is not None
        p.stdin.write(b'{"execute": "qmp_capabilities"}\n{"execute": "query-status"}\n')
        p.stdin.flush()
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
    except OSError:
        return False
    finally:
        p.kill()
        p.wait()


def cmd_facts(args: list[str]) -> int:
    qemus: list[str] = []
    workdir = "."
    it = iter(args)
    for a in it:
        if a == "--qemu":
            qemus.append(next(it))
        elif a == "--workdir":
            workdir = next(it)
    model, flags_lam = cpuinfo()
    try:
        st = os.statvfs(workdir)
        free: int | None = st.f_bavail * st.f_frsize
    except OSError:
        free = None
    vendor, hyper = cpu_ids()
    emit({"kernel": platform.release(), "cpu_model": model, "cpu_lam": cpu_lam_cpuid(),
          "cpu_vendor": vendor, "hypervisor": hyper,
          "cpu_flags_lam": flags_lam, "kvm": kvm(),
          "qemu": {q: qemu_facts(q) for q in qemus},
          "tools": {t: shutil.which(t) for t in TOOLS},
          "python": platform.python_version(),
          "workdir": os.path.abspath(workdir), "disk_free_bytes": free})
    return 0


# -- machines ------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


RUN_PREFIX = "lamh-"


def run_dir_problem(d: str) -> str | None:
    """Why ``d`` is not a run folder this agent made (None when it is, or is
    gone): the only folders ``kill`` and ``spawn`` remove, whatever path the
    other end sends.  A run folder is ``lamh-*`` straight in the temp dir
    (``cmd_prepare``'s mkdtemp), a real folder (not a symlink) of this user,
    mode 0700."""
    tmp = os.path.realpath(tempfile.gettempdir())
    a = os.path.abspath(d)
    if os.path.dirname(a) != tmp or not os.path.basename(a).startswith(RUN_PREFIX):
        return f"{d} is not a {RUN_PREFIX}* folder in {tmp}"
    try:
        st = os.lstat(a)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return f"{d} is a symlink or not a folder"
    if st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o077:
        return f"{d} is not a private folder of uid {os.getuid()}"
    return None


def remove_run_dir(d: str) -> str | None:
    """rmtree ``d`` if it is a run folder of ours; else the reason, and nothing removed."""
    why = run_dir_problem(d)
    if why is not None:
        log(f"not removing {d}: {why}")
        return why
    shutil.rmtree(d, ignore_errors=True)
    return None


def cmd_prepare(args: list[str]) -> int:
    base = args[args.index("--base") + 1]
    d = tempfile.mkdtemp(prefix=RUN_PREFIX, dir=os.path.realpath(tempfile.gettempdir()))
    initrd = os.path.join(d, "initramfs.cpio")
    with open(initrd, "wb") as out:
        with open(base, "rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)
        while True:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break
            out.write(chunk)
    emit({"dir": d, "initrd": initrd, "port": free_port()})
    return 0


def cmd_freeport(args: list[str]) -> int:
    emit({"port": free_port()})
    return 0


def _child_setup() -> None:  # between fork and exec
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def kill_group(pid: int, wait: Callable[[float], bool]) -> None:
    """TERM the process group, then KILL it; ``wait(timeout)`` -> exited?"""
    for sig, grace in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if wait(grace):
            return


def cmd_spawn(args: list[str]) -> int:
    sep = args.index("--")
    opts, argv = args[:sep], args[sep + 1:]
    d = opts[opts.index("--dir") + 1]
    hb = float(opts[opts.index("--heartbeat") + 1]) if "--heartbeat" in opts else \
        HEARTBEAT_TIMEOUT
    if (why := run_dir_problem(d)) is not None or not os.path.isdir(d):
        emit({"exit": 127, "why": f"refused: {why or d + ' does not exist'}"})
        return 0
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=2, stderr=2,
                             preexec_fn=_child_setup)
    except OSError as e:
        log(f"cannot start {argv[0]}: {e}")
        emit({"exit": 127, "why": f"cannot start {argv[0]}: {e.strerror}"})
        return 0
    with open(os.path.join(d, "qemu.pid"), "w") as f:
        f.write(f"{p.pid}\n")
    emit({"pid": p.pid})
    last = time.monotonic()
    why = None
    keep = False  # "k": the harness is there and will reuse or remove DIR itself
    reported = False
    # Until the harness says "k" or goes away: QEMU may end first (a guest
    # panic with -no-reboot); the run folder stays for a retry or for the
    # harness to collect, and is removed if the harness vanishes.
    while True:
        if not reported and p.poll() is not None:
            reported = True
            emit({"exit": p.returncode, "why": None})
        try:
            ready, _, _ = select.select([0], [], [], 0.2)
        except InterruptedError:
            continue
        now = time.monotonic()
        if ready:
            try:
                data = os.read(0, 4096)
            except OSError:
                data = b""
            if not data:
                why = "SSH channel closed (EOF on the agent's stdin)"
                break
            if b"k" in data:
                why, keep = "stop requested", True
                break
            last = now
            emit({"hb": 1})
        elif now - last > hb:
            why = f"no heartbeat from the harness for {hb:g}s"
            break
    if p.poll() is None:
        log(f"{why}: killing process group {p.pid}")

        def waited(t: float) -> bool:
            try:
                p.wait(t)
                return True
            except subprocess.TimeoutExpired:
                return False

        kill_group(p.pid, waited)
        p.wait()
    if not keep:
        remove_run_dir(d)
    if not reported:
        emit({"exit": p.returncode, "why": why})
    return 0


def cmd_relay(args: list[str]) -> int:
    path = args[0]
    wait = float(args[args.index("--wait") + 1]) if "--wait" in args else 0.0
    deadline = time.monotonic() + wait
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError) as e:
            s.close()
            if time.monotonic() >= deadline:
                log(f"relay: cannot connect to {path}: {e.strerror}")
                return 2
            time.sleep(0.005)
    log("relay: connected")
    fds = [0, s.fileno()]
    while True:
        ready, _, _ = select.select(fds, [], [])
        if 0 in ready:
            data = os.read(0, 65536)
            if not data:
                return 0  # the local side closed the channel
            s.sendall(data)
        if s.fileno() in ready:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                return 0  # the socket's owner (QEMU) went away
            try:
                while data:
                    data = data[os.write(1, data):]
            except OSError:
                return 0


def _ours(pid: int, d: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return d.encode() in f.read()
    except OSError:
        return False


def cmd_kill(args: list[str]) -> int:
    d = args[0]
    why = run_dir_problem(d)
    if why is not None:
        log(f"kill {d}: refused: {why}")
        emit({"killed": None, "refused": why})
        return 0
    try:
        with open(os.path.join(d, "qemu.pid")) as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        pid = 0
    ours = pid > 0 and _ours(pid, d)
    if ours:
        def gone(t: float) -> bool:
            end = time.monotonic() + t
            while time.monotonic() < end:
                if not _ours(pid, d):
                    return True
                time.sleep(0.05)
            return False

        log(f"killing leftover process group {pid}")
        kill_group(pid, gone)
    remove_run_dir(d)
    emit({"killed": pid if ours else None})
    return 0


COMMANDS = {"facts": cmd_facts, "prepare": cmd_prepare, "spawn": cmd_spawn,
            "relay": cmd_relay, "freeport": cmd_freeport, "kill": cmd_kill}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        log(f"usage: agent.py {{{','.join(COMMANDS)}}} ...")
        return 2
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
