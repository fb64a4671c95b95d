"""Nightly reporting on synthetic run folders: identity, classification,
flaky, known issues, KCIDB, JUnit rewrite, text and HTML, sharding, merge."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main, parser
from harness.config import loads as load_config
from harness.errors import ConfigError, UserError
from harness.parse.oops import normalize_title
from harness.report import compare, kcidb, known, merge, nightly, shard
from harness.report.runs import BOOT, KCIDB_ORDER, job_identity, kcidb_worst, load_history, load_run
from harness.report.write import Inputs, report
from tests.unit.runfolders import Spec, make_run

TODAY = dt.date(2026, 11, 25)


def classes(cmp: compare.Comparison) -> dict[str, str]:
    return {c.result.path: c.cls for c in cmp.items}


# -- identity ---------------------------------------------------------------


def _cfg(**kernel: Any) -> dict[str, Any]:
    k = {"debian": None, "image": None, "source": None, "patches": [], "config": None}
    k.update(kernel)
    return {"name": "nightly", "kernel": k,
            "machine": {"accel": "auto", "cpu": None, "lam": "auto", "smp": 2, "memory": "1G",
                        "cmdline": "demo_bug.rate=100"}}


def test_job_identity_ignores_hosts_paths_and_cmdline_knobs() -> None:
    a = _cfg(source={"git": "/home/alice/src/linux", "ref": "master"},
             patches=["/home/alice/lam/patches/lam-repro"],
             config={"base": "tinyconfig", "fragments": ["/x/configs/kconfig/lam-guest.config"]})
    b = _cfg(source={"git": "/srv/runner/linux", "ref": "master"},
             patches=["/builds/ci/patches/lam-repro"],
             config={"base": "tinyconfig", "fragments": ["/y/lam-guest.config"]})
    b["machine"]["cmdline"] = "demo_bug.rate=10"
    ia, ib = job_identity(a), job_identity(b)
    assert ia == ib and ia.key == ib.key
    assert ia.kernel == "git:linux@master" and ia.patches == ("lam-repro",)
    assert ia.kconfig == "tinyconfig+lam-guest.config"
    # What the job asks for does change it.
    c = _cfg(source={"git": "/srv/runner/linux", "ref": "v6.12"})
    d = dict(a, machine=dict(a["machine"], accel="tcg"))
    e = dict(a, kernel=dict(a["kernel"], patches=[]))
    assert len({ia.key, job_identity(c).key, job_identity(d).key, job_identity(e).key}) == 4
    assert job_identity(_cfg(debian="linux-image-6.12.*")).kernel == "debian:linux-image-6.12.*"


def test_results_fold_iterations_and_normalize_crash_titles(tmp_path: Path) -> None:
    t1 = "BUG: unable to handle page fault for address: ffff888003c1a000"
    t2 = "BUG: unable to handle page fault for address: ffff888004de0000"
    a = load_run(make_run(tmp_path / "a", "20261120-020000-it",
                          {"loop": ["pass", "pass", ("crash", t1)], "t": "pass"}))
    b = load_run(make_run(tmp_path / "b", "20261121-020000-it",
                          {"loop": ["pass", ("crash", t2)], "t": "pass"}))
    ra, rb = a.results[next(k for k in a.results if k.endswith("/loop"))], None
    rb = b.results[ra.key]
    assert ra.path == "loop" and ra.names == ["loop#1", "loop#2", "loop#3"]
    assert (ra.verdict, ra.runs, ra.bad, ra.passed) == ("crash", 3, 1, 2)
    # Whatever the oops parser's normalization, the addresses are gone.
    assert ra.titles == (normalize_title(t1),) and "ffff8880" not in ra.titles[0]
    assert ra.id == rb.id and ra.mixed
    assert [r.path for r in a.results.values()] == [BOOT, "loop", "t"]
    assert "2026" not in ra.id and str(tmp_path) not in ra.id


# -- classification ---------------------------------------------------------


def test_new_crash_against_clean_baseline_is_one_new_failure_with_last_pass(
        tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    make_run(hist, "20261119-020000-it", {"a": "pass", "b": "pass"}, kernel="6.12.0")
    base = make_run(hist, "20261120-020000-it", {"a": "pass", "b": "pass"}, kernel="6.12.1")
    cur = make_run(tmp_path, "20261121-020000-it", {"a": "crash", "b": "pass"}, kernel="6.12.2")
    cmp = compare.classify(load_run(cur), load_run(base), load_history(hist), today=TODAY)
    assert [c.result.path for c in cmp.new] == ["a"]
    assert classes(cmp) == {BOOT: "passing", "a": "new_failure", "b": "passing"}
    lp = cmp.new[0].last_passed
    assert lp is not None and (lp.run_id, lp.kernel) == ("20261120-020000-it", "6.12.1")
    assert cmp.exit_code("new") == 1 and cmp.exit_code("any") == 1
    assert cmp.exit_code("never") == 0
    # The reverse: one fixed, nothing new.
    rev = compare.classify(load_run(base), load_run(cur), today=TODAY)
    assert classes(rev) == {BOOT: "passing", "a": "fixed", "b": "passing"}
    assert rev.new == [] and rev.exit_code("new") == 0


def test_still_failing_new_title_new_test_gone(tmp_path: Path) -> None:
    base = make_run(tmp_path, "20261120-020000-it",
                    {"f": "fail", "c": ("crash", "WARNING in foo"), "old": "pass", "x": "skip"})
    cur = make_run(tmp_path, "20261121-020000-it",
                   {"f": "fail", "c": ("crash", "WARNING in bar"), "fresh": "fail", "x": "skip"})
    cmp = compare.classify(load_run(cur), load_run(base), today=TODAY)
    got = classes(cmp)
    assert got["f"] == "still_failing"
    assert got["c"] == "new_failure"
    c = next(i for i in cmp.items if i.result.path == "c")
    assert c.note == "new crash title (was: WARNING in foo)"
    assert got["fresh"] == "new_test" and got["old"] == "gone" and got["x"] == "skipped"
    assert {i.result.path for i in cmp.new} == {"c", "fresh"}  # a failing new test counts
    # Only still-failing results: --fail-on new passes, --fail-on any does not.
    only_still = compare.classify(load_run(base), load_run(base), today=TODAY)
    assert only_still.exit_code("new") == 0 and only_still.exit_code("any") == 1


def test_flaky_needs_two_flips_between_runs(tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    seqs = {"flip": ["pass", "fail", "pass", "fail"], "regressed": ["pass", "pass", "fail", "fail"]}
    for i in range(4):
        make_run(hist, f"2026111{i}-020000-it", {t: s[i] for t, s in seqs.items()} | {"m": "pass"})
    cur = make_run(tmp_path / "cur", "20261115-020000-it",
                   {"flip": "pass", "regressed": "fail", "m": ["pass", "fail"]})
    runs = load_history(hist)
    cmp = compare.classify(load_run(cur), runs[-1], runs, today=TODAY)
    got = classes(cmp)
    assert got["flip"] == "flaky"  # P F P F P
    assert got["regressed"] == "still_failing"  # P P F F F: one flip, a real regression
    # Failing 1 of 2 iterations after passing every night: an intermittent new
    # bug (what a repro loop looks like), not a flaky test.
    assert got["m"] == "new_failure"
    m = next(i for i in cmp.items if i.result.path == "m")
    assert m.note == "passed 1, failed 1 of 2 iterations in this run"
    assert [c.result.path for c in cmp.new] == ["m"] and cmp.exit_code("new") == 1
    flip = next(i for i in cmp.items if i.result.path == "flip")
    assert (flip.window_pass, flip.window_fail, flip.flips) == (2, 2, 4)


def test_no_baseline_every_failure_is_new(tmp_path: Path) -> None:
    cmp = compare.classify(load_run(make_run(tmp_path, "20261121-020000-it",
                                             {"a": "fail", "b": "pass"})), today=TODAY)
    assert classes(cmp)["a"] == "new_failure" and classes(cmp)["b"] == "passing"
    assert cmp.new[0].note == "no baseline"


def test_infrastructure_errors_exit_3_unless_failures(tmp_path: Path) -> None:
    run = make_run(tmp_path, "20261121-020000-it", {"a": "notrun"}, job_error="boot failed: x")
    cmp = compare.classify(load_run(run), today=TODAY)
    assert classes(cmp) == {BOOT: "error", "a": "not_run"}
    assert cmp.exit_code("new") == 3 and cmp.exit_code("any") == 3
    assert cmp.exit_code("never") == 0
    assert cmp.infra_errors == ["it/(boot): boot failed: x"]
    # A boot failure that is a known issue is waived.
    kf = known.loads("issues: [{test: '(boot)', link: l, reason: flaky runner}]")
    waived = compare.classify(load_run(run), known=kf, today=TODAY)
    assert waived.infra_errors == [] and waived.exit_code("new") == 0


def test_history_window_and_filters(tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    for i in range(5):
        make_run(hist, f"2026111{i}-020000-it", {"a": "pass"})
    make_run(hist, "20261116-020000-other", {"a": "pass"}, name="other")
    make_run(hist, "20261117-020000-it", {"a": "pass"}, status="running")
    (hist / "junk").mkdir()
    key = load_run(hist / "20261110-020000-it").job_keys
    runs = load_history(hist, related_to=key, window=3, exclude={"20261114-020000-it"})
    assert [r.run_id for r in runs] == ["20261111-020000-it", "20261112-020000-it",
                                        "20261113-020000-it"]
    with pytest.raises(UserError, match="no such folder"):
        load_history(tmp_path / "nope")


# -- known issues -----------------------------------------------------------


KNOWN = """\
issues:
  - id: sysrq
    test: "pan*"
    title: "kernel panic: sysrq*"
    link: https://bugzilla.kernel.org/show_bug.cgi?id=1
    reason: sysrq crashes on purpose
  - id: pf
    title_regex: "^BUG: unable to handle kernel paging request"
    link: https://lore.kernel.org/x
    reason: the page fault bug
  - id: gone-bug
    test: fixed-long-ago
    link: https://lore.kernel.org/y
    reason: fixed upstream?
  - id: old
    test: "f"
    link: https://lore.kernel.org/z
    reason: expired waiver
    expires: 2026-11-24
"""


def test_known_issues_match_expire_and_not_seen(tmp_path: Path) -> None:
    kf = known.loads(KNOWN, "known.yaml")
    assert [i.id for i in kf.issues] == ["sysrq", "pf", "gone-bug", "old"]
    assert kf.issues[3].expires == "2026-11-24" and kf.issues[0].loc is not None
    assert str(kf.issues[1].loc) == "known.yaml:7"
    run = make_run(tmp_path, "20261121-020000-it", {
        "panics": "crash", "pf": ("crash", "BUG: unable to handle kernel paging request in "
                                           "foo_read"),
        "f": "fail", "other-crash": ("crash", "WARNING in foo"), "ok": "pass",
        # near misses: each matches part of an issue, and none may be waived
        "pan-warn": ("crash", "WARNING in foo"),  # sysrq's test, not its title
        "sysrq-elsewhere": "crash",  # sysrq's title, not its test
        "pf-inside": ("crash", "WARNING: BUG: unable to handle kernel paging request")})
    cmp = compare.classify(load_run(run), known=kf, today=TODAY)
    got = classes(cmp)
    assert got["panics"] == "known" and got["pf"] == "known"
    assert got["f"] == "new_failure"  # the waiver expired yesterday
    assert got["other-crash"] == "new_failure"
    assert got["pan-warn"] == got["sysrq-elsewhere"] == got["pf-inside"] == "new_failure"
    assert cmp.known is not None
    assert [(i.id, why) for i, why in cmp.known.not_seen] == [
        ("gone-bug", "no such test in this run")]
    assert [i.id for i in cmp.known.expired] == ["old"]
    panics = next(c for c in cmp.items if c.result.path == "panics")
    assert panics.status == "XFAIL" and panics.to_json()["xfail"] is True
    # The same waiver, still valid on the day it expires.
    assert classes(compare.classify(load_run(run), known=kf,
                                    today=dt.date(2026, 11, 24)))["f"] == "known"


def test_known_panic_titles_match_in_either_spelling(tmp_path: Path) -> None:
    # patterns written for the raw panic header match the current title, and
    # the current spelling matches runs recorded with the raw header as title
    old = ("issues: [{title: 'Kernel panic - not syncing: sysrq*', link: l, reason: r},"
           " {title_regex: '^Kernel panic - not syncing: Fatal', link: l, reason: r}]")
    new = ("issues: [{title: 'kernel panic: sysrq*', link: l, reason: r},"
           " {title_regex: '^kernel panic: Fatal', link: l, reason: r}]")
    tests: dict[str, Spec] = {"a": ("crash", "kernel panic: sysrq triggered crash"),
                              "b": ("crash", "Kernel panic - not syncing: sysrq triggered crash"),
                              "c": ("crash", "kernel panic: Fatal exception"),
                              "d": ("crash", "Kernel panic - not syncing: Fatal exception"),
                              "e": ("crash", "kernel BUG in sysrq_handle_crash")}
    for i, text in enumerate((old, new)):
        run = make_run(tmp_path / str(i), "20261121-020000-it", tests)
        got = classes(compare.classify(load_run(run), known=known.loads(text), today=TODAY))
        assert {k: got[k] for k in tests} == {"a": "known", "b": "known", "c": "known",
                                               "d": "known", "e": "new_failure"}


def test_known_issue_of_a_passing_test_asks_to_close_it(tmp_path: Path) -> None:
    kf = known.loads("issues: [{test: a, link: l, reason: r}, {test: s, link: l, reason: r}]")
    run = make_run(tmp_path, "20261121-020000-it", {"a": "pass", "s": "skip"})
    km = compare.classify(load_run(run), known=kf, today=TODAY).known
    assert km is not None
    assert [why for _, why in km.not_seen] == ["the test passed", "the test did not run"]


def test_known_subtests_make_their_tap_parent_known(tmp_path: Path) -> None:
    run = make_run(tmp_path, "20261121-020000-it", {"tap": "fail"})
    data = json.loads((run / "run.json").read_text())
    data["jobs"][0]["tests"][0]["subtests"] = [
        {"name": "MALLOC", "verdict": "fail", "reason": "not ok"},
        {"name": "MMAP", "verdict": "pass", "reason": ""}]
    (run / "run.json").write_text(json.dumps(data))
    kf = known.loads("issues: [{test: 'tap / MALLOC', link: l, reason: known malloc bug}]")
    got = classes(compare.classify(load_run(run), known=kf, today=TODAY))
    assert got == {BOOT: "passing", "tap": "known", "tap / MALLOC": "known",
                   "tap / MMAP": "passing"}


@pytest.mark.parametrize("text,where,msg", [
    ("issues:\n  - {test: a, link: l, reason: r, titel: x}\n", "k.yaml:2",
     "unknown key 'titel' in issues[0] (did you mean 'title'?)"),
    ("issues:\n  - link: l\n    reason: r\n", "k.yaml:2", "give test, title or title_regex"),
    ("issues:\n  - test: a\n    link: l\n    reason: r\n    expires: soon\n", "k.yaml:5",
     "'soon' is not a date"),
    ("issues:\n  - {test: a, reason: r}\n", "k.yaml:2", "missing required key 'link'"),
    ("issues:\n  - {title_regex: '(', link: l, reason: r}\n", "k.yaml:2", "title_regex"),
    ("issues:\n  - {id: x, test: a, link: l, reason: r}\n  - {id: x, test: b, link: l, "
     "reason: r}\n", "k.yaml:3", "duplicate id 'x'"),
    ("issues: [\n", "k.yaml:2", "YAML syntax error"),
])
def test_known_file_errors_name_file_and_line(text: str, where: str, msg: str) -> None:
    with pytest.raises(ConfigError) as e:
        known.loads(text, "k.yaml")
    assert str(e.value).startswith(where + ":"), str(e.value)
    assert msg in str(e.value)


def test_junit_rewritten_with_known_failures_skipped(tmp_path: Path) -> None:
    run = make_run(tmp_path, "20261121-020000-it", {"panics": "crash", "f": "fail", "p": "pass"})
    kf = known.loads(KNOWN, "known.yaml")
    cmp, code = report(run, Inputs(known=kf), "new", today=TODAY)
    assert code == 1  # f is new (its waiver expired)
    cases = {c.get("name"): c for c in ET.parse(run / "junit.xml").getroot().iter("testcase")}
    sk = cases["panics"].find("skipped")
    assert sk is not None and cases["panics"].find("failure") is None
    assert sk.get("message", "").startswith("known issue: sysrq crashes on purpose "
                                            "(https://bugzilla.kernel.org/show_bug.cgi?id=1)")
    assert "Kernel panic" in (sk.text or "")
    assert cases["f"].find("failure") is not None
    comp = json.loads((run / "compare.json").read_text())
    panics = next(r for r in comp["results"] if r["path"] == "panics")
    assert panics["status"] == "XFAIL" and panics["known"]["id"] == "sysrq"
    assert comp["gate"] == {"fail_on": "new", "exit_code": 1}
    assert comp["known_issues"]["not_seen"][0]["message"] == "known issue not seen: close it?"
    # Made again without the known issues: the crash is a failure again.
    report(run, Inputs(), "new", today=TODAY)
    cases = {c.get("name"): c for c in ET.parse(run / "junit.xml").getroot().iter("testcase")}
    assert cases["panics"].find("failure") is not None


# -- KCIDB ------------------------------------------------------------------


def test_kcidb_status_order_and_mapping() -> None:
    assert KCIDB_ORDER == ("FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP")
    assert kcidb_worst(["PASS", "SKIP", "MISS"]) == "MISS"
    assert kcidb_worst(["SKIP", "DONE"]) == "DONE"
    assert kcidb_worst(["ERROR", "FAIL", "PASS"]) == "FAIL"
    assert kcidb_worst([]) is None


def test_kcidb_json(tmp_path: Path) -> None:
    run = make_run(tmp_path, "20261121-020000-it", {
        "c": "crash", "f": "fail", "e": "error", "n": "notrun", "p": "pass", "s": "skip",
        "panics": "crash"})
    big = "x" * 40000 + "\n"
    (run / "it" / "c" / "oops-1.txt").write_text("Kernel panic - not syncing: big\n" + big)
    (run / "it" / "f" / "stdout").write_text("line\n" * 5000 + "the end\n")
    report(run, Inputs(known=known.loads(KNOWN)), today=TODAY)
    k = json.loads((run / "kcidb.json").read_text())
    assert k["version"] == {"major": 4, "minor": 3}
    assert len(k["checkouts"]) == 1 and len(k["builds"]) == 1
    assert k["builds"][0]["checkout_id"] == k["checkouts"][0]["id"]
    tests = {t["path"]: t for t in k["tests"]}
    assert {p: t["status"] for p, t in tests.items()} == {
        "boot": "PASS", "c": "FAIL", "f": "FAIL", "e": "ERROR", "n": "MISS", "p": "PASS",
        "s": "SKIP", "panics": "FAIL"}
    for t in k["tests"]:
        assert t["id"].startswith("lam_harness:") and t["build_id"] == k["builds"][0]["id"]
        assert ("log_excerpt" in t) == (t["status"] in ("FAIL", "ERROR"))
        assert len(t.get("log_excerpt", "").encode()) <= 16 * 1024
    assert tests["c"]["log_excerpt"].startswith("Kernel panic - not syncing: big")
    assert len(tests["c"]["log_excerpt"].encode()) == 16 * 1024
    assert tests["f"]["log_excerpt"].rstrip().endswith("the end")
    assert tests["panics"]["waived"] is True and tests["c"]["waived"] is False
    assert k["issues"][0]["report_url"] == "https://bugzilla.kernel.org/show_bug.cgi?id=1"
    assert k["incidents"] == [{"id": k["incidents"][0]["id"], "origin": "lam_harness",
                               "issue_id": k["issues"][0]["id"], "issue_version": 1,
                               "test_id": tests["panics"]["id"], "present": True}]
    e = next(r for r in load_run(run).results.values() if r.path == "e")
    assert kcidb.excerpt(run, e) == "--- stdout ---\noutput of e\n"


# -- text and HTML ----------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self.ids |= {v for k, v in attrs if k == "id" and v}


def test_text_and_html_summaries(tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    make_run(hist, "20261119-020000-it", {"a": "pass", "b": "fail", "k": "crash"})
    base = make_run(hist, "20261120-020000-it", {"a": "pass", "b": "fail", "k": "crash",
                                                 "fx": "fail"})
    cur = make_run(tmp_path / "c", "20261121-020000-it", {
        "a": "crash", "b": "fail", "k": "crash", "fx": "pass", "<script>": "pass"})
    kf = known.loads("issues: [{test: k, link: 'https://x/1?a=1&b=2', reason: 'known <bug>'}]")
    cmp, code = report(cur, Inputs(load_run(base), hist, kf), "new", today=TODAY)
    assert code == 1
    txt = (cur / "summary.txt").read_text()
    assert txt.splitlines()[1] == ("1 new failure(s), 1 fixed, 2 still failing (1 known), "
                                   "0 flaky; 2 earlier run(s) in the window")
    assert "New failures (1):\n  it/a: crash: kernel panic: sysrq triggered " \
           "crash\n    last passed: 20261120-020000-it (2026-11-20, 6.12.1)" in txt
    assert "Fixed (1):\n  it/fx: pass\n    was fail in 20261120-020000-it" in txt
    assert "known: known <bug> <https://x/1?a=1&b=2>" in txt
    assert max(len(line) for line in txt.splitlines()) < 100 and len(txt.splitlines()) < 40
    page = (cur / "summary.html").read_text()
    p = _Page()
    p.feed(page)
    assert {"lists", "history", "more", "only-problems", "expand-all"} <= p.ids
    assert "svg" in p.tags and "details" in p.tags
    assert page.index("New failures (1)") < page.index("Fixed (1)") < page.index(
        "Still failing and known (2)") < page.index("job it")
    assert "<script>:" not in page and "&lt;script&gt;" in page  # names are escaped
    assert "known &lt;bug&gt;" in page and "https://x/1?a=1&amp;b=2" in page
    hrefs = [v for k, v in p.attrs if k in ("href", "src") and v]
    assert "it/console.log" in hrefs and "it/a/oops-1.txt" not in hrefs  # oops inline
    assert all(not h.startswith(("http:", "//")) or h.startswith("https://x/") for h in hrefs)
    assert "default-src 'none'" in page


# -- sharding ---------------------------------------------------------------


def test_parse_shard() -> None:
    assert shard.parse_shard("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "x", "1/0", "1/2/3"):
        with pytest.raises(argparse.ArgumentTypeError):
            shard.parse_shard(bad)
    with pytest.raises(SystemExit) as e:
        parser().parse_args(["run", "c.yaml", "--shard", "3/2"])
    assert e.value.code == 2


def test_shards_round_robin_without_history() -> None:
    tests = [f"t{i}" for i in range(7)]
    p = shard.plan(tests, 3)
    assert p.method == "round-robin"
    assert [p.tests_for(k) for k in (1, 2, 3)] == [["t0", "t3", "t6"], ["t1", "t4"],
                                                   ["t2", "t5"]]
    assert shard.plan(["a"], 3).tests_for(3) == []


def test_shards_balance_by_duration_deterministically() -> None:
    tests = ["quick1", "long", "mid1", "mid2", "quick2", "unknown"]
    durs = {"quick1": 5.0, "long": 300.0, "mid1": 150.0, "mid2": 140.0, "quick2": 10.0}
    p = shard.plan(tests, 2, durs)
    assert p.method == "durations"
    # Longest first to the least loaded; "unknown" counts as the median (140 s).
    assert p.tests_for(1) == ["quick1", "long", "quick2"]
    assert p.tests_for(2) == ["mid1", "mid2", "unknown"]
    assert p.expected_s == {1: 315.0, 2: 430.0}
    assert shard.plan(list(tests), 2, dict(durs)).digest == p.digest
    for n in range(1, 8):
        q = shard.plan(tests, n, durs)
        assigned = [t for k in range(1, n + 1) for t in q.tests_for(k)]
        assert sorted(assigned) == sorted(tests)  # each test exactly once


def test_shard_durations_from_history(tmp_path: Path) -> None:
    hist = tmp_path / "h"
    for i, d in enumerate((10.0, 30.0, 20.0)):
        make_run(hist, f"2026111{i}-020000-it", {"a": "pass", "b": ["pass", "pass"]},
                 durations={"a": d, "b": 4.0})
    runs = load_history(hist)
    assert shard.durations(runs, runs[0].jobs[0].identity.key) == {"a": 20.0, "b": 4.0}


def _config(tmp_path: Path, n: int) -> Any:
    tests = "".join(f"  - {{name: t{i}, run: 'true'}}\n" for i in range(n))
    f = tmp_path / "it.yaml"
    f.write_text(f"name: it\nkernel: {{image: /nowhere/bzImage}}\ntests:\n{tests}")
    return load_config(f.read_text(), str(f), path=f)


def test_run_shard_selects_tests_and_records_the_plan(tmp_path: Path) -> None:
    cfg = _config(tmp_path, 5)
    calls: list[list[str] | None] = []

    def fake_run(cfg: Any, paths: Any, only: list[str] | None,
                 argv: list[str] | None) -> tuple[int, Path]:
        calls.append(only)
        root = make_run(tmp_path / "results", "20261121-020000-it",
                        {t: "pass" for t in only or []})
        return 0, root

    args = parser().parse_args(["run", "x.yaml", "--shard", "2/2"])
    paths = argparse.Namespace(results=tmp_path / "results")
    code, root = nightly.run(cfg, paths, args, fake_run, ["lam-harness"])
    assert code == 0 and calls == [["t1", "t3"]]
    s = json.loads((root / "run.json").read_text())["shard"]
    assert (s["index"], s["count"], s["tests"], s["method"]) == (2, 2, ["t1", "t3"],
                                                                 "round-robin")
    # More shards than tests: an empty run, no boot.
    cfg1 = _config(tmp_path, 1)
    args = parser().parse_args(["run", "x.yaml", "--shard", "2/3"])
    code, root = nightly.run(cfg1, paths, args, fake_run, ["lam-harness"])
    data = json.loads((root / "run.json").read_text())
    assert code == 0 and len(calls) == 1 and data["jobs"] == []
    assert data["status"] == "passed" and data["shard"]["tests"] == []
    assert (root / "junit.xml").exists()


# -- merge ------------------------------------------------------------------


def _shard_runs(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    verdicts: dict[str, Any] = {"a": "pass", "b": "fail", "c": "crash", "d": ["pass", "pass"],
                                "e": "skip"}
    p = shard.plan(list(verdicts), 2)
    dirs = []
    for k in (1, 2):
        run = make_run(tmp_path / f"shard-{k}", f"20261121-02000{k}-it",
                       {t: verdicts[t] for t in p.tests_for(k)},
                       extra={"shard": p.to_json(k)},
                       config={"tests": [{"name": t} for t in verdicts]})
        (run / "it" / "keys").mkdir()
        (run / "it" / "keys" / "client_ed25519").write_text("secret")
        (run / "it" / "initramfs.cpio").write_bytes(b"x" * 100)
        dirs.append(run)
    return dirs[0], dirs[1], verdicts


def test_merge_two_shards_equals_one_run(tmp_path: Path) -> None:
    s1, s2, verdicts = _shard_runs(tmp_path)
    whole = load_run(make_run(tmp_path / "whole", "20261121-020000-it", verdicts))
    out = merge.merge([s1.parent, s2], tmp_path / "merged")
    data = json.loads((out / "run.json").read_text())
    assert data["run_id"] == "20261121-020001-it-merged"
    assert [t["name"] for t in data["jobs"][0]["tests"]] == ["a", "b", "c", "d#1", "d#2", "e"]
    assert data["status"] == "failed" and data["exit_code"] == 1
    assert data["merge_problems"] == []
    assert data["jobs"][0]["consoles"] == ["shard-1/console.log", "shard-2/console.log"]
    merged = load_run(out)
    assert {k: r.verdict for k, r in merged.results.items()} == {
        k: r.verdict for k, r in whole.results.items()}
    c = next(r for r in merged.results.values() if r.path == "c")
    assert c.console == "it/shard-1/console.log" and (out / c.oopses[0].file).is_file()
    assert (out / "it" / "shard-2" / "console.log").is_file()
    assert (out / "it" / "b" / "stdout").read_text() == "output of b\n"
    assert not list(out.rglob("client_ed25519")) and not list(out.rglob("initramfs.cpio"))
    # The CLI: merge, then the report files are there.
    assert main(["merge", str(s1), str(s2), "--out", str(tmp_path / "m2")]) == 0
    for f in ("run.json", "junit.xml", "summary.html", "summary.txt", "kcidb.json"):
        assert (tmp_path / "m2" / f).is_file()
    cases = list(ET.parse(tmp_path / "m2" / "junit.xml").getroot().iter("testcase"))
    assert sorted(str(c.get("name")) for c in cases) == ["a", "b", "c", "d#1", "d#2", "e"]


def test_merge_reports_a_missing_shard_and_refuses_mixed_configs(tmp_path: Path) -> None:
    s1, s2, _ = _shard_runs(tmp_path)
    out = merge.merge([s1], tmp_path / "merged")
    data = json.loads((out / "run.json").read_text())
    missing = {t["name"]: t for t in data["jobs"][0]["tests"] if t["verdict"] == "notrun"}
    assert set(missing) == set(json.loads((s2 / "run.json").read_text())["shard"]["tests"])
    assert data["exit_code"] == 1  # s1 has a failure; the hole is in merge_problems
    assert any("not run by any shard" in p for p in data["merge_problems"])
    assert any("1 shard folder(s) for a split into 2" in p for p in data["merge_problems"])
    assert data["merge_missing"] == [t for t in ("a", "b", "c", "d", "e") if t in missing]
    cmp = compare.classify(load_run(out), today=TODAY)
    assert cmp.infra_errors[-1].startswith("not run by any shard: ")
    other = make_run(tmp_path / "o", "20261121-020000-x", {"a": "pass"}, name="x")
    with pytest.raises(UserError, match="different configs"):
        merge.merge([s1, other], tmp_path / "m3")
    with pytest.raises(UserError, match="not empty"):
        merge.merge([s1], out)


# -- the report command -----------------------------------------------------


def test_report_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = make_run(tmp_path, "20261120-020000-it", {"a": "pass", "k": "crash"})
    cur = make_run(tmp_path, "20261121-020000-it", {"a": "pass", "k": "crash"})
    kf = tmp_path / "known.yaml"
    kf.write_text("issues: [{test: k, link: 'https://x/1', reason: on purpose}]\n")
    assert main(["report", str(cur), "--baseline", str(base), "--fail-on", "new"]) == 0
    assert main(["report", str(cur), "--baseline", str(base)]) == 1  # default: any
    assert main(["report", str(cur), "--baseline", str(base), "--known", str(kf)]) == 0
    out = capsys.readouterr().out
    assert "Still failing (known issues marked) (1):" in out
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert main(["report", str(cur), "--known", str(tmp_path / "none.yaml")]) == 2
    err = capsys.readouterr().err
    assert "no run.json" in err and "no such known-issues file" in err


def test_run_checks_its_report_inputs_before_booting(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "it.yaml"
    cfg.write_text("name: it\nkernel: {image: /nowhere/bzImage}\ntests: [{name: t, run: 'true'}]\n")
    results = tmp_path / "results"
    assert main(["run", str(cfg), "--results", str(results), "--baseline",
                 str(tmp_path / "none")]) == 2
    bad = tmp_path / "known.yaml"
    bad.write_text("issues:\n  - {test: t, link: l}\n")
    assert main(["run", str(cfg), "--results", str(results), "--known", str(bad)]) == 2
    assert f"{bad}:2: issues[0]: missing required key 'reason'" in capsys.readouterr().err
    assert not results.exists()


def test_after_run_exit_codes(tmp_path: Path) -> None:
    run = make_run(tmp_path, "20261121-020000-it", {"k": "crash"})
    kf = tmp_path / "known.yaml"
    kf.write_text("issues: [{test: k, link: l, reason: r}]\n")

    def args(*extra: str) -> argparse.Namespace:
        return parser().parse_args(["run", "x.yaml", *extra])

    assert nightly.after_run(run, 1, args()) == 1  # the run's own code
    assert (run / "summary.html").is_file() and (run / "kcidb.json").is_file()
    assert nightly.after_run(run, 1, args("--known", str(kf))) == 0  # any, minus known
    assert nightly.after_run(run, 1, args("--fail-on", "never")) == 0
    assert nightly.after_run(run, 1, args("--fail-on", "new")) == 1  # no baseline: new


def test_the_panic_after_an_oops_is_not_a_second_crash_title() -> None:
    from harness.report.runs import Oops, crash_titles

    def o(title: str, f: str) -> Oops:
        return Oops(title, title, "", f, "c.log", 1, 2)

    bug, fatal = "kernel BUG in demo_bug_fire", "kernel panic: Fatal exception"
    assert crash_titles([o(bug, "j/t-1/oops-1.txt"), o(fatal, "j/t-1/oops-2.txt")]) == (bug,)
    # a panic on its own (sysrq, panic()) is the crash
    sysrq = "kernel panic: sysrq triggered crash"
    assert crash_titles([o(sysrq, "j/t/oops-1.txt")]) == (sysrq,)
    # per iteration: a BUG in one, a lone panic in another, both count
    assert crash_titles([o(bug, "j/t-1/oops-1.txt"), o(fatal, "j/t-1/oops-2.txt"),
                         o(sysrq, "j/t-2/oops-1.txt")]) == (bug, sysrq)
    # the old spelling of the follow-up panic too
    assert crash_titles([o(bug, "j/t/oops-1.txt"),
                         o("Kernel panic - not syncing: Fatal exception", "j/t/oops-2.txt")]) == (
        bug,)


def test_known_issue_links_are_http_only_in_the_html(tmp_path: Path) -> None:
    from harness.report import html

    kf = known.loads("issues:\n"
                     "  - {test: a, link: 'javascript:alert(1)', reason: evil}\n"
                     "  - {test: b, link: 'https://lore.kernel.org/x', reason: good}\n"
                     "  - {test: c, link: ' JavaScript:alert(2)', reason: evil2}\n", "k.yaml")
    run = make_run(tmp_path, "20261121-020000-it", {"a": "fail", "b": "fail", "c": "fail"})
    page = html.render(compare.classify(load_run(run), known=kf, today=TODAY), None)
    assert 'href="https://lore.kernel.org/x"' in page
    assert "javascript:alert(1)" in page and 'href="javascript' not in page.lower()
    assert 'href=" javascript' not in page.lower()
