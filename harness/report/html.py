"""``summary.html``: one self-contained page (inline CSS, JS and SVG; a CSP
that forbids any fetch), readable from a CI artifact or a mail attachment.

Order: the three lists (new / fixed / still failing + known), the smaller
ones (flaky, errors, not run, gone, known issues to close), a pass/fail/crash
chart over the history window, then every job with its tests, oops reports
folded in ``<details>``, and relative links to console logs and outputs."""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape
from pathlib import Path

from ..bounded import read_bounded
from ..results.schema import lam_label
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
from .runs import BOOT, RunView

OOPS_MAX = 64 * 1024
CHART_RUNS = 30

CSS = """
:root{--fg:#1d1f21;--muted:#5f6368;--bd:#d9dce0;--bg:#fff;--pass:#2e7d32;--fail:#c62828;
--crash:#6a1b9a;--err:#ef6c00;--skip:#78909c;--known:#1565c0}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;max-width:1200px;padding:16px 24px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}
h3{font-size:14px;margin:12px 0 4px}
.meta{color:var(--muted);margin:2px 0}
.lists{display:grid;grid-template-columns:repeat(3,1fr);gap:12px}
.box{border:1px solid var(--bd);border-radius:6px;padding:8px 12px}
.box.new{border-top:4px solid var(--fail)}.box.fixed{border-top:4px solid var(--pass)}
.box.still{border-top:4px solid var(--known)}
.box ul{margin:4px 0;padding-left:18px}.box li{margin:4px 0}
.none{color:var(--muted)}
.small{font-size:12px;color:var(--muted)}
.v{display:inline-block;border-radius:3px;padding:0 5px;color:#fff;font-size:12px;
font-weight:600;text-transform:uppercase}
.v-pass{background:var(--pass)}.v-fail{background:var(--fail)}.v-crash{background:var(--crash)}
.v-error{background:var(--err)}.v-notrun,.v-skip,.v-absent{background:var(--skip)}
.v-xfail{background:var(--known)}
.c{font-size:12px;color:var(--muted)}
.c-new_failure{color:var(--fail);font-weight:600}.c-fixed{color:var(--pass);font-weight:600}
.c-known{color:var(--known)}.c-flaky{color:var(--err)}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid var(--bd);padding:4px 6px;text-align:left;vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
td.num{text-align:right;white-space:nowrap}
pre{background:#f6f8fa;border:1px solid var(--bd);padding:8px;overflow:auto;max-height:480px;
font-size:12px;margin:4px 0}
details summary{cursor:pointer}
.tools{margin:8px 0}.tools button{font:inherit}
svg text{font-size:10px;fill:var(--muted)}
a{color:#0b57d0}
@media (max-width:800px){.lists{grid-template-columns:1fr}}
"""

JS = """
(function () {
  var only = document.getElementById('only-problems');
  if (only) {
    only.addEventListener('change', function () {
      var rows = document.querySelectorAll('tr[data-ok="1"]');
      for (var i = 0; i < rows.length; i++) { rows[i].hidden = only.checked; }
    });
  }
  var expand = document.getElementById('expand-all');
  if (expand) {
    expand.addEventListener('click', function () {
      var ds = document.querySelectorAll('details.oops');
      var open = false;
      for (var i = 0; i < ds.length; i++) { if (!ds[i].open) { open = true; } }
      for (var j = 0; j < ds.length; j++) { ds[j].open = open; }
      expand.textContent = open ? 'fold all oopses' : 'unfold all oopses';
    });
  }
  document.documentElement.setAttribute('data-ready', '1');
})();
"""

CHART_COLORS = {"pass": "#2e7d32", "fail": "#c62828", "crash": "#6a1b9a", "other": "#ef6c00"}
CSS += "".join(f".lg-{k}{{background:{c}}}" for k, c in CHART_COLORS.items()) + "\n"


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# No 'unsafe-inline': the page's one style block and one script are allowed
# by their hashes, so markup a guest smuggled past the escaping could still
# neither run script nor restyle the page (no style= attributes either).
CSP = (f"default-src 'none'; style-src {_sha256(CSS)}; script-src {_sha256(JS)}; "
       "img-src data:")


def _e(s: object) -> str:
    return escape(str(s), quote=True)


def _badge(verdict: str) -> str:
    return f'<span class="v v-{_e(verdict)}">{_e(verdict)}</span>'


def _link(href: str, text: str) -> str:
    return f'<a href="{_e(href)}">{_e(text)}</a>'


def _ext_link(url: str) -> str:
    """A known issue's link (from a YAML anyone may edit): a link for http(s)
    URLs only; ``javascript:``, ``data:`` and the rest are shown as text."""
    if re.match(r"https?://[^\s]+\Z", url, re.IGNORECASE | re.ASCII):
        return _link(url, url)
    return _e(url)


def _item(c: Classified) -> str:
    r = c.result
    verdict = "xfail" if c.cls == KNOWN else ("absent" if c.cls == GONE else r.verdict)
    parts = [f"{_badge(verdict)} <b>{_e(r.label)}</b>"]
    if r.subject:
        parts.append(f": {_e(r.subject)}")
    if r.runs > 1 and r.bad:
        parts.append(f' <span class="small">({r.bad}/{r.runs} iterations)</span>')
    notes: list[str] = []
    if c.cls == KNOWN and c.known is not None:
        notes.append(f"known: {_e(c.known.reason)} ({_ext_link(c.known.link)})")
    elif c.is_new:
        if c.last_passed is not None:
            lp = c.last_passed
            notes.append(f"last passed in {_e(lp.run_id)} ({_e(lp.started[:10])}, "
                         f"{_e(lp.kernel or 'kernel ?')})")
        elif c.cls == NEW_TEST:
            notes.append("new test")
        else:
            notes.append("never seen passing" + (f" ({_e(c.note)})" if c.note else ""))
        if c.note.startswith("new crash title"):
            notes.append(_e(c.note))
    elif c.cls == FIXED and c.reference is not None:
        notes.append(f"was {_e(c.reference.verdict)} in {_e(c.reference.run_id)}")
    elif c.cls == STILL and c.reference is not None:
        notes.append(f"also in {_e(c.reference.run_id)}")
    elif c.cls == FLAKY:
        notes.append(f"{c.window_fail} failed / {c.window_pass} passed in the window, "
                     f"{c.flips} flips")
    if r.console and c.cls != GONE:
        notes.append(_link(r.console, "console"))
    note = f'<br><span class="small">{" · ".join(notes)}</span>' if notes else ""
    return f"<li>{''.join(parts)}{note}</li>"


def _list(title: str, cls: str, items: list[Classified]) -> str:
    body = ("<ul>" + "".join(_item(c) for c in items) + "</ul>" if items
            else '<p class="none">none</p>')
    return f'<div class="box {cls}"><h2>{_e(title)} ({len(items)})</h2>{body}</div>'


def _minor(title: str, items: list[Classified]) -> str:
    if not items:
        return ""
    return f"<h3>{_e(title)} ({len(items)})</h3><ul>" + "".join(_item(c) for c in items) + "</ul>"


def _counts(run: RunView) -> dict[str, int]:
    c = {"pass": 0, "fail": 0, "crash": 0, "other": 0}
    for r in run.results.values():
        if r.verdict in ("pass", "fail", "crash"):
            c[r.verdict] += 1
        elif r.verdict in ("error", "notrun"):
            c["other"] += 1
    return c


def chart(cmp: Comparison) -> str:
    """Stacked bars, one per run of the window (oldest left) and this run."""
    runs = list(cmp.history)
    if cmp.baseline is not None and cmp.baseline.run_id not in {r.run_id for r in runs}:
        runs.append(cmp.baseline)
    runs.sort(key=lambda r: (r.started, r.run_id))
    runs = runs[-(CHART_RUNS - 1):] + [cmp.run]
    data = [(r, _counts(r)) for r in runs]
    top = max([sum(c.values()) for _, c in data] + [1])
    bw, gap, h, pad = 18, 6, 120, 16
    width = len(data) * (bw + gap) + 40
    colors = CHART_COLORS
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + 2 * pad}" '
           f'role="img" aria-label="pass, fail and crash counts per run">']
    out.append(f'<text x="0" y="{pad - 4}">{top}</text>'
               f'<line x1="30" y1="{pad}" x2="{width}" y2="{pad}" stroke="#eee"/>'
               f'<line x1="30" y1="{pad + h}" x2="{width}" y2="{pad + h}" stroke="#999"/>')
    for i, (r, c) in enumerate(data):
        x = 34 + i * (bw + gap)
        y = float(pad + h)
        tip = (f"{r.run_id}: {c['pass']} pass, {c['fail']} fail, {c['crash']} crash, "
               f"{c['other']} error/not run")
        out.append(f"<g><title>{_e(tip)}</title>")
        for k in ("pass", "fail", "crash", "other"):
            if not c[k]:
                continue
            bh = max(1.0, h * c[k] / top)
            y -= bh
            out.append(f'<rect x="{x}" y="{y:.1f}" width="{bw}" height="{bh:.1f}" '
                       f'fill="{colors[k]}" class="bar-{k}"/>')
        out.append("</g>")
        if r is cmp.run:
            out.append(f'<text x="{x}" y="{pad + h + 12}">now</text>')
    out.append("</svg>")
    legend = " ".join(f'<span class="v lg-{k}">{k}</span>' for k in colors)
    return "".join(out) + f'<p class="small">{legend} — {len(data)} run(s), oldest left</p>'


def _read(run_dir: Path, rel: str) -> str:
    try:
        data = read_bounded(run_dir / rel, OOPS_MAX, tail=False)
    except OSError:
        return "(oops file missing)"
    return data.decode("utf-8", "replace")


def _job_section(cmp: Comparison, job_index: int) -> str:
    run = cmp.run
    job = run.jobs[job_index]
    rec = job.record
    acc = rec.get("accel") or {}
    lam = rec.get("lam") or {}
    lam_s = lam_label(lam)
    consoles = rec.get("consoles") or ["console.log"]
    links = " ".join(_link(f"{job.dir}/{c}", c) for c in consoles)
    out = [f'<section class="job" id="job-{_e(job.name)}"><h2>job {_e(job.name)} '
           f'<span class="small">({_e(rec.get("status", "?"))})</span></h2>',
           f'<p class="meta">kernel {_e(job.kernel_version or "?")} · '
           f'{_e(job.identity.kernel)} · QEMU {_e(acc.get("accel", "?"))}, '
           f'-cpu {_e(acc.get("cpu", "?"))} · LAM {_e(lam_s)} · console: {links}</p>']
    if job.error:
        out.append(f'<p><span class="v v-error">error</span> {_e(job.error)}</p>')
    out.append('<table><thead><tr><th>test</th><th>verdict</th><th>class</th><th>time</th>'
               '<th>details</th></tr></thead><tbody>')
    items = [c for c in cmp.items if c.cls != GONE and c.result.job.key == job.identity.key]
    for c in items:
        r = c.result
        verdict = "xfail" if c.cls == KNOWN else r.verdict
        ok = r.verdict in ("pass", "skip") and c.cls not in (FIXED, FLAKY)
        details: list[str] = []
        if r.reason and r.verdict != "pass":
            details.append(_e(r.reason))
        if r.lam and r.lam != lam_s:
            details.append(f"LAM {_e(r.lam)}")
        if c.known is not None:
            details.append(f"known: {_e(c.known.reason)} ({_ext_link(c.known.link)})")
        if r.runs > 1:
            details.append(f'<span class="small">{r.passed}/{r.runs} iterations passed</span>')
        for o in r.oopses:
            where = f"{o.console}:{o.first_line}-{o.last_line}"
            details.append(f'<details class="oops"><summary>{_e(o.raw_title)} '
                           f'<span class="small">({_e(o.kind)}; {_e(where)})</span></summary>'
                           f"<pre>{_e(_read(run.dir, o.file))}</pre></details>"
                           if o.file else f"{_e(o.raw_title)}")
        files = [_link(f, "/".join(Path(f).parts[-2:]) if r.runs > 1 else Path(f).name)
                 for f in r.outputs]
        if r.oopses and r.console:
            files.append(_link(r.console, "console"))
        if files:
            details.append('<span class="small">' + " ".join(files) + "</span>")
        name = "boot" if r.path == BOOT else r.path
        out.append(f'<tr data-ok="{1 if ok else 0}" data-class="{_e(c.cls)}">'
                   f"<td>{_e(name)}</td><td>{_badge(verdict)}</td>"
                   f'<td><span class="c c-{_e(c.cls)}">{_e(c.cls.replace("_", " "))}</span></td>'
                   f'<td class="num">{r.duration:.1f}s</td><td>{"<br>".join(details)}</td></tr>')
    out.append("</tbody></table></section>")
    return "".join(out)


def render(cmp: Comparison, fail_on: str | None = None) -> str:
    run = cmp.run
    title = f"lam-harness: {run.name} {run.run_id}"
    base = (f"baseline {_e(cmp.baseline.run_id)} ({_e(', '.join(cmp.baseline.kernels) or '?')})"
            if cmp.baseline else "no baseline")
    gate = ""
    if fail_on is not None:
        gate = f" · gate --fail-on {_e(fail_on)}: exit {cmp.exit_code(fail_on)}"
    head = [f'<header><h1>{_e(title)}</h1>',
            f'<p class="meta">status {_e(run.status or "?")} · kernel '
            f'{_e(", ".join(run.kernels) or "?")} · started {_e(run.started or "?")} · '
            f'{base} · {len(cmp.history)} earlier run(s) in the window{gate}</p>']
    if run.data.get("reproducer"):
        head.append(f'<p class="meta">reproducer: <code>{_e(run.data["reproducer"])}</code></p>')
    head.append("</header>")
    lists = ['<section class="lists" id="lists">',
             _list("New failures", "new", cmp.new),
             _list("Fixed", "fixed", cmp.of(FIXED)),
             _list("Still failing and known", "still", cmp.of(STILL, KNOWN)),
             "</section>"]
    minor = [_minor("Flaky", cmp.of(FLAKY)), _minor("Errors (infrastructure)", cmp.of(ERROR)),
             _minor("Not run", cmp.of(NOT_RUN)),
             _minor("New tests passing", [c for c in cmp.of(NEW_TEST) if not c.is_new]),
             _minor("Gone (in the baseline, not in this run)", cmp.of(GONE))]
    km = cmp.known
    if km is not None and km.not_seen:
        minor.append(f"<h3>Known issues not seen: close them? ({len(km.not_seen)})</h3><ul>"
                     + "".join(f"<li><b>{_e(i.id)}</b>: {_e(i.reason)} "
                               f"({_ext_link(i.link)}) <span class=\"small\">{_e(why)}"
                               "</span></li>" for i, why in km.not_seen) + "</ul>")
    if km is not None and km.expired:
        minor.append(f"<h3>Known issues expired ({len(km.expired)})</h3><ul>"
                     + "".join(f"<li><b>{_e(i.id)}</b> expired {_e(i.expires)}: "
                               f"{_e(i.reason)} ({_ext_link(i.link)})</li>"
                               for i in km.expired) + "</ul>")
    body = [*head, *lists, '<section id="more">', *minor, "</section>",
            '<section id="history"><h2>History</h2>', chart(cmp), "</section>",
            '<div class="tools"><label><input type="checkbox" id="only-problems"> only '
            'problems</label> <button type="button" id="expand-all">unfold all oopses</button>'
            "</div>"]
    body += [_job_section(cmp, i) for i in range(len(run.jobs))]
    if not run.jobs:
        body.append('<p class="none">no jobs in this run</p>')
    body.append(f'<p class="small">files: {_link("run.json", "run.json")} '
                f'{_link("junit.xml", "junit.xml")} {_link("compare.json", "compare.json")} '
                f'{_link("kcidb.json", "kcidb.json")} {_link("summary.txt", "summary.txt")}</p>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + f"<script>{JS}</script></body></html>\n")
