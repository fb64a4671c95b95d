"""Every result of a run classified against a baseline run and a history
window: new failure, fixed, still failing, new test, gone, flaky, known (XFAIL),
or unchanged (passing, skipped, not run, error).

Rules (``docs/results.md`` has them for users):
- the *reference* outcome of a test is the baseline's when it passed or failed
  there, else the newest pass/fail in the history window;
- a failure (fail or crash) is *new* when the reference passed, when there is
  no reference at all (a new test, or no baseline), or when it crashed with an
  oops title the reference did not have; *still failing* otherwise;
- a pass is *fixed* when the reference failed;
- *flaky*: the pass/fail outcome flipped at least twice over the window
  (history, baseline and this run, oldest first; a run where any iteration
  failed counts as failed); flaky beats new/fixed/still failing;
- *known*: a failure matched by a live known issue (XFAIL); beats everything;
- *gone*: in the baseline, not in this run."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import known as known_mod
from .runs import BAD, KCIDB_STATUS, Result, RunView

NEW, FIXED, STILL, NEW_TEST, GONE, FLAKY, KNOWN = (
    "new_failure", "fixed", "still_failing", "new_test", "gone", "flaky", "known")
PASSING, SKIPPED, NOT_RUN, ERROR = "passing", "skipped", "not_run", "error"
CLASSES = (NEW, FIXED, STILL, KNOWN, FLAKY, NEW_TEST, GONE, ERROR, NOT_RUN, PASSING, SKIPPED)

FAIL_ON = ("new", "any", "never")


@dataclass
class Seen:
    """A result as seen in another run."""

    run_id: str
    started: str
    kernel: str
    verdict: str
    titles: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "date": self.started, "kernel": self.kernel,
                "verdict": self.verdict}


@dataclass
class Classified:
    result: Result
    cls: str
    baseline: Seen | None = None
    reference: Seen | None = None
    last_passed: Seen | None = None
    known: known_mod.KnownIssue | None = None
    flips: int = 0
    window_pass: int = 0
    window_fail: int = 0
    note: str = ""

    @property
    def status(self) -> str:
        """Reported status: KCIDB's, with XFAIL for known failures."""
        if self.cls == GONE:
            return "MISS"
        if self.cls == KNOWN:
            return "XFAIL"
        return KCIDB_STATUS.get(self.result.verdict, "ERROR")

    @property
    def is_new(self) -> bool:
        """Counts for --fail-on new: a new failure, or a new test that fails."""
        return self.cls == NEW or (self.cls == NEW_TEST and self.result.is_bad)

    def to_json(self) -> dict[str, Any]:
        r = self.result
        d: dict[str, Any] = {
            "id": r.id, "key": r.key, "job": r.job.name, "job_key": r.job.key, "path": r.path,
            "class": self.cls, "status": self.status,
            "verdict": "absent" if self.cls == GONE else r.verdict,
            "xfail": self.cls == KNOWN, "reason": r.reason, "titles": list(r.titles),
            "iterations": r.runs, "failed_iterations": r.bad, "duration": round(r.duration, 3),
            "names": r.names,
            "baseline": self.baseline.to_json() if self.baseline else None,
            "last_passed": self.last_passed.to_json() if self.last_passed else None,
            "known": self.known.to_json() if self.known else None,
        }
        if self.flips or self.window_pass or self.window_fail:
            d["window"] = {"passed": self.window_pass, "failed": self.window_fail,
                           "flips": self.flips}
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class Comparison:
    run: RunView
    baseline: RunView | None
    history: list[RunView]
    items: list[Classified]
    known: known_mod.KnownMatch | None = None
    known_file: str | None = None
    today: dt.date = field(default_factory=dt.date.today)

    def of(self, *classes: str) -> list[Classified]:
        return [c for c in self.items if c.cls in classes]

    @property
    def new(self) -> list[Classified]:
        return [c for c in self.items if c.is_new]

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(i.cls for i in self.items)
        return {k: c.get(k, 0) for k in CLASSES}

    @property
    def infra_errors(self) -> list[str]:
        """Infrastructure problems not waived by a known issue (a job's boot
        error is its "(boot)" result's)."""
        out = [f"{c.result.label}: {c.result.reason}" for c in self.items if c.cls == ERROR]
        if self.run.data.get("error"):
            out.append(str(self.run.data["error"]))
        missing = self.run.data.get("merge_missing") or []
        if missing:
            out.append(f"not run by any shard: {', '.join(map(str, missing))}")
        return out

    def exit_code(self, fail_on: str) -> int:
        """0 / 1 (failures per ``fail_on``) / 3 (infrastructure)."""
        if fail_on == "never":
            return 0
        bad = (self.new if fail_on == "new" else
               [c for c in self.items if c.result.is_bad and c.cls not in (KNOWN, GONE)])
        if bad:
            return 1
        if self.infra_errors:
            return 3
        return 0

    def to_json(self, fail_on: str | None = None) -> dict[str, Any]:
        def run_ref(r: RunView) -> dict[str, Any]:
            return {"run_id": r.run_id, "dir": str(r.dir), "started": r.started,
                    "status": r.status, "kernels": r.kernels}

        d: dict[str, Any] = {
            "schema": 1,
            "run": run_ref(self.run),
            "baseline": run_ref(self.baseline) if self.baseline else None,
            "history": [run_ref(h) for h in self.history],
            "known_file": self.known_file,
            "counts": self.counts,
            "new": [c.result.id for c in self.new],
            "jobs": {j.identity.key: j.identity.to_json() for j in self.run.jobs},
            "results": [c.to_json() for c in self.items],
            "infra_errors": self.infra_errors,
        }
        if self.known is not None:
            d["known_issues"] = {
                "seen": {k: v for k, v in self.known.seen.items() if v},
                "not_seen": [{**i.to_json(), "why": why,
                              "message": "known issue not seen: close it?"}
                             for i, why in self.known.not_seen],
                "expired": [{**i.to_json(), "message": "known issue expired: no longer "
                                                       "matches; renew or close it"}
                            for i in self.known.expired],
            }
        if fail_on is not None:
            d["gate"] = {"fail_on": fail_on, "exit_code": self.exit_code(fail_on)}
        return d


def _seen(run: RunView, r: Result) -> Seen:
    return Seen(run.run_id, run.started, run.kernel_of(r.job.key), r.verdict, r.titles)


def _outcome(verdict: str) -> str | None:
    if verdict in BAD:
        return "F"
    if verdict == "pass":
        return "P"
    return None


def classify(run: RunView, baseline: RunView | None = None,
             history: list[RunView] | None = None,
             known: known_mod.KnownFile | None = None,
             today: dt.date | None = None) -> Comparison:
    today = today or dt.date.today()
    hist = [h for h in (history or []) if h.run_id != run.run_id]
    # The window: history, then the baseline (when not in it already), oldest first.
    window = list(hist)
    if baseline is not None and baseline.run_id not in {h.run_id for h in hist}:
        window.append(baseline)
    window.sort(key=lambda r: (r.started, r.run_id))
    results = list(run.results.values())
    km = known_mod.apply(known, results, today) if known is not None else None
    items: list[Classified] = []
    for r in results:
        c = Classified(r, PASSING)
        past = [(w, w.results[r.key]) for w in window if r.key in w.results]
        if baseline is not None and r.key in baseline.results:
            c.baseline = _seen(baseline, baseline.results[r.key])
        ref = c.baseline if c.baseline and _outcome(c.baseline.verdict) else None
        if ref is None:
            for w, pr in reversed(past):
                if _outcome(pr.verdict):
                    ref = _seen(w, pr)
                    break
        c.reference = ref
        for w, pr in reversed(past):
            if pr.verdict == "pass":
                c.last_passed = _seen(w, pr)
                break
        seq = [o for o in (_outcome(pr.verdict) for _, pr in past) if o]
        c.window_pass = seq.count("P")
        c.window_fail = seq.count("F")
        now = _outcome(r.verdict)
        full = seq + ([now] if now else [])
        c.flips = sum(1 for a, b in zip(full, full[1:], strict=False) if a != b)
        # Failing in some iterations of one run is how an intermittent bug shows
        # (a repro loop): that alone is not flaky; flips between runs are.
        flaky = c.flips >= 2
        if r.mixed:
            c.note = f"passed {r.passed}, failed {r.bad} of {r.runs} iterations in this run"
        if km is not None and r.key in km.matched:
            c.cls, c.known = KNOWN, km.matched[r.key]
        elif r.is_bad:
            if flaky:
                c.cls = FLAKY
            elif ref is None:
                c.cls = NEW_TEST if window and not past else NEW
                if c.cls == NEW:
                    c.note = "no earlier pass or fail known" if past else "no baseline"
            elif ref.verdict == "pass":
                c.cls = NEW
            else:
                new_titles = [t for t in r.titles if t not in ref.titles]
                if r.verdict == "crash" and new_titles:
                    c.cls = NEW
                    was = " | ".join(ref.titles) or ref.verdict
                    c.note = f"new crash title (was: {was})"
                else:
                    c.cls = STILL
        elif r.verdict == "pass":
            if flaky:
                c.cls = FLAKY
            elif ref is not None and ref.verdict in BAD:
                c.cls = FIXED
            elif window and not past:
                c.cls = NEW_TEST
            else:
                c.cls = PASSING
        elif r.verdict == "skip":
            c.cls = SKIPPED
        elif r.verdict == "notrun":
            c.cls = NOT_RUN
        else:
            c.cls = ERROR
        items.append(c)
    if baseline is not None:
        for key, br in baseline.results.items():
            if key not in run.results:
                c = Classified(br, GONE, baseline=_seen(baseline, br))
                items.append(c)
    return Comparison(run, baseline, hist, items, km, known.path if known else None, today)
