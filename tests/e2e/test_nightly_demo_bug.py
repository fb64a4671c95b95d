"""Nightly reporting on real runs of the demo-bug kernel (a real BUG_ON built
from source) at different rates: rate 0 is a clean night, rate 100 a new
crash. Exactly one new failure against the clean baseline, one fixed the
other way round, a known issue turning the crash into XFAIL, and the
--fail-on new gate passing when only known results are left."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, need
from tests.integration.helpers import RunOutcome, cli, run

pytestmark = [pytest.mark.build, pytest.mark.vm]

TITLE = "kernel BUG in demo_bug_fire"
KNOWN = f"""\
issues:
  - id: demo
    title: "{TITLE}"
    link: https://lore.kernel.org/demo
    reason: the demo patch hits BUG_ON on purpose
"""


def _config(tmp: Path, rate: int) -> Path:
    text = (ROOT / "configs" / "demo-bug.yaml").read_text()
    text = (text.replace("patches: [patches/demo-bug]",
                         f"patches: [{ROOT / 'patches' / 'demo-bug'}]")
            .replace("configs/kconfig/lam-guest.config",
                     str(ROOT / "configs" / "kconfig" / "lam-guest.config"))
            .replace("demo_bug.rate=100", f"demo_bug.rate={rate}"))
    d = tmp / f"rate{rate}"
    d.mkdir(exist_ok=True)
    p = d / "demo-bug.yaml"
    p.write_text(text)
    return p


def _classes(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "compare.json").read_text())
    return {r["path"]: r for r in data["results"]}


def test_demo_bug_rates_new_fixed_known_and_gate(tmp_path: Path) -> None:
    for t in ("make", "gcc", "qemu-system-x86_64"):
        need(shutil.which(t) is not None, f"{t} not installed")
    clean = run(_config(tmp_path, 0), tmp_path / "r0", "--only", "demo-bug", timeout=3000)
    assert clean.code == 0, clean.stderr[-2000:]
    assert clean.tests()["demo-bug"]["verdict"] == "pass"
    crash: RunOutcome = run(_config(tmp_path, 100), tmp_path / "r100", "--only", "demo-bug",
                            "--baseline", str(clean.run_dir), "--fail-on", "new",
                            timeout=3000)
    assert crash.code == 1, crash.stderr[-2000:]
    assert crash.tests()["demo-bug"]["reason"] == TITLE
    got = _classes(crash.run_dir)
    new = [p for p, r in got.items() if r["class"] == "new_failure"]
    assert new == ["demo-bug"], got
    assert got["demo-bug"]["titles"] == [TITLE]
    assert TITLE in (crash.run_dir / "summary.txt").read_text()
    # the reverse: fixed
    p = cli("report", str(clean.run_dir), "--baseline", str(crash.run_dir), "--fail-on", "new")
    assert p.returncode == 0, p.stdout + p.stderr
    assert [k for k, r in _classes(clean.run_dir).items() if r["class"] == "fixed"] == [
        "demo-bug"]
    # a known issue: XFAIL, and --fail-on new passes
    known = tmp_path / "known.yaml"
    known.write_text(KNOWN)
    p = cli("report", str(crash.run_dir), "--baseline", str(clean.run_dir), "--known",
            str(known), "--fail-on", "new")
    assert p.returncode == 0, p.stdout + p.stderr
    r = _classes(crash.run_dir)["demo-bug"]
    assert (r["class"], r["status"], r["xfail"]) == ("known", "XFAIL", True)
