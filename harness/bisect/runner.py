"""The step runner: given a commit, build it and run the config's tests in a
fresh VM, one run at a time.  Bisection only sees the :class:`StepRunner`
protocol, so its logic runs as well against a fake (unit tests, the
simulation) as against the real pipeline (:class:`PipelineRunner`)."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Protocol

from .. import hosts
from ..config import Config, KernelSource
from ..errors import (
    EXIT_INFRA,
    EXIT_OK,
    EXIT_TEST_FAILED,
    HarnessError,
    MissingToolError,
    UserError,
)
from ..model import Verdict
from ..parse.oops import is_panic_title, normalize_title
from ..pipeline import Paths, host_meta, run_job
from ..plan import plan
from ..results import junit
from ..results.schema import SCHEMA, JobRecord
from ..results.store import RunStore
from ..vm import hostinfo
from .state import BuildRecord, RunRecord


class StepRunner(Protocol):
    def build(self, commit: str, step_dir: Path | None) -> BuildRecord:
        """Build the kernel at ``commit``; a failure is a record (``ok``
        False), not an exception, unless no commit could ever build (a
        missing tool)."""

    def run(self, commit: str, step_dir: Path | None, index: int) -> RunRecord:
        """One boot running the tests on the built kernel."""


def crash_titles(reports: list[tuple[str, str]]) -> list[str]:
    """Normalized titles of (kind, title) reports in console order, without
    the panic that follows another report (``kernel panic: Fatal exception``
    after every oops under panic_on_oops: a consequence, the same for every
    bug, never the bug).  A panic is told by its kind, or by its title when
    the kind is unknown, in either spelling (``kernel panic: ...``, or
    ``Kernel panic - not syncing: ...`` in runs recorded before the titles
    followed the bots' convention)."""
    out: list[str] = []
    for i, (kind, title) in enumerate(reports):
        if not title or (i > 0 and (kind == "panic" or is_panic_title(title))):
            continue
        out.append(normalize_title(title))
    return list(dict.fromkeys(out))


def run_record(rec: JobRecord, index: int = 0) -> RunRecord:
    """A job's results reduced to crash titles (normalized), failed tests and
    infrastructure errors."""
    reports: list[tuple[str, str]] = []
    failed: list[str] = []
    errors: list[str] = []
    for r in rec.results:
        if r.verdict is Verdict.CRASH:
            reports.extend([(o.kind, o.title) for o in r.oopses] or [("", r.reason)])
        elif r.verdict is Verdict.FAIL:
            failed.append(r.test)
        elif r.verdict is Verdict.ERROR:
            errors.append(f"{r.name}: {r.reason}")
    reports.extend((o.get("kind", ""), o.get("title", "")) for o in rec.boot_oopses)
    crashes = crash_titles(reports)
    error = rec.error or (errors[0] if errors else "")
    status = "error" if error and not crashes else "ran"
    return RunRecord(index, status, crashes, list(dict.fromkeys(failed)), error)


def config_at(cfg: Config, repo: Path, commit: str, extra_patches: list[str] | None = None
              ) -> Config:
    """``cfg`` with its kernel source replaced by ``repo`` at ``commit``."""
    kernel = dataclasses.replace(cfg.kernel, source=KernelSource(git=str(repo), ref=commit),
                                 patches=list(cfg.kernel.patches) + list(extra_patches or []))
    return dataclasses.replace(cfg, kernel=kernel)


class PipelineRunner:
    """Real builds (the shared, content-addressed cache: one tree and one
    build folder per repository, so consecutive commits build incrementally)
    and real VM runs through :func:`harness.pipeline.run_job`."""

    def __init__(self, cfg: Config, repo: Path, kernels: Path, tests: list[str] | None,
                 argv: list[str] | None = None) -> None:
        self.cfg = cfg
        self.repo = repo
        self.kernels = kernels
        self.tests = tests
        self.argv = argv or []
        self._facts: hostinfo.HostFacts | None = None
        self._host: hosts.Host = hosts.LOCAL

    def build(self, commit: str, step_dir: Path | None) -> BuildRecord:
        from ..kernel.build import build

        t0 = time.monotonic()
        try:
            b = build(config_at(self.cfg, self.repo, commit), self.kernels)
        except MissingToolError:
            raise
        except HarnessError as e:
            return BuildRecord(False, round(time.monotonic() - t0, 2), error=str(e)[-3000:],
                               blame="user" if isinstance(e, UserError) else "infra")
        timings = b.info.get("timings") or {}
        return BuildRecord(True, round(time.monotonic() - t0, 2), hit=b.hit, key=b.key,
                           log=str(b.dir / "build.log"), make_s=timings.get("make_s"))

    def run(self, commit: str, step_dir: Path | None, index: int) -> RunRecord:
        assert step_dir is not None
        cfg = config_at(self.cfg, self.repo, commit)
        if self._facts is None:
            # The config's runner (host:, or the first of hosts:): local or over SSH.
            self._host = hosts.runners(cfg)[0].host
            self._facts = self._host.facts(cfg.machine.qemu)
        facts = self._facts
        root = step_dir / f"run-{index}"
        shutil.rmtree(root, ignore_errors=True)  # a run interrupted before: redone whole
        root.mkdir(parents=True)
        store = RunStore(root, {"schema": SCHEMA, "run_id": root.name, "status": "running",
                                "config_file": str(self.cfg.path), "commit": commit,
                                "reproducer": " ".join(self.argv), **host_meta(facts)})
        store.save()
        job = plan(cfg, self.tests)[0]
        t0 = time.monotonic()
        status, code = "interrupted", 130
        try:
            rec = run_job(job, store, Paths(self.kernels, step_dir), facts, host=self._host)
            code = (EXIT_INFRA if rec.error else EXIT_TEST_FAILED if rec.status == "failed"
                    else EXIT_OK)
            status = rec.status
        finally:
            junit.write(store.jobs, root)
            store.finish(status, code)
        out = run_record(rec, index)
        out.seconds = round(time.monotonic() - t0, 2)
        return out
