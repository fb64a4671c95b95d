"""A bug in the harness itself (an exception nobody expected) in the middle
of a real run: an infrastructure error with its own exit code (3, never the
1 of a test failure), the traceback in the run folder, and every result
gathered before it kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness import cli, pipeline
from tests.conftest import KERNELS
from tests.faults.conftest import INFRA, Ending
from tests.integration.helpers import write_config

pytestmark = pytest.mark.vm


def test_an_exception_in_the_harness_mid_run(debian_kernel: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    real = pipeline.run_test

    def buggy(guest: Any, console: Any, alive: Any, test: Any, *rest: Any, **kw: Any) -> Any:
        if test.name == "boom":
            raise KeyError("a key the harness forgot")
        return real(guest, console, alive, test, *rest, **kw)

    monkeypatch.setattr(pipeline, "run_test", buggy)
    monkeypatch.setenv("HARNESS_KERNELS", str(KERNELS))
    cfg = write_config(tmp_path, """
        machine: {boot_timeout: 120}
        tests:
          - {name: first, run: "true"}
          - {name: boom, run: "true"}
          - {name: last, run: "true"}
    """)
    results = tmp_path / "results"
    code = cli.main(["run", str(cfg), "--results", str(results)])
    end = Ending(code, capsys.readouterr().err, results)
    end.check(3, "error", INFRA)
    job = end.run["jobs"][0]
    assert job["error"].startswith("internal error in the harness: KeyError: "), job["error"]
    assert "it/traceback.txt" in job["error"], job["error"]
    tb = (end.run_dir / "it" / "traceback.txt").read_text()
    assert "a key the harness forgot" in tb and "buggy" in tb
    t = end.tests()
    assert t["first"]["verdict"] == "pass"
    assert t["last"]["verdict"] == "notrun"
