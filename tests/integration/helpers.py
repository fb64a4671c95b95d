"""Run the real CLI against configs written on the fly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import DEBIAN_KERNEL, KERNELS, ROOT


def write_config(tmp: Path, body: str, name: str = "it") -> Path:
    text = f"name: {name}\nkernel:\n  debian: \"{DEBIAN_KERNEL}\"\n" + textwrap.dedent(body)
    p = tmp / f"{name}.yaml"
    p.write_text(text)
    return p


@dataclass
class RunOutcome:
    code: int
    stdout: str
    stderr: str
    results: Path

    @property
    def run(self) -> Any:
        return json.loads((self.run_dir / "run.json").read_text())

    @property
    def run_dir(self) -> Path:
        dirs = sorted(p for p in self.results.iterdir() if p.is_dir())
        assert len(dirs) == 1, dirs
        return dirs[0]

    def tests(self, job: int = 0) -> dict[str, Any]:
        return {t["name"]: t for t in self.run["jobs"][job]["tests"]}

    def junit(self) -> ET.Element:
        return ET.parse(self.run_dir / "junit.xml").getroot()


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["HARNESS_KERNELS"] = str(KERNELS)
    e["PYTHONPATH"] = str(ROOT)
    return e


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, env=env(), timeout=timeout, cwd=ROOT)


def run(cfg: Path, results: Path, *extra: str, timeout: float = 600) -> RunOutcome:
    p = cli("run", str(cfg), "--results", str(results), *extra, timeout=timeout)
    return RunOutcome(p.returncode, p.stdout, p.stderr, results)
