"""A runner pool: a job's tests spread over the guest slots of several runners
(``hosts:``, each with a ``concurrency``), results merged into the job's one
record, folder and JUnit suite.

A config is one job (plan.py), so the unit spread is the test (all its
iterations stay together, in one guest).  With S slots and T tests the job
runs as min(S, T) *parts*, tests dealt round-robin in config order (part k
gets tests k, k+P, k+2P...), part k on slot k; slots go round the runners
first (runner 1 slot 1, runner 2 slot 1, runner 1 slot 2...), so two runners
with one slot each take one part each.  Every part boots its own guest
through the job runner the caller passes (the pipeline passes its ordinary
``run_job``: the pool schedules, it never imports the pipeline), so the
verdict rules are the same as for one runner (a crash ends that part's
guest: its remaining tests are ``notrun``; other parts go on).

Results: one job record (name, tests in config order, one JUnit suite) with
``parts`` (per part: runner, tests, status, error, accel, LAM, timings, QEMU
pid, console) and, per test, ``console``: the part's console log, relative to
the job folder.  Each part's job-level files (console.log, qemu.log,
qemu.cmdline, initramfs, keys) stay in ``<job>/part-K/``; test folders are
moved to ``<job>/<test>/`` when the part ends, as in an unpooled run.  A part
that cannot boot makes the job an infrastructure error naming part and runner.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from ..config import TestSpec
from ..errors import InfraError
from ..model import TestResult, Verdict
from ..plan import Job
from ..progress import say
from ..results.schema import JobRecord, lam_label
from ..results.store import RunStore, finished_status, merge_lam
from ..vm.hostinfo import HostFacts
from . import Runner
from .base import Host

JobRunner = Callable[[Job, RunStore, HostFacts, Host], JobRecord]
"""Boots one guest on a host and runs a job's tests in it: (the part's job,
the part's store, the host's facts, the host) -> the part's record."""


def slots(runners: Sequence[Runner]) -> int:
    return sum(r.concurrency for r in runners)


def slot_order(runners: Sequence[Runner]) -> list[tuple[int, int]]:
    """(runner index, slot of that runner) of each slot: round the runners first."""
    out: list[tuple[int, int]] = []
    for level in range(max((r.concurrency for r in runners), default=0)):
        out += [(i, level) for i, r in enumerate(runners) if r.concurrency > level]
    return out


def split(tests: Sequence[TestSpec], parts: int) -> list[tuple[TestSpec, ...]]:
    """Round-robin in config order; never an empty part."""
    parts = max(1, min(parts, len(tests)))
    return [tuple(tests[k::parts]) for k in range(parts)]


@dataclasses.dataclass
class Part:
    index: int  # 1-based
    runner: int  # index into the runners
    slot: int  # the runner's guest slot (0-based)
    host: str
    tests: tuple[TestSpec, ...]
    rec: JobRecord | None = None
    moved: bool = False  # test folders moved up into the job folder
    done: bool = False
    error: BaseException | None = None

    @property
    def dir_name(self) -> str:
        return f"part-{self.index}"


class PooledJob(JobRecord):
    """The job's record in the run: results of all parts, in config order."""

    def __init__(self, name: str, job: Job) -> None:
        super().__init__(name)
        self.parts: list[Part] = []
        self._order = {t.name: i for i, t in enumerate(job.tests)}
        self._console: dict[str, str] = {}  # result name -> console, relative to the job

    def sync(self) -> None:
        """Rebuild the merged view from the parts (called on every save)."""
        results: list[tuple[int, int, TestResult]] = []
        consoles: dict[str, str] = {}
        for p in self.parts:
            if p.rec is None:
                continue
            pre = "" if p.moved else f"{p.dir_name}/"
            lam = lam_label(p.rec.lam) if p.rec.lam else ""
            for r in list(p.rec.results):
                results.append((self._order.get(r.test, 1 << 30), r.iteration,
                                dataclasses.replace(_prefixed(r, pre), lam=r.lam or lam)))
                consoles[r.name] = f"{p.dir_name}/console.log"
        results.sort(key=lambda x: (x[0], x[1]))
        self.results = [r for _, _, r in results]
        self._console = consoles
        booted = [p for p in self.parts if p.rec is not None and p.rec.accel]
        if booted:
            first = booted[0].rec
            assert first is not None
            self.kernel, self.timings = first.kernel, dict(first.timings)
            # The job is as strong as its weakest part: one emulator runner
            # in a pool makes the job's LAM "mixed", never "hardware".
            self.lam = merge_lam([(p.dir_name, p.rec.lam) for p in booted
                                  if p.rec is not None and p.rec.lam])
            accels = sorted({str(p.rec.accel.get("accel")) for p in booted if p.rec is not None})
            self.accel = dict(first.accel)
            if len(accels) > 1:
                self.accel = {"accel": "mixed (" + ", ".join(accels) + ")",
                              "reason": "the pool's parts ran under different accelerators",
                              "cpu": "per part"}
        self.notes = [f"{p.dir_name} ({p.host}): {n}" for p in self.parts if p.rec is not None
                      for n in p.rec.notes]
        self.boot_oopses = [{**o, "file": f"{p.dir_name}/{o['file'].removeprefix('./')}"}
                            for p in self.parts if p.rec is not None
                            for o in p.rec.boot_oopses]
        errors = [f"{p.dir_name} on {p.host}: {p.rec.error}" for p in self.parts
                  if p.rec is not None and p.rec.error]
        self.error = "; ".join(errors) or None
        live = [p.rec.status for p in self.parts if p.rec is not None and not p.done]
        if live:
            self.status = "booting" if all(s == "booting" for s in live) else "running"

    def finish(self) -> None:
        self.sync()
        statuses = [p.rec.status for p in self.parts if p.rec is not None]
        self.status = ("interrupted" if "interrupted" in statuses
                       else finished_status(self.error, self.results))

    def to_json(self) -> dict[str, Any]:
        d = super().to_json()
        for k in ("parts", "_order", "_console"):
            d.pop(k, None)
        d["consoles"] = [f"{p.dir_name}/console.log" for p in self.parts]
        for t in d["tests"]:
            t["console"] = self._console.get(t["name"], "")
        d["parts"] = [{
            "part": p.index, "host": p.host, "dir": p.dir_name,
            "tests": [t.name for t in p.tests],
            "status": p.rec.status if p.rec else "pending",
            "error": p.rec.error if p.rec else None,
            "qemu_pid": p.rec.qemu_pid if p.rec else None,
            "accel": p.rec.accel if p.rec else {},
            "lam": {**{k: v for k, v in (p.rec.lam if p.rec else {}).items()
                       if k in ("status", "source")},
                    "label": lam_label(p.rec.lam) if p.rec and p.rec.lam else ""},
            "timings": p.rec.timings if p.rec else {},
        } for p in self.parts]
        return d


def _prefixed(r: TestResult, pre: str) -> TestResult:
    if not pre:
        return r
    return dataclasses.replace(
        r, stdout=pre + r.stdout if r.stdout else "", stderr=pre + r.stderr if r.stderr else "",
        oopses=[dataclasses.replace(o, file=pre + o.file) for o in r.oopses])


class _PartStore:
    """What ``run_job`` uses of a RunStore, for one part: its record, its
    folder (``<job>/part-K``) and ``save`` (the whole run.json, merged)."""

    def __init__(self, store: RunStore, job: PooledJob, part: Part, lock: threading.Lock) -> None:
        self.store, self.pjob, self.part, self.lock = store, job, part, lock

    def job(self, name: str) -> JobRecord:
        self.part.rec = JobRecord(name)
        self.job_dir(name).mkdir(parents=True, exist_ok=True)
        self.save()
        return self.part.rec

    def job_dir(self, name: str) -> Path:
        return self.store.job_dir(name) / self.part.dir_name

    def save(self) -> None:
        with self.lock:
            for _ in range(3):  # other parts' threads may change their records meanwhile
                try:
                    self.pjob.sync()
                    self.store.save()
                    return
                except RuntimeError:
                    time.sleep(0.01)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _move_tests_up(job_dir: Path, part: Part) -> None:
    """``<job>/part-K/<test>/`` -> ``<job>/<test>/`` (paths in run.json are
    relative to the job folder, so they stay right without the prefix)."""
    src = job_dir / part.dir_name
    assert part.rec is not None
    for r in part.rec.results:
        if not r.stdout:
            continue
        rel = r.stdout.split("/", 1)[0]
        if (src / rel).is_dir() and not (job_dir / rel).exists():
            shutil.move(str(src / rel), str(job_dir / rel))


def run_job(job: Job, store: RunStore, runners: Sequence[Runner], facts: Sequence[HostFacts],
            run_part: JobRunner) -> JobRecord:
    """Run ``job`` as parts on the runners' slots, each part through
    ``run_part`` in a thread of its own; one merged record."""
    from ..vm.base import kill_all

    order = slot_order(runners)
    pjob = PooledJob(job.name, job)
    store.jobs.append(pjob)
    job_dir = store.job_dir(job.name)
    job_dir.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    for k, tests in enumerate(split(job.tests, len(order))):
        ri, level = order[k]
        pjob.parts.append(Part(k + 1, ri, level, runners[ri].host.label, tests))
    say(f"{job.name}: {len(job.tests)} tests in {len(pjob.parts)} parts on "
        + ", ".join(f"{p.host} ({', '.join(t.name for t in p.tests)})" for p in pjob.parts))
    store.save()

    def work(p: Part) -> None:
        pstore = _PartStore(store, pjob, p, lock)
        try:
            try:
                host = runners[p.runner].slot(p.slot)
            except InfraError as e:  # no connection for this slot: its tests cannot run
                rec = pstore.job(job.name)
                rec.status, rec.error = "error", str(e)
                rec.results = [TestResult(t.name, t.name, 1, Verdict.NOTRUN, reason=str(e))
                               for t in p.tests]
                pstore.save()
                return
            run_part(Job(job.name, job.config, p.tests), cast(RunStore, pstore),
                     facts[p.runner], host)
        except BaseException as e:  # re-raised in the main thread
            p.error = e
        finally:
            if p.rec is not None:
                try:
                    _move_tests_up(job_dir, p)
                    p.moved = True
                except OSError as e:
                    p.rec.notes.append(f"could not move test folders up: {e}")
            p.done = True

    threads = [threading.Thread(target=work, args=(p,), name=f"part-{p.index}", daemon=True)
               for p in pjob.parts]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)
    except BaseException:  # Ctrl-C / SIGTERM: stop every guest, keep what ran
        kill_all()
        for t in threads:
            t.join(30)
        for p in pjob.parts:
            if p.rec is None:
                continue
            p.rec.status = "interrupted"
            p.rec.error = None
            p.rec.results = [_interrupted(r) for r in p.rec.results]
            done = {r.test for r in p.rec.results}
            p.rec.results += [TestResult(t.name, t.name, 1, Verdict.NOTRUN,
                                         reason="run interrupted")
                              for t in p.tests if t.name not in done]
        pjob.finish()
        pjob.error = "interrupted by signal"
        store.save()
        raise
    pjob.finish()
    store.save()
    errors = [p.error for p in pjob.parts if p.error is not None]
    if errors:
        raise errors[0]
    return pjob


def _interrupted(r: TestResult) -> TestResult:
    if r.verdict in (Verdict.ERROR, Verdict.NOTRUN):
        return dataclasses.replace(r, verdict=Verdict.NOTRUN, reason="run interrupted")
    return r


__all__ = ["JobRunner", "Part", "PooledJob", "run_job", "slot_order", "slots", "split"]
