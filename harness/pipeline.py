"""The run pipeline: kernel -> initramfs -> QEMU -> tests over SSH + console
watch -> verdicts -> run.json and JUnit.  Every stage is a function of the
job; this module only wires them and turns failures into recorded results."""

from __future__ import annotations

import dataclasses
import errno
import os
import platform
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__, hosts
from .config import Config
from .errors import (
    EXIT_INFRA,
    EXIT_OK,
    EXIT_TEST_FAILED,
    BootError,
    HarnessError,
    InfraError,
    InternalError,
    describe_exception,
    save_traceback,
)
from .exec import Guest, run_test, save_reports
from .guest import caps, initramfs, keys, modules
from .hosts import LOCAL, Host, pool
from .kernel import prebuilt
from .model import TestResult, Verdict
from .parse.outcomes import BOOT_FAILURE
from .parse.symbolize import Symbolizer
from .plan import Job, plan
from .progress import say, step
from .results import junit
from .results.schema import JobRecord
from .results.store import RunStore, finished_status, write_error
from .vm import hostinfo, qemu, qemu_build
from .vm.base import Machine, MachineFactory
from .vm.machine import QemuMachine


class Interrupted(BaseException):
    """SIGTERM, turned into an exception so that cleanup and results run."""


@dataclass
class Paths:
    kernels: Path
    results: Path


@dataclass
class Booted:
    machine: Machine
    guest: Guest
    keys: keys.RunKeys
    kernel: prebuilt.KernelArtifacts


def host_meta(facts: hostinfo.HostFacts) -> dict[str, Any]:
    return {"host": dataclasses.asdict(facts),
            "versions": {"lam_harness": __version__, "python": platform.python_version(),
                         "qemu": facts.qemu.version}}


@contextmanager
def boot(cfg: Config, job_dir: Path, paths: Paths, facts: hostinfo.HostFacts,
         record: JobRecord | None = None, shell: bool = False,
         save: Callable[[], None] = lambda: None, host: Host = LOCAL,
         machine: MachineFactory = QemuMachine) -> Iterator[Booted]:
    """Resolve the kernel, write the initramfs, start the ``machine`` (QEMU)
    on ``host`` (its facts are ``facts``), connect SSH.  The machine is stopped when the block
    exits, however it exits; then the run's private keys are deleted (their
    public halves stay in ``keys/`` for the record)."""
    try:
        with _boot(cfg, job_dir, paths, facts, record, shell, save, host, machine) as b:
            yield b
    finally:
        keys.forget(job_dir / "keys")


@contextmanager
def _boot(cfg: Config, job_dir: Path, paths: Paths, facts: hostinfo.HostFacts,
          record: JobRecord | None, shell: bool, save: Callable[[], None],
          host: Host, new_machine: MachineFactory) -> Iterator[Booted]:
    m = cfg.machine
    qbin, qextra = qemu_build.resolve(cfg, paths.kernels)
    q = host.require_qemu(host.stage_qemu(qbin))
    facts = dataclasses.replace(facts, qemu=q)
    kernel = prebuilt.resolve(cfg, paths.kernels)
    accel = qemu.choose_accel(m.accel, facts.kvm)
    emulated = None
    if m.lam_emulator is not None:
        hw = qemu.choose_lam("auto", accel, facts)
        emulated = qemu.emulator_accel(m.lam, m.accel, hw, True)
        if emulated is not None:
            qbin, qextra = qemu_build.resolve(cfg, paths.kernels, m.lam_emulator,
                                              "machine.lam_emulator")
            q = host.require_qemu(host.stage_qemu(qbin))
            facts = dataclasses.replace(facts, qemu=q)
            accel = emulated
    lam = qemu.choose_lam(m.lam, accel, facts)
    cpu, cpu_note = qemu.cpu_option(m, accel, lam.cpu_flags)
    if record is not None:
        record.kernel = {"origin": kernel.origin, "bzimage": str(kernel.bzimage),
                         "version": kernel.version,
                         "build": {k: kernel.build.get(k) for k in ("key", "hit", "dir",
                                                                     "source", "patches")}
                         if kernel.build else None}
        record.accel = {"accel": accel.accel, "reason": accel.reason, "cpu": cpu}
        record.lam = {"policy": m.lam, "status": "off" if lam.status == "off" else "unknown",
                      "source": lam.source, "qemu": q.binary,
                      "cpu_flags": list(lam.cpu_flags), "host_reasons": list(lam.reasons),
                      "chain": {"host_cpu_lam": facts.cpu_lam, "accel": accel.accel,
                                "kvm": facts.kvm.flavour, "qemu_knows_lam": facts.qemu.knows_lam,
                                "qemu_tcg_lam": facts.qemu.tcg_lam,
                                "lam_flag_passed": "+lam" in lam.cpu_flags,
                                "lam_emulator_used": emulated is not None},
                      "reasons": list(lam.reasons)}
        if cpu_note:
            record.notes.append(cpu_note)
    job_dir.mkdir(parents=True, exist_ok=True)
    run_keys = keys.generate(job_dir / "keys")
    nonce = secrets.token_hex(8)
    mods = modules.closure(kernel.modules_dir, cfg.kernel.load_modules)
    payloads = [(cfg.resolve_path(p.src, f"payloads[{i}].src"), p.dst)
                for i, p in enumerate(cfg.payloads)]
    if kernel.selftests_dir is not None:
        payloads.insert(0, (kernel.selftests_dir, "/opt/selftests"))
    payloads.insert(0, (caps.binary(paths.kernels / "tools"), caps.GUEST_PATH))
    if kernel.build is not None:
        (job_dir / "build.log").write_text(
            f"cached build: {kernel.build.get('dir')}/build.log (key {kernel.build.get('key')},"
            f" {'hit: no make ran' if kernel.build.get('hit') else 'built now'})\n")
    initrd = job_dir / "initramfs.cpio"
    common, _ = initramfs.build_split(initramfs.ImageSpec(run_keys, nonce, mods, payloads),
                                      initrd)
    cmdline = qemu.kernel_cmdline(m) + (" lamh.shell=1" if shell else "")
    t_stage = time.monotonic()
    bzimage = host.stage(kernel.bzimage, what="kernel")
    place = host.prepare_run(initrd, common)  # locally: a socket folder and a free port
    if record is not None and not host.local:
        record.timings["host_prepare_s"] = round(time.monotonic() - t_stage, 3)
    inv = qemu.QemuInvocation(q.binary, Path(bzimage), Path(place.initrd), cmdline, Path(),
                              Path(), place.port, accel, cpu, m.smp, m.memory,
                              name=f"lamh-{cfg.name}", extra=list(qextra),
                              network=m.network)
    machine = new_machine(inv, job_dir, initramfs.READY_PREFIX + nonce, host=host,
                          run_dir=place.dir, limits=cfg.limits)
    if record is not None:
        def spawned(pid: int) -> None:
            record.qemu_pid = pid
            save()
        machine.on_spawn = spawned
    guest = Guest("127.0.0.1", inv.ssh_port, run_keys, open=host.open_tcp)
    guest.why_lost = machine.lost
    try:
        with step(f"booting {kernel.origin} ({accel.accel}, -cpu {cpu})"):
            machine.start(m.boot_timeout)
            guest.port = machine.inv.ssh_port  # a retried start may have moved it
            ssh_s = guest.connect(max(10.0, m.boot_timeout - (machine.timings.ready or 0)),
                                  machine.alive)
        if record is not None:
            ready = machine.timings.ready or 0.0
            record.timings.update(qemu_start_to_ready_s=round(ready, 3),
                                  qemu_start_to_ssh_s=round(ready + ssh_s, 3))
        if m.lam != "off" and not check_guest_lam(guest, record) and m.lam == "required":
            reasons = record.lam["reasons"] if record is not None else []
            raise InfraError("machine.lam: required, but the guest has no LAM: "
                             + "; ".join(reasons))
        yield Booted(machine, guest, run_keys, kernel)
    finally:
        guest.close()
        machine.stop()
        if record is not None:
            record.notes.extend(machine.notes)
            if machine.console is not None and machine.console.log_dropped:
                record.notes.append(
                    f"console.log capped at limits.console_log ({cfg.limits.console_log}): "
                    f"{machine.console.log_dropped} bytes dropped between its head and tail")
            record.accel["cpu"] = machine.inv.cpu


def check_guest_lam(guest: Guest, record: JobRecord | None) -> bool:
    """The in-guest links of the chain; records them; True when LAM is usable."""
    status, out = guest.check(caps.GUEST_PATH, timeout=30)
    g = caps.parse(out) if status == 0 else None
    if record is None:
        return bool(g and g.available)
    if g is None:
        record.lam.update(status="absent", reasons=record.lam["reasons"] + [
            f"lamh-caps failed in the guest (status {status}): {out.strip()[-200:]}"])
        return False
    record.lam["chain"].update(guest_cpuid_lam=g.cpuid_lam, guest_max_tag_bits=g.max_tag_bits)
    if g.available:
        # TCG never is hardware, whatever the host side concluded.
        src = "emulated (TCG)" if record.accel.get("accel") == "tcg" else "hardware"
        record.lam.update(status="available", source=src,
                          reasons=[f"LAM: {src}"] + g.reasons())
    else:
        record.lam.update(status="absent", reasons=record.lam["host_reasons"] + g.reasons())
    return g.available


def run_job(job: Job, store: RunStore, paths: Paths, facts: hostinfo.HostFacts,
            host: Host = LOCAL, machine: MachineFactory = QemuMachine) -> JobRecord:
    """Boot the job's guest (a ``machine`` on ``host``, whose facts are
    ``facts``) and run its tests; failures become recorded results."""
    rec = store.job(job.name)
    job_dir = store.job_dir(job.name)
    rec.status = "booting"
    store.save()
    crashed: str | None = None
    try:
        with boot(job.config, job_dir, paths, facts, rec, save=store.save, host=host,
                  machine=machine) as b:
            rec.status = "running"
            store.save()
            console = b.machine.console
            assert console is not None
            sym = Symbolizer(b.kernel.vmlinux) if b.kernel.vmlinux else None
            for test in job.tests:
                if crashed is not None:
                    rec.results.append(_notrun(test.name, crashed))
                    continue
                if "lam" in test.needs and rec.lam.get("status") != "available":
                    rec.results.append(TestResult(
                        test.name, test.name, 1, Verdict.SKIP,
                        reason="needs lam: " + "; ".join(rec.lam.get("reasons", []))))
                    store.save()
                    continue
                for it in range(1, test.repeat + 1):
                    r = run_test(b.guest, console, b.machine.alive, test, it, job_dir, sym,
                                 limits=job.config.limits)
                    if test.repeat > 1 and r.verdict is Verdict.CRASH:
                        r.reason += (f" (iteration {it} of {test.repeat}: "
                                     f"{it - 1} ran clean before it)")
                    rec.results.append(r)
                    store.save()
                    say(f"{job.name}/{r.name}: {r.verdict.value}"
                        + (f" ({r.reason})" if r.reason else ""))
                    if r.verdict in (Verdict.CRASH, Verdict.ERROR):
                        if not _guest_usable(b, r):
                            how = "crashed" if r.verdict is Verdict.CRASH else "was lost"
                            crashed = f"guest {how} in {r.name}: {r.reason}"
                        break
            boot_reports = console.reports_for(None)
            if boot_reports:
                refs = save_reports(boot_reports, job_dir, ".", symbolizer=sym)
                rec.boot_oopses = [dataclasses.asdict(x) for x in refs]
            dropped = console.dropped_for(None)
            if dropped is not None:
                rec.notes.append(f"{dropped.count} more reports outside tests not kept "
                                 f"(limits.max_reports), the first: {dropped.first_title}")
    except BootError as e:
        rec.status, rec.error = "error", f"{BOOT_FAILURE}: {e}"
    except InfraError as e:
        rec.status, rec.error = "error", str(e)
    except HarnessError:  # a config or usage error: the run's, with its own exit code
        raise
    except OSError as e:
        place = _os_error_place(e, store.root)
        if place == "results":  # the results folder cannot take the job's files: the run ends
            err = write_error(store.root, e)
            rec.status, rec.error = "error", str(err)
            _mark_notrun(rec, job, rec.error)
            try:  # keep the reason in run.json if any room is left; said once, by the CLI
                store.save()
            except OSError:
                pass
            raise err from None
        if place == "file":  # a cache or tool file: the job's infra error, naming it
            rec.status, rec.error = "error", f"{e.filename}: {e.strerror or e}"
        else:  # a socket or pipe error nobody caught: a harness bug, as below
            _internal_error(rec, job, job_dir, e)
    except Exception as e:  # a harness bug: an infra error, never a verdict on the kernel
        _internal_error(rec, job, job_dir, e)
    except (KeyboardInterrupt, Interrupted):
        rec.status, rec.error = "interrupted", "interrupted by signal"
        _mark_notrun(rec, job, "run interrupted")
        raise
    finally:
        store.save()
    return _end_job(rec, job, store)


def _end_job(rec: JobRecord, job: Job, store: RunStore) -> JobRecord:
    if rec.error:
        _mark_notrun(rec, job, rec.error)
    else:
        rec.status = finished_status(None, rec.results)
    store.save()
    return rec


# what a write to a folder that cannot take it raises, often with no file
# name (a write() on an open file)
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO})


def _os_error_place(e: OSError, folder: Path) -> str | None:
    """Where ``e`` happened: "results" (a file of ``folder``, or a write error
    on no named file), "file" (another named file: a cache, a tool), or None
    (no file at all: a socket, a pipe)."""
    names = [n for n in (e.filename, e.filename2) if n is not None]
    if not names:
        return "results" if e.errno in _WRITE_ERRNOS else None
    root = folder.resolve()
    inside = any(Path(os.fsdecode(n)).resolve().is_relative_to(root) for n in names)
    return "results" if inside else "file"


def _internal_message(e: BaseException, tb_file: Path, shown: str | None = None) -> str:
    """"internal error in the harness: ..." with the traceback kept in
    ``tb_file`` (named as ``shown``, else by its path)."""
    tb = save_traceback(e, tb_file)
    return (f"internal error in the harness: {describe_exception(e)}"
            + (f" (traceback: {shown or tb})" if tb else ""))


def _internal_error(rec: JobRecord, job: Job, job_dir: Path, e: BaseException) -> None:
    rec.status, rec.error = "error", _internal_message(
        e, job_dir / "traceback.txt", f"{job.name}/traceback.txt")


def _guest_usable(b: Booted, r: TestResult) -> bool:
    """After a crash or error: can later tests still run in this guest?  A panic
    ends the guest (QEMU exits on the reboot); a WARNING or an oops without
    panic_on_oops may leave it usable."""
    if r.verdict is Verdict.ERROR:
        return False
    if any(o.kind == "panic" for o in r.oopses):
        b.machine.wait(5.0)
    t = b.guest.transport
    return b.machine.alive() and t is not None and t.is_active()


def _notrun(name: str, reason: str) -> TestResult:
    return TestResult(name, name, 1, Verdict.NOTRUN, reason=reason)


def _mark_notrun(rec: JobRecord, job: Job, reason: str) -> None:
    done = {r.test for r in rec.results}
    for t in job.tests:
        if t.name not in done:
            rec.results.append(_notrun(t.name, reason))


def exit_code(jobs: list[JobRecord]) -> int:
    results = [r for j in jobs for r in j.results]
    if any(r.verdict.is_bad for r in results):
        return EXIT_TEST_FAILED
    if any(j.error for j in jobs) or any(r.verdict is Verdict.ERROR for r in results):
        return EXIT_INFRA
    return EXIT_OK


def run(cfg: Config, paths: Paths, only: list[str] | None = None,
        argv: list[str] | None = None, *, machine: MachineFactory = QemuMachine,
        connect: Callable[[Config], list[hosts.Runner]] = hosts.runners) -> tuple[int, Path]:
    """``machine`` and ``connect`` (the config's runners) are the seams to the
    machines: tests pass fakes."""
    jobs = plan(cfg, only)
    # Connect every runner first: a refused host key or login ends the run
    # here (exit 3) with nothing executed and no results folder.
    runners = connect(cfg)
    try:
        return _run(cfg, paths, jobs, runners, argv, machine)
    finally:
        hosts.close(runners)


def _run(cfg: Config, paths: Paths, jobs: list[Job], runners: list[hosts.Runner],
         argv: list[str] | None, machine: MachineFactory) -> tuple[int, Path]:
    all_facts = [r.host.facts(cfg.machine.qemu) for r in runners]
    facts = all_facts[0]
    meta = {"config_file": str(cfg.path), "config": _config_json(cfg),
            "reproducer": " ".join(argv or sys.argv), **host_meta(facts)}
    if len(runners) > 1 or not runners[0].host.local or runners[0].concurrency > 1:
        meta["runners"] = [{"host": r.host.label, "concurrency": r.concurrency,
                            "facts": dataclasses.asdict(f)}
                           for r, f in zip(runners, all_facts, strict=True)]
    store = RunStore.create(paths.results, cfg.name, meta)
    where = ", ".join(r.host.label for r in runners)
    say(f"results in {store.root}" + ("" if where == "local" else f" (QEMU on {where})"))
    code = EXIT_INFRA
    status = "error"
    try:
        for job in jobs:
            if pool.slots(runners) > 1 and len(job.tests) > 1:
                pool.run_job(job, store, runners, all_facts,
                             lambda j, s, f, h: run_job(j, s, paths, f, host=h,
                                                        machine=machine))
            else:
                run_job(job, store, paths, facts, host=runners[0].host, machine=machine)
        code = exit_code(store.jobs)
        status = {EXIT_OK: "passed", EXIT_TEST_FAILED: "failed"}.get(code, "error")
    except (KeyboardInterrupt, Interrupted):
        status, code = "interrupted", 130
        raise
    except HarnessError as e:
        status, code = "error", e.exit_code
        store.meta["error"] = str(e)
        raise
    except OSError as e:
        status, code = "error", EXIT_INFRA
        place = _os_error_place(e, store.root)
        if place == "results":  # the results folder cannot take the run's files
            raise write_error(store.root, e) from None
        if place == "file":
            store.meta["error"] = msg = f"{e.filename}: {e.strerror or e}"
            raise InfraError(msg) from None
        store.meta["error"] = msg = _internal_message(e, store.root / "traceback.txt")
        raise InternalError(msg) from e
    except Exception as e:  # a harness bug outside a job: exit 3, traceback kept
        status, code = "error", EXIT_INFRA
        store.meta["error"] = msg = _internal_message(e, store.root / "traceback.txt")
        raise InternalError(msg) from e
    finally:
        try:
            junit.write(store.jobs, store.root)
            store.finish(status, code)
        except OSError as e:
            if status != "error":  # else the error in flight says more
                raise write_error(store.root, e) from None
    return code, store.root


def _config_json(cfg: Config) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    d.pop("locs", None)
    d["path"] = str(cfg.path)
    for t in d.get("tests", []):
        t.pop("loc", None)
    for p in d.get("payloads", []):
        p.pop("loc", None)
    return d
