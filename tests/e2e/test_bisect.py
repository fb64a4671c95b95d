"""bisect and validate end to end on a real history (slow: real builds, real
QEMU; markers `build` and `vm`).

The history is a bare git repository made from Debian's linux-source-6.12 (the
harness-owned import in kernels/src, read through alternates) with five
commits on top, made with git plumbing and fixed dates, so that their ids are
the same on every run and the build cache serves reruns:

    base   pristine 6.12                                     (--good)
    A      Documentation only                                 harmless
    B      kernel/panic.c gets an #error                      breaks the build
    C      reverts B                                          harmless
    D      patches/demo-bug (its commit message subject)      the culprit
    E      Documentation only                                 (--bad)

git bisect tests B first on this shape (base + 5), so the skip is exercised.
The trigger (the patch's tools/testing/selftests/x86/demo_bug.c) is compiled
once on the host and shipped as a payload, so that every commit runs the same
reproducer; before D it returns ENODEV/EINVAL and passes.  The machine runs
`lam: off`: LAM plays no part here.

Expected: with demo_bug.rate=100, bisect names D; with rate 30 and more runs
per step it still does; validate says "regresses" for base vs demo-bug and
"no change" for base vs a Documentation-only patch; a SIGINT mid-bisect and
the same command again finish the job without redoing finished steps.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KERNELS, ROOT, need
from tests.integration.helpers import cli, env

pytestmark = [pytest.mark.build, pytest.mark.vm]

DEMO_PATCH = (ROOT / "patches" / "demo-bug" /
              "0001-x86-demo_bug-add-a-user-triggerable-BUG_ON-for-harne.patch")
DEMO_SUBJECT = "x86/demo_bug: add a user-triggerable BUG_ON for harness testing"
TRIGGER_SRC = "tools/testing/selftests/x86/demo_bug.c"
DATE = "2026-01-01T00:00:00+0000"
GIT_ENV = {"GIT_AUTHOR_NAME": "lam-harness e2e", "GIT_AUTHOR_EMAIL": "e2e@localhost",
           "GIT_COMMITTER_NAME": "lam-harness e2e", "GIT_COMMITTER_EMAIL": "e2e@localhost",
           "GIT_AUTHOR_DATE": DATE, "GIT_COMMITTER_DATE": DATE}
BREAK = '\n#error "lam-harness e2e: this commit breaks the build"\n'


@dataclass
class History:
    repo: Path
    base: str
    a: str
    b: str
    c: str
    d: str
    e: str
    trigger: Path  # demo_bug_64, static, built on the host


def _git(repo: Path, *args: str, stdin: str | None = None,
         extra: dict[str, str] | None = None) -> str:
    r = subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True,
                       text=True, env={**os.environ, **GIT_ENV, **(extra or {})})
    assert r.returncode == 0, f"git {' '.join(args)}: {r.stderr}"
    return r.stdout.strip()


def _commit(repo: Path, index: Path, parent: str, message: str,
            change: Any) -> str:
    """A commit on ``parent`` made with plumbing only (no working tree)."""
    e = {"GIT_INDEX_FILE": str(index)}
    _git(repo, "read-tree", parent, extra=e)
    change(e)
    tree = _git(repo, "write-tree", extra=e)
    return _git(repo, "commit-tree", tree, "-p", parent, "-m", message, extra=e)


def _put(repo: Path, e: dict[str, str], path: str, text: str) -> None:
    blob = _git(repo, "hash-object", "-w", "--stdin", stdin=text)
    _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", extra=e)


def _subject(patch: Path) -> str:
    lines = patch.read_text().splitlines()
    i = next(n for n, ln in enumerate(lines) if ln.startswith("Subject:"))
    subj = [lines[i].removeprefix("Subject:").strip()]
    for ln in lines[i + 1:]:  # RFC 822 folding: continuation lines start with blanks
        if not ln.startswith((" ", "\t")):
            break
        subj.append(ln.strip())
    return " ".join(subj).removeprefix("[PATCH]").strip()


@pytest.fixture(scope="module")
def history() -> History:
    for t in ("make", "gcc", "git", "apt-get", "qemu-system-x86_64", "flex", "bison"):
        need(shutil.which(t) is not None, f"{t} not installed")
    from harness.config import loads
    from harness.kernel import source

    cfg = loads("name: src\nkernel:\n  source: {debian: linux-source-6.12}\n", "src.yaml")
    src = source.materialize(source.identify(cfg), KERNELS)  # the import the demo builds use
    work = KERNELS / "e2e"
    repo = work / "bisect-6.12.git"
    work.mkdir(parents=True, exist_ok=True)
    if not (repo / "HEAD").exists():
        _git(work, "init", "-q", "--bare", str(repo))
    alternates = repo / "objects" / "info" / "alternates"
    alternates.write_text(str((src.repo / ".git" / "objects").resolve()) + "\n")
    index = work / "index.tmp"
    base = src.base
    panic = _git(repo, "cat-file", "blob", f"{base}:kernel/panic.c") + "\n"
    doc = "Documentation/lam-harness-e2e.rst"
    a = _commit(repo, index, base, "Documentation: a note for the lam-harness e2e test",
                lambda e: _put(repo, e, doc, "lam-harness bisect e2e\n"))
    b = _commit(repo, index, a, "kernel/panic: break the build (lam-harness e2e)",
                lambda e: _put(repo, e, "kernel/panic.c", panic + BREAK))
    c = _commit(repo, index, b, "Revert \"kernel/panic: break the build (lam-harness e2e)\"",
                lambda e: _put(repo, e, "kernel/panic.c", panic))
    d = _commit(repo, index, c, _subject(DEMO_PATCH),
                lambda e: _git(repo, "apply", "--cached", str(DEMO_PATCH), extra=e))
    e_ = _commit(repo, index, d, "Documentation: another note for the lam-harness e2e test",
                 lambda e: _put(repo, e, doc, "lam-harness bisect e2e, again\n"))
    index.unlink(missing_ok=True)
    _git(repo, "update-ref", "refs/heads/main", e_)
    _git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    # ids are stable (fixed dates, same base): the build cache serves reruns
    trigger = work / "demo_bug_64"
    if not trigger.exists():
        c_src = work / "demo_bug.c"
        c_src.write_text(_git(repo, "show", f"{d}:{TRIGGER_SRC}") + "\n")
        r = subprocess.run(["gcc", "-static", "-O2", "-std=gnu99", "-pthread", "-o",
                            str(trigger), str(c_src), "-lrt", "-ldl"], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
    return History(repo, base, a, b, c, d, e_, trigger)


def _config(tmp: Path, h: History, rate: int, ref: str | None = None) -> Path:
    p = tmp / f"bisect-e2e-{rate}.yaml"
    p.write_text(textwrap.dedent(f"""\
        name: bisect-e2e
        kernel:
          source: {{git: {h.repo}, ref: {ref or h.e}}}
          config:
            base: tinyconfig
            fragments: [{ROOT / 'configs' / 'kconfig' / 'lam-guest.config'}]
        machine:
          accel: auto
          lam: "off"
          smp: 2
          memory: 1G
          cmdline: "demo_bug.rate={rate}"
          boot_timeout: 120
        payloads:
          - {{src: {h.trigger}, dst: /opt/demo_bug_64}}
        tests:
          - name: demo-bug
            run: [/opt/demo_bug_64]
            timeout: 60
        """))
    return p


def _bisect_json(results: Path) -> dict[str, Any]:
    (run,) = [p for p in results.iterdir() if p.name.startswith("bisect-")]
    data: dict[str, Any] = json.loads((run / "bisect.json").read_text())
    return data


def _steps(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["commit"]: s for s in data["steps"] if s["role"] != "log"}


def _check_answer(data: dict[str, Any], h: History) -> None:
    assert data["status"] == "done" and data["exit_code"] == 0, data.get("error")
    assert data["culprit"] == {"commit": h.d, "subject": DEMO_SUBJECT}
    assert data["title"] == "kernel BUG in demo_bug_fire", data["title"]
    steps = _steps(data)
    assert steps[h.e]["role"] == "bad end" and steps[h.e]["verdict"] == "bad"
    assert steps[h.d]["verdict"] == "bad" and steps[h.c]["verdict"] == "good"
    broken = steps[h.b]  # tested first by git on this history
    assert broken["verdict"] == "skip" and not broken["runs"], broken
    assert broken["build"]["ok"] is False
    assert "this commit breaks the build" in broken["build"]["error"]
    # only the target counts: every crash seen had the target title
    assert all(r["crashes"] in ([], [data["title"]]) for s in steps.values()
               for r in s["runs"])


def test_bisect_finds_the_demo_commit(history: History, tmp_path: Path) -> None:
    h = history
    results = tmp_path / "results"
    p = cli("bisect", str(_config(tmp_path, h, 100)), "--good", h.base, "--bad", h.e,
            "--runs", "3", "--max-runs", "12", "--results", str(results), timeout=5400)
    assert p.returncode == 0, p.stderr[-4000:]
    data = _bisect_json(results)
    _check_answer(data, h)
    assert f"first bad commit: {h.d} {DEMO_SUBJECT}" in p.stdout
    assert data["confidence"]["value"] == 1.0  # rate 100: every run crashes
    # every step but the broken one built; the steps share one build folder,
    # so each make after the first only redoes what the commit changed
    # (tests/unit/test_build.py checks the sharing; the time it saves is a
    # figure: bench/build.py, "one_file"; the step times are in the report)
    steps = _steps(data)
    for commit in (h.e, h.c, h.d):
        assert steps[commit]["build"]["ok"], steps[commit]["build"]
    print("\n" + (results / next(results.iterdir()).name / "bisect.txt").read_text())


def test_bisect_flaky_reproducer(history: History, tmp_path: Path) -> None:
    """rate 30: more runs at the bad end, good steps run until a miss is
    unlikely at the measured rate."""
    h = history
    results = tmp_path / "results"
    p = cli("bisect", str(_config(tmp_path, h, 30)), "--good", h.base, "--bad", h.e,
            "--runs", "20", "--max-runs", "60", "--results", str(results), timeout=7200)
    assert p.returncode == 0, p.stderr[-4000:]
    data = _bisect_json(results)
    _check_answer(data, h)
    assert 0.05 < data["rate"]["rate"] < 0.7, data["rate"]
    assert data["confidence"]["value"] >= 0.9, data["confidence"]
    steps = _steps(data)
    assert len(steps[h.c]["runs"]) >= 6  # clean runs needed at ~30%: (0.7)^n <= 1%
    print("\n" + (results / next(results.iterdir()).name / "bisect.txt").read_text())


def test_validate_regresses_and_no_change(history: History, tmp_path: Path) -> None:
    h = history
    cfg = _config(tmp_path, h, 100, ref=h.c)
    p = cli("validate", str(cfg), "--patch", str(ROOT / "patches" / "demo-bug"), "--runs", "5",
            "--results", str(tmp_path / "demo"), timeout=3600)
    assert p.returncode == 1, p.stderr[-4000:]
    (run,) = (tmp_path / "demo").iterdir()
    rep = json.loads((run / "validate.json").read_text())
    (t,) = rep["tests"]
    assert t["test"] == "demo-bug" and t["outcome"] == "regresses", t
    assert t["sides"]["base"]["verdicts"] == {"pass": 5}
    assert t["sides"]["patched"]["verdicts"] == {"crash": 5}
    assert t["overall"]["p"] < 0.01
    (title,) = t["sides"]["patched"]["titles"]
    assert title == "kernel BUG in demo_bug_fire"
    assert "demo-bug: REGRESSES" in p.stdout and "p = 0.00794" in p.stdout

    noop = tmp_path / "0001-doc.patch"
    noop.write_text(textwrap.dedent("""\
        From: lam-harness e2e <e2e@localhost>
        Subject: [PATCH] Documentation: a no-op for validate

        ---
        diff --git a/Documentation/lam-harness-noop.rst b/Documentation/lam-harness-noop.rst
        new file mode 100644
        --- /dev/null
        +++ b/Documentation/lam-harness-noop.rst
        @@ -0,0 +1 @@
        +nothing to see
        """))
    p = cli("validate", str(cfg), "--patch", str(noop), "--runs", "5",
            "--results", str(tmp_path / "noop"), timeout=3600)
    assert p.returncode == 0, p.stderr[-4000:]
    (run,) = (tmp_path / "noop").iterdir()
    (t,) = json.loads((run / "validate.json").read_text())["tests"]
    assert t["outcome"] == "no change", t
    assert t["sides"]["base"]["verdicts"] == t["sides"]["patched"]["verdicts"] == {"pass": 5}
    assert "demo-bug: NO CHANGE" in p.stdout


def test_interrupted_bisect_resumes(history: History, tmp_path: Path) -> None:
    h = history
    results = tmp_path / "results"
    args = [sys.executable, "-m", "harness", "bisect", str(_config(tmp_path, h, 100)),
            "--good", h.base, "--bad", h.e, "--runs", "3", "--max-runs", "12",
            "--results", str(results)]
    proc = subprocess.Popen(args, cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 3600
    data: dict[str, Any] = {}
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            try:
                data = _bisect_json(results)
            except (ValueError, FileNotFoundError):
                continue
            bisecting = [s for s in data["steps"] if s["role"] == "step"]
            # a bisection step decided, and another one under way
            if any(s["verdict"] for s in bisecting) and any(
                    not s["verdict"] and s["runs"] for s in bisecting):
                break
        assert proc.poll() is None, "bisect ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    before = _bisect_json(results)
    assert before["status"] == "interrupted"
    decided = {s["commit"]: s for s in before["steps"] if s["verdict"]}
    assert h.e in decided and len(decided) >= 2

    p = cli(*args[3:], timeout=3600)
    assert p.returncode == 0, p.stderr[-4000:]
    after = _bisect_json(results)
    _check_answer(after, h)
    assert len(after["sessions"]) == 2
    steps = _steps(after)
    for commit, old in decided.items():
        new = steps[commit]
        assert new["verdict"] == old["verdict"] and len(new["runs"]) == len(old["runs"])
        assert all(r["session"] == 1 for r in new["runs"])
        assert new["build"]["session"] == 1
    assert any(r["session"] == 2 for s in steps.values() for r in s["runs"])
