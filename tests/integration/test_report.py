"""Nightly reporting on REAL runs of Debian's 6.12 cloud kernel in QEMU: a real
sysrq panic against a clean baseline, the reverse, a known issue, the
--fail-on gate, two shards merged against one unsharded run, and the HTML in a
real headless Chromium.

(The issue asks for the demo-bug config at different rates; that needs a
kernel build, so these runs use the prebuilt cloud kernel, whose crash is
``echo c > /proc/sysrq-trigger``.)"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium_binary, keep_artifact, load_page
from tests.conftest import need
from tests.integration.helpers import cli, run, write_config

CRASH = "echo c > /proc/sysrq-trigger"
TESTS = """
machine: {{boot_timeout: 120}}
tests:
  - {{name: passes, run: "echo hello", timeout: 30}}
  - {{name: fails, run: "echo broken >&2; exit 1", timeout: 30}}
  - {{name: repeated, run: "true", repeat: 2, timeout: 30}}
  - {{name: maybe-crash, run: "{crash}", timeout: 60}}
  - {{name: after, run: "true", timeout: 30}}
"""
KNOWN = """\
issues:
  - id: sysrq
    test: maybe-crash
    title: "*sysrq triggered crash*"
    link: https://bugzilla.kernel.org/show_bug.cgi?id=1
    reason: sysrq-trigger crashes on purpose
"""


def _compare(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "compare.json").read_text())
    return data


def _classes(run_dir: Path) -> dict[str, str]:
    return {r["path"]: r["class"] for r in _compare(run_dir)["results"]}


def _check_page(page: Path, tmp_path: Path, artifact: str) -> dict[str, Any]:
    need(chromium_binary() is not None, "chromium not installed (apt-get install chromium)")
    rep = load_page(page, tmp_path / "chromium-profile", {
        "ready": "document.documentElement.getAttribute('data-ready')",
        "lists": "document.querySelectorAll('#lists .box').length",
        "rows": "document.querySelectorAll('tr[data-class]').length",
        "oopses": "document.querySelectorAll('details.oops').length",
        "svg": "document.querySelectorAll('#history svg rect').length",
        "title": "document.title"})
    shot = tmp_path / artifact
    shot.write_bytes(rep.screenshot)
    keep_artifact(shot, artifact)
    assert rep.errors == [], rep.errors
    assert rep.requests == [], rep.requests
    assert rep.screenshot.startswith(b"\x89PNG") and len(rep.screenshot) > 10_000
    assert rep.values["ready"] == "1" and rep.values["lists"] == 3
    return rep.values


@pytest.mark.vm
def test_crash_against_clean_baseline_fixed_known_and_gate(debian_kernel: Path,
                                                           tmp_path: Path) -> None:
    # Same config name and kernel, so the same job: only a test's command differs.
    for d in ("clean", "crash"):
        (tmp_path / d).mkdir()
    clean_cfg = write_config(tmp_path / "clean", TESTS.format(crash="true"), name="nightly")
    crash_cfg = write_config(tmp_path / "crash", TESTS.format(crash=CRASH), name="nightly")
    clean = run(clean_cfg, tmp_path / "r-clean")
    assert clean.code == 1, clean.stderr  # "fails" fails
    crash = run(crash_cfg, tmp_path / "r-crash")
    assert crash.code == 1, crash.stderr
    assert crash.tests()["maybe-crash"]["verdict"] == "crash"
    assert crash.tests()["after"]["verdict"] == "notrun"
    base, cur = clean.run_dir, crash.run_dir

    # A new crash against a clean baseline: exactly that one new failure.
    p = cli("report", str(cur), "--baseline", str(base), "--fail-on", "new")
    assert p.returncode == 1, p.stdout + p.stderr
    comp = _compare(cur)
    new = [r for r in comp["results"] if r["id"] in comp["new"]]
    assert [r["path"] for r in new] == ["maybe-crash"]
    assert len(new[0]["titles"]) == 1 and "sysrq triggered crash" in new[0]["titles"][0]
    assert new[0]["last_passed"]["run_id"] == clean.run["run_id"]
    assert new[0]["last_passed"]["kernel"].startswith("6.12")
    assert _classes(cur) == {"(boot)": "passing", "passes": "passing", "fails": "still_failing",
                             "repeated": "passing", "maybe-crash": "new_failure",
                             "after": "not_run"}
    assert (f"New failures (1):\n  nightly/maybe-crash: crash: {new[0]['titles'][0]}\n"
            f"    last passed: {clean.run['run_id']}") in p.stdout
    # The reverse: one fixed, nothing new.
    p = cli("report", str(base), "--baseline", str(cur), "--fail-on", "new")
    assert p.returncode == 0, p.stdout + p.stderr
    got = _classes(base)
    assert [k for k, v in got.items() if v == "fixed"] == ["maybe-crash"]
    assert _compare(base)["new"] == []

    # A known issue turns the crash into XFAIL; --fail-on new then passes (only
    # known and still-failing results are left), --fail-on any does not ("fails").
    known = tmp_path / "known.yaml"
    known.write_text(KNOWN)
    p = cli("report", str(cur), "--baseline", str(base), "--known", str(known),
            "--fail-on", "new")
    assert p.returncode == 0, p.stdout + p.stderr
    mc = next(r for r in _compare(cur)["results"] if r["path"] == "maybe-crash")
    assert (mc["class"], mc["status"], mc["xfail"]) == ("known", "XFAIL", True)
    case = ET.parse(cur / "junit.xml").getroot().find(".//testcase[@name='maybe-crash']")
    assert case is not None and case.find("failure") is None
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message", "").startswith("known issue: sysrq-trigger crashes on purpose")
    kc = json.loads((cur / "kcidb.json").read_text())
    kt = next(t for t in kc["tests"] if t["path"] == "maybe-crash")
    assert kt["status"] == "FAIL" and kt["waived"] is True
    assert "sysrq triggered crash" in kt["log_excerpt"]
    assert len(kt["log_excerpt"].encode()) <= 16 * 1024
    p = cli("report", str(cur), "--baseline", str(base), "--known", str(known),
            "--fail-on", "any")
    assert p.returncode == 1
    # The known issue on the clean run: "known issue not seen: close it?"
    p = cli("report", str(base), "--known", str(known), "--fail-on", "never")
    assert p.returncode == 0 and "Known issues not seen: close them? (1):" in p.stdout
    assert "sysrq: sysrq-trigger crashes on purpose" in p.stdout

    # The same through `run`: baseline, known issues and the gate in one go.
    again = run(crash_cfg, tmp_path / "r-gated", "--baseline", str(base), "--known", str(known),
                "--fail-on", "new")
    assert again.code == 0, again.stdout + again.stderr
    assert _classes(again.run_dir)["maybe-crash"] == "known"
    assert _compare(again.run_dir)["gate"] == {"fail_on": "new", "exit_code": 0}
    assert "0 new failure(s), 0 fixed, 2 still failing (1 known)" in again.stdout
    # Its HTML, in a real headless Chromium: no console errors, no network.
    values = _check_page(again.run_dir / "summary.html", tmp_path, "report-known-issue.png")
    assert values["oopses"] == 1 and values["svg"] >= 2
    assert values["title"].startswith("lam-harness: nightly ")


@pytest.mark.vm
def test_two_shards_merged_equal_one_unsharded_run(debian_kernel: Path, tmp_path: Path) -> None:
    body = """
        machine: {boot_timeout: 120}
        tests:
          - {name: one, run: "true", timeout: 30}
          - {name: two, run: "exit 1", timeout: 30}
          - {name: three, run: "echo '# SKIP not here'; exit 4", timeout: 30}
          - {name: four, run: "sleep 1", repeat: 2, timeout: 30}
          - {name: five, run: "echo c > /proc/sysrq-trigger", timeout: 60}
    """
    cfg = write_config(tmp_path, body, name="sharded")
    whole = run(cfg, tmp_path / "whole")
    assert whole.code == 1, whole.stderr
    # The unsharded run is the history: shards are planned by its durations.
    hist = tmp_path / "whole"
    shards = [run(cfg, tmp_path / f"shard-{k}", "--shard", f"{k}/2", "--history", str(hist),
                  "--fail-on", "never") for k in (1, 2)]
    assert all(s.code == 0 for s in shards), [s.stdout + s.stderr for s in shards]
    plans = [s.run["shard"] for s in shards]
    assert plans[0]["method"] == "durations" and plans[0]["digest"] == plans[1]["digest"]
    assert sorted(plans[0]["tests"] + plans[1]["tests"]) == sorted(
        ["one", "two", "three", "four", "five"])
    assert plans[0]["tests"] and plans[1]["tests"]
    p = cli("merge", str(tmp_path / "shard-1"), str(tmp_path / "shard-2"), "--out",
            str(tmp_path / "merged"))
    assert p.returncode == 0, p.stderr
    merged = json.loads((tmp_path / "merged" / "run.json").read_text())

    def verdicts(data: dict[str, Any]) -> set[tuple[str, str]]:
        return {(t["name"], t["verdict"]) for j in data["jobs"] for t in j["tests"]}

    assert verdicts(merged) == verdicts(whole.run)
    assert len(merged["jobs"]) == 1 and merged["exit_code"] == whole.run["exit_code"] == 1
    assert merged["merge_problems"] == []
    five = next(t for t in merged["jobs"][0]["tests"] if t["name"] == "five")
    console = tmp_path / "merged" / "sharded" / five["console"]
    assert "sysrq triggered crash" in console.read_text(errors="replace")
    assert (tmp_path / "merged" / "sharded" / five["oopses"][0]["file"]).is_file()
    junit = ET.parse(tmp_path / "merged" / "junit.xml").getroot()
    whole_junit = whole.junit()
    assert sorted(str(c.get("name")) for c in junit.iter("testcase")) == sorted(
        str(c.get("name")) for c in whole_junit.iter("testcase"))
    # Compared with the unsharded run: nothing new, nothing fixed.
    p = cli("report", str(tmp_path / "merged"), "--baseline", str(whole.run_dir), "--fail-on",
            "new")
    assert p.returncode == 0, p.stdout
    assert set(_classes(tmp_path / "merged").values()) <= {"passing", "still_failing",
                                                           "skipped"}
    _check_page(tmp_path / "merged" / "summary.html", tmp_path, "report-merged.png")


def test_chromium_check_catches_a_broken_page(tmp_path: Path) -> None:
    """The page check must see what a person would: a throwing script, a
    console.error, a blocked request.  (The request goes to a dead port on
    127.0.0.1; the browser is pointed at a dead local proxy anyway.)"""
    need(chromium_binary() is not None, "chromium not installed (apt-get install chromium)")
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>b</title></head>'
                    '<body><p>x</p><img src="http://127.0.0.1:9/x.png">'
                    '<script>console.error("visible"); null.boom();</script></body></html>')
    rep = load_page(page, tmp_path / "profile")
    assert any("uncaught: TypeError" in e and "boom" in e for e in rep.errors), rep.errors
    assert "console.error: visible" in rep.errors
    assert rep.requests == ["http://127.0.0.1:9/x.png"]
    assert rep.screenshot.startswith(b"\x89PNG")


def test_chromium_is_where_setup_puts_it() -> None:
    """setup.sh installs chromium; under CI a missing one must fail, not skip."""
    need(shutil.which("chromium") is not None or chromium_binary() is not None,
         "chromium not installed (apt-get install chromium)")


def test_page_works_under_a_csp_without_unsafe_inline(tmp_path: Path) -> None:
    """summary.html's CSP allows its own style block and script by hash only:
    in a real browser the script still runs, the styles still apply, and the
    CSP reports nothing."""
    from harness.report import html
    from tests.unit.runfolders import make_run

    assert "unsafe-inline" not in html.CSP
    old = make_run(tmp_path / "h", "r0", {"t": "pass", "u": "pass"})
    new = make_run(tmp_path / "h", "r1", {"t": ("crash", "kernel BUG in f"), "u": "pass"})
    p = cli("report", str(new), "--baseline", str(old), "--history", str(tmp_path / "h"))
    assert p.returncode in (0, 1), p.stderr
    page = new / "summary.html"
    assert "style=" not in page.read_text()
    need(chromium_binary() is not None, "chromium not installed (apt-get install chromium)")
    rep = load_page(page, tmp_path / "chromium-profile", {
        "ready": "document.documentElement.getAttribute('data-ready')",
        "styled": "getComputedStyle(document.body).fontFamily",
        "legend": "[...document.querySelectorAll('.lg-pass')]"
                  ".map(e => getComputedStyle(e).backgroundColor).join()"})
    assert rep.errors == [], rep.errors
    assert rep.values["ready"] == "1", rep.values
    assert rep.values["styled"] not in ("", '"Times New Roman"'), rep.values
    assert rep.values["legend"] == "rgb(46, 125, 50)", rep.values
