"""Run folders as data for comparison: which job a result belongs to (a
stable identity), and each test's iterations folded into one result.

Identity of a result = job identity + test path (+ the normalized oops titles
for crashes).  The job identity is what was *asked for* (config name, kernel
ref, patch set, kconfig, machine profile), never what a host resolved it to
(kernel version, accel chosen, paths, ports, timestamps): so last night's run on
runner A and tonight's on runner B are the same job."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError, describe_exception
from ..model import OopsRef
from ..parse.oops import is_panic_title, normalize_title
from ..results.schema import (
    JobRecord,
    RunHeader,
    RunJsonError,
    header_from_json,
    job_from_json,
    oops_from_json,
)
from .runcheck import check as check_run_json

BOOT = "(boot)"  # the pseudo-test standing for a job's boot (oopses outside tests, boot errors)

# KCIDB's status order, worst first (FAIL > ERROR > MISS > PASS > DONE > SKIP).
KCIDB_ORDER = ("FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP")
KCIDB_STATUS = {"crash": "FAIL", "fail": "FAIL", "error": "ERROR", "notrun": "MISS",
                "pass": "PASS", "skip": "SKIP"}
# Our verdicts, worst first: the order iterations fold in (crash beats fail).
VERDICT_ORDER = ("crash", "fail", "error", "notrun", "pass", "skip")
BAD = frozenset({"crash", "fail"})


def kcidb_worst(statuses: Iterable[str]) -> str | None:
    """The worst KCIDB status of ``statuses`` (None when empty)."""
    ranked = [KCIDB_ORDER.index(s) for s in statuses]
    return KCIDB_ORDER[min(ranked)] if ranked else None


def worst_verdict(verdicts: Iterable[str]) -> str:
    ranked = [VERDICT_ORDER.index(v) if v in VERDICT_ORDER else 2 for v in verdicts]
    return VERDICT_ORDER[min(ranked)] if ranked else "notrun"


def _short_path(value: str | None) -> str | None:
    """A path as written in a config, made host-independent: absolute or ``~``
    paths keep their last component only."""
    if not value:
        return value
    v = value.rstrip("/")
    if v.startswith(("/", "~")):
        return os.path.basename(v) or v
    return v


@dataclass(frozen=True)
class JobId:
    """What a job asked for; equal across runs and machines."""

    name: str
    kernel: str
    patches: tuple[str, ...] = ()
    kconfig: str = ""
    machine: str = ""

    @property
    def key(self) -> str:
        blob = json.dumps([self.name, self.kernel, list(self.patches), self.kconfig,
                           self.machine], separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "kernel": self.kernel,
                "patches": list(self.patches), "kconfig": self.kconfig, "machine": self.machine}


def job_identity(config: dict[str, Any], name: str | None = None) -> JobId:
    """The identity of a job from a resolved config (run.json's ``config``, or
    ``dataclasses.asdict`` of a Config)."""
    k = config.get("kernel") or {}
    src = k.get("source") or {}
    if k.get("image"):
        kernel = f"image:{_short_path(k['image'])}"
    elif k.get("debian"):
        kernel = f"debian:{k['debian']}"
    elif src.get("git"):
        kernel = f"git:{_short_path(src['git'])}@{src.get('ref') or 'HEAD'}"
    elif src.get("tarball"):
        kernel = f"tarball:{_short_path(src['tarball'])}"
    elif src.get("debian"):
        kernel = f"debian-source:{src['debian']}"
    else:
        kernel = "?"
    kc = k.get("config") or None
    kconfig = ""
    if kc:
        kconfig = "+".join(str(_short_path(x)) for x in [kc.get("base") or "tinyconfig",
                                                        *(kc.get("fragments") or [])])
    m = config.get("machine") or {}
    # cmdline is left out on purpose: it carries test knobs (demo_bug.rate=N).
    machine = " ".join(f"{key}={m.get(key)}" for key in ("accel", "cpu", "lam", "smp", "memory"))
    return JobId(name or str(config.get("name") or "?"), kernel,
                 tuple(str(_short_path(p)) for p in (k.get("patches") or [])), kconfig, machine)


@dataclass
class Oops:
    title: str  # normalized
    raw_title: str
    kind: str
    file: str  # relative to the run folder
    console: str  # relative to the run folder
    first_line: int
    last_line: int


@dataclass
class Result:
    """One test path of one job in one run, iterations folded."""

    job: JobId
    path: str  # "test" or "test / subtest"; BOOT for the job's boot
    verdict: str  # worst over iterations (VERDICT_ORDER)
    reason: str = ""
    titles: tuple[str, ...] = ()  # normalized oops titles (crash)
    runs: int = 0  # iterations recorded
    bad: int = 0  # iterations that failed or crashed
    passed: int = 0
    duration: float = 0.0
    names: list[str] = field(default_factory=list)  # result names in run.json / JUnit
    oopses: list[Oops] = field(default_factory=list)
    console: str = ""  # console.log relative to the run folder
    outputs: list[str] = field(default_factory=list)  # stdout/stderr files, run-relative
    lam: str = ""  # LAM label of the guest(s) that ran it ("a; b" when iterations differ)
    order: int = 0  # position in the run, for stable listings

    @property
    def key(self) -> str:
        return f"{self.job.key}/{self.path}"

    @property
    def id(self) -> str:
        """Stable identity: job + path (+ titles for crashes)."""
        return self.key + (" [" + " | ".join(self.titles) + "]" if self.titles else "")

    @property
    def is_bad(self) -> bool:
        return self.verdict in BAD

    @property
    def mixed(self) -> bool:
        """Passed and failed in the same run (repeat: N)."""
        return self.bad > 0 and self.passed > 0

    @property
    def label(self) -> str:
        return f"{self.job.name}/{self.path}"

    @property
    def subject(self) -> str:
        """What went wrong, in one line."""
        if self.verdict == "crash" and self.titles:
            return self.titles[0]
        return self.reason


@dataclass
class JobView:
    name: str
    identity: JobId
    record: dict[str, Any]
    kernel_version: str
    dir: str  # relative to the run folder

    @property
    def error(self) -> str | None:
        e = self.record.get("error")
        return str(e) if e else None


@dataclass
class RunView:
    dir: Path
    data: dict[str, Any]
    jobs: list[JobView]
    results: dict[str, Result]  # by Result.key, in run order

    header: RunHeader = field(default_factory=RunHeader)

    @property
    def run_id(self) -> str:
        return self.header.run_id or self.dir.name

    @property
    def started(self) -> str:
        return self.header.started

    @property
    def status(self) -> str:
        return self.header.status

    @property
    def name(self) -> str:
        return str(self.header.config.get("name")
                   or (self.jobs[0].name if self.jobs else self.run_id))

    def kernel_of(self, job_key: str) -> str:
        for j in self.jobs:
            if j.identity.key == job_key:
                return j.kernel_version
        return ""

    @property
    def kernels(self) -> list[str]:
        return sorted({j.kernel_version for j in self.jobs if j.kernel_version})

    @property
    def job_keys(self) -> set[str]:
        return {j.identity.key for j in self.jobs}


def read_run_json(run_dir: Path) -> dict[str, Any]:
    """run.json of ``run_dir``, checked (types, paths inside the folder: see
    runcheck.py); anything else is one UserError line naming the file."""
    f = run_dir / "run.json"
    try:
        data = json.loads(f.read_text())
    except FileNotFoundError:
        raise UserError(f"{run_dir}: not a run folder (no run.json)") from None
    except (OSError, ValueError) as e:
        raise RunJsonError(f"{f}: cannot read: {describe_exception(e)}") from None
    except RecursionError:
        raise RunJsonError(f"{f}: cannot read: JSON nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs", []), list):
        raise RunJsonError(f"{f}: not a lam-harness run.json")
    check_run_json(data, f)
    return data


def load_run(run_dir: Path) -> RunView:
    """A run folder (with run.json) as comparable results."""
    data = read_run_json(run_dir)
    config = data.get("config") or {}
    jobs: list[JobView] = []
    results: dict[str, Result] = {}
    for job in data.get("jobs", []):
        name = str(job.get("name"))
        ident = job_identity(job.get("config") or config, name)
        kernel = job.get("kernel") or {}
        view = JobView(name, ident, job, str(kernel.get("version") or ""), name)
        jobs.append(view)
        for r in fold_job(view):
            r.order = len(results)
            results.setdefault(r.key, r)
    return RunView(run_dir, data, jobs, results, header_from_json(data))


def fold_job(job: JobView) -> list[Result]:
    """The job's results, one per test path, iterations folded; plus the
    pseudo-test BOOT when the job got as far as booting."""
    rec = job_from_json(job.record)
    jd = job.dir
    out: dict[str, Result] = {}

    def get(path: str) -> Result:
        if path not in out:
            out[path] = Result(job.identity, path, "skip")
        return out[path]

    def count(r: Result, path: str, v: str, name: str, console: str) -> None:
        verdicts.setdefault(path, []).append(v)
        r.runs += 1
        r.bad += v in BAD
        r.passed += v == "pass"
        r.names.append(name)
        r.console = r.console or console

    def fold(r: Result, path: str, v: str, reason: str) -> None:
        # The worst iteration's reason explains the folded verdict.
        if worst_verdict(verdicts[path]) == v and (not r.reason or v != r.verdict):
            r.reason = reason
        r.verdict = worst_verdict(verdicts[path])

    verdicts: dict[str, list[str]] = {}
    for t in rec.results:
        path, v = t.test, t.verdict.value
        console = f"{jd}/{t.console or 'console.log'}"
        r = get(path)
        count(r, path, v, t.name, console)
        r.duration += t.duration
        if t.lam and t.lam not in r.lam.split("; "):
            r.lam = f"{r.lam}; {t.lam}" if r.lam else t.lam
        r.oopses += [_oops(o, jd, console) for o in t.oopses]
        r.outputs += [f"{jd}/{f}" for f in (t.stdout, t.stderr) if f]
        fold(r, path, v, t.reason)
        for sub in t.subtests:
            sp = f"{path} / {sub.name}"
            s = get(sp)
            count(s, sp, sub.verdict.value, f"{t.name} / {sub.name}", console)
            s.lam = r.lam
            fold(s, sp, sub.verdict.value, sub.reason)
    results = list(out.values())
    for r in results:
        r.titles = crash_titles(r.oopses) if r.verdict == "crash" else ()
    boot = _boot_result(job, rec)
    return ([boot] if boot is not None else []) + results


def _oops(o: OopsRef, jd: str, console: str) -> Oops:
    return Oops(normalize_title(o.title), o.title, o.kind,
                os.path.normpath(f"{jd}/{o.file}") if o.file else "",
                f"{jd}/{o.console}" if o.console else console, o.first_line, o.last_line)


def _boot_result(job: JobView, rec: JobRecord) -> Result | None:
    if rec.status in ("", "pending") and not rec.error:
        return None
    console = f"{job.dir}/{(job.record.get('consoles') or ['console.log'])[0]}"
    r = Result(job.identity, BOOT, "pass", runs=1, passed=1, names=["boot"], console=console)
    r.duration = float(rec.timings.get("qemu_start_to_ssh_s") or 0.0)
    r.oopses = [_oops(oops_from_json(o), job.dir, console) for o in rec.boot_oopses]
    if rec.error:
        r.verdict, r.reason, r.passed = "error", rec.error, 0
    elif r.oopses:
        r.verdict, r.bad, r.passed = "crash", 1, 0
        r.reason = r.oopses[0].raw_title
        r.titles = crash_titles(r.oopses)
    return r


def crash_titles(oopses: list[Oops]) -> tuple[str, ...]:
    """The distinct titles a crash is known by, without the ``kernel panic:
    Fatal exception`` (or any panic) that follows another report under
    ``panic_on_oops``: a consequence, not a second bug (bisect drops it too).
    A panic with no report before it (sysrq, a panic() call) stays."""
    keep: set[str] = set()
    other_in: set[str] = set()  # folders (one per iteration) with a non-panic report
    for o in oopses:
        where = os.path.dirname(o.file)
        if is_panic_title(o.title):
            if where in other_in:
                continue
        else:
            other_in.add(where)
        keep.add(o.title)
    return tuple(sorted(keep))


def load_history(folder: Path, exclude: Iterable[str] = (),
                 related_to: set[str] | None = None, window: int | None = None) -> list[RunView]:
    """Past runs in ``folder`` (its subfolders holding a run.json), oldest
    first; runs still going, interrupted or unreadable are left out, and so
    are those in ``exclude`` (run ids).  With ``related_to`` (job keys), only
    runs sharing a job with them; ``window`` keeps the newest N."""
    if not folder.is_dir():
        raise UserError(f"--history {folder}: no such folder")
    skip = set(exclude)
    runs: list[RunView] = []
    seen: set[str] = set()
    for sub in sorted(folder.iterdir()):
        if not (sub / "run.json").is_file():
            continue
        try:
            r = load_run(sub)
        except UserError:
            continue
        if r.status in ("running", "interrupted") or r.run_id in skip or r.run_id in seen:
            continue
        if related_to is not None and not (r.job_keys & related_to):
            continue
        seen.add(r.run_id)
        runs.append(r)
    runs.sort(key=lambda r: (r.started, r.run_id))
    if window is not None:
        runs = runs[-window:] if window > 0 else []
    return runs
