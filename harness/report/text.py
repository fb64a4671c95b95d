"""``summary.txt``: short, plain, pasteable into an LKML reply or a chat."""

from __future__ import annotations

from ..textsafe import oneline
from .compare import (
    ERROR,
    FIXED,
    FLAKY,
    GONE,
    KNOWN,
    NEW_TEST,
    NOT_RUN,
    STILL,
    Classified,
    Comparison,
)

MAX_ITEMS = 30  # per list; the rest is counted


def _date(iso: str) -> str:
    return iso[:10] if iso else "?"


def _line(c: Classified) -> list[str]:
    r = c.result
    lines = [f"  {r.label}: {r.verdict}" + (f": {r.subject}" if r.subject else "")]
    if r.runs > 1 and r.bad:
        lines[0] += f" ({r.bad}/{r.runs} iterations)"
    if c.cls == KNOWN and c.known is not None:
        lines.append(f"    known: {c.known.reason} <{c.known.link}>")
    elif c.is_new:
        if c.last_passed is not None:
            lp = c.last_passed
            lines.append(f"    last passed: {lp.run_id} ({_date(lp.started)}, "
                         f"{lp.kernel or 'kernel ?'})")
        elif c.cls == NEW_TEST:
            lines.append("    new test: never ran before")
        else:
            lines.append("    never seen passing" + (f" ({c.note})" if c.note else ""))
        if c.note.startswith("new crash title"):
            lines.append(f"    {c.note}")
    elif c.cls == STILL and c.reference is not None:
        lines.append(f"    failing in {c.reference.run_id} too")
    elif c.cls == FIXED and c.reference is not None:
        lines.append(f"    was {c.reference.verdict} in {c.reference.run_id}")
    elif c.cls == FLAKY:
        lines.append(f"    flaky: {c.window_fail} failed / {c.window_pass} passed in the window, "
                     f"{c.flips} flips" + (f"; {c.note}" if c.note else ""))
    return lines


def _section(title: str, items: list[Classified]) -> list[str]:
    out = [f"{title} ({len(items)}):"]
    if not items:
        return out + ["  none"]
    for c in items[:MAX_ITEMS]:
        out += _line(c)
    if len(items) > MAX_ITEMS:
        out.append(f"  ... and {len(items) - MAX_ITEMS} more (compare.json)")
    return out


def summary(cmp: Comparison, fail_on: str | None = None) -> str:
    run = cmp.run
    kernels = ", ".join(run.kernels) or "kernel ?"
    base = (f"against {cmp.baseline.run_id} ({', '.join(cmp.baseline.kernels) or 'kernel ?'})"
            if cmp.baseline else "no baseline")
    counts = cmp.counts
    still = cmp.of(STILL, KNOWN)
    lines = [f"lam-harness: {run.name} run {run.run_id} on {kernels}, {base}",
             f"{len(cmp.new)} new failure(s), {counts[FIXED]} fixed, {len(still)} still "
             f"failing ({counts[KNOWN]} known), {counts[FLAKY]} flaky"
             + (f"; {len(cmp.history)} earlier run(s) in the window" if cmp.history else ""),
             ""]
    lines += _section("New failures", cmp.new) + [""]
    lines += _section("Fixed", cmp.of(FIXED)) + [""]
    lines += _section("Still failing (known issues marked)", still)
    extra: list[tuple[str, list[Classified]]] = [
        ("Flaky", cmp.of(FLAKY)),
        ("Errors (infrastructure)", cmp.of(ERROR)),
        ("Not run", cmp.of(NOT_RUN)),
        ("New tests passing", [c for c in cmp.of(NEW_TEST) if not c.is_new]),
        ("Gone (in the baseline, not in this run)", cmp.of(GONE)),
    ]
    for title, items in extra:
        if items:
            lines += [""] + _section(title, items)
    km = cmp.known
    if km is not None and km.not_seen:
        lines += ["", f"Known issues not seen: close them? ({len(km.not_seen)}):"]
        lines += [f"  {i.id}: {i.reason} <{i.link}> ({why})" for i, why in km.not_seen]
    if km is not None and km.expired:
        lines += ["", f"Known issues expired, no longer matching ({len(km.expired)}):"]
        lines += [f"  {i.id}: expired {i.expires}: {i.reason} <{i.link}>" for i in km.expired]
    if fail_on is not None:
        lines += ["", f"gate --fail-on {fail_on}: exit {cmp.exit_code(fail_on)}"]
    # every line is built here; guest text inside one can never start another
    return "\n".join(oneline(ln) for ln in lines) + "\n"
