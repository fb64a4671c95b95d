"""ci/examples: the nightly pipelines load, have the shape the docs promise,
and every lam-harness command in them parses with our real CLI parser."""

from __future__ import annotations

import re
import shlex
import subprocess
from typing import Any

import pytest
import yaml

from harness.cli import parser
from harness.report import known
from tests.conftest import ROOT

EXAMPLES = ROOT / "ci" / "examples"


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((EXAMPLES / name).read_text())
    assert isinstance(data, dict)
    return data


def _scripts(job: dict[str, Any]) -> list[str]:
    if "script" in job:  # GitLab
        return [str(s) for s in job["script"]]
    return [str(s["run"]) for s in job.get("steps", []) if "run" in s]  # GitHub


def _commands(script: str, variables: dict[str, str]) -> list[list[str]]:
    """The lam-harness invocations of a script, variables expanded."""
    out = []
    for line in script.replace("\\\n", " ").splitlines():
        line = line.strip()
        m = re.search(r"(?:\$LAMH|\S*lam-harness)\s+(.*)$", line)
        if not m or line.startswith("#"):
            continue
        text = re.sub(r"\$\{\{\s*matrix\.shard\s*\}\}", "1", m.group(1))
        text = re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda v: variables[v.group(1)], text)
        text = text.replace("$base", "--baseline prev/nightly/run")
        text = re.sub(r"\$\{?(\w+)\}?", lambda v: variables.get(v.group(1), "1"), text)
        out.append(shlex.split(text))
    return out


def _check_commands(jobs: dict[str, Any], variables: dict[str, str]) -> dict[str, list[str]]:
    """Parse every command; returns the subcommands seen per job."""
    seen: dict[str, list[str]] = {}
    for name, job in jobs.items():
        for script in _scripts(job):
            for argv in _commands(script, variables):
                try:
                    args = parser().parse_args(argv)
                except SystemExit:
                    pytest.fail(f"{name}: `lam-harness {shlex.join(argv)}` does not parse")
                seen.setdefault(name, []).append(args.command)
                if args.command == "run":
                    assert (ROOT / args.config).is_file(), args.config
                    assert args.fail_on == "never" and args.shard is not None
                if args.command == "report" and args.known:
                    known.load(ROOT / args.known)  # the example file is valid
    return seen


def test_gitlab_nightly() -> None:
    ci = _load("gitlab-ci.yml")
    variables = {k: str(v) for k, v in ci["variables"].items()}
    jobs = {k: v for k, v in ci.items() if isinstance(v, dict) and ("script" in v)}
    assert set(jobs) == {"nightly-baseline", "nightly-shard", "nightly-merge", "nightly-gate"}
    assert ci["stages"] == ["baseline", "shard", "merge", "gate"]
    for name, job in jobs.items():
        assert job["stage"] in ci["stages"] and job["tags"] == ["lam"], name
    shards = jobs["nightly-shard"]["parallel"]["matrix"][0]["SHARD"]
    assert shards == [str(k) for k in range(1, int(variables["SHARDS"]) + 1)]
    merge = jobs["nightly-merge"]
    assert "nightly-shard" in merge["needs"] and merge["when"] == "always"
    assert "nightly-merge" in jobs["nightly-gate"]["needs"]
    assert merge["artifacts"]["when"] == "always" and "nightly/" in merge["artifacts"]["paths"]
    assert merge["artifacts"]["reports"]["junit"] == "nightly/run/junit.xml"
    assert "shards/" in jobs["nightly-shard"]["artifacts"]["paths"]
    assert "shards/**/keys/**" in jobs["nightly-shard"]["artifacts"]["exclude"]
    # The baseline job fetches the merge job's artifacts of the previous night.
    assert "job=nightly-merge" in "".join(jobs["nightly-baseline"]["script"])
    assert {r["if"] for r in ci["workflow"]["rules"]} >= {'$CI_PIPELINE_SOURCE == "schedule"'}
    seen = _check_commands(jobs, variables)
    assert seen == {"nightly-shard": ["run"], "nightly-merge": ["merge", "report"],
                    "nightly-gate": ["report"]}
    gate = "".join(jobs["nightly-gate"]["script"])
    assert "--fail-on new" in gate and "--baseline prev/nightly/run" in gate


def test_github_nightly() -> None:
    wf = _load("github-actions.yml")
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["schedule"][0]["cron"] and "workflow_dispatch" in on
    assert wf["permissions"]["actions"] == "read"
    variables = {k: str(v) for k, v in wf["env"].items()}
    jobs = wf["jobs"]
    assert set(jobs) == {"baseline", "shard", "merge"}
    for name, job in jobs.items():
        assert job["runs-on"] == ["self-hosted", "lam"], name
    assert jobs["shard"]["needs"] == "baseline"
    assert jobs["shard"]["strategy"]["matrix"]["shard"] == list(
        range(1, int(variables["SHARDS"]) + 1))
    assert jobs["shard"]["strategy"]["fail-fast"] is False
    merge = jobs["merge"]
    assert "shard" in merge["needs"] and merge["if"] == "always()"
    uploads = {s["with"]["name"]: s for job in jobs.values() for s in job["steps"]
               if str(s.get("uses", "")).startswith("actions/upload-artifact")}
    assert set(uploads) == {"prev", "shard-${{ matrix.shard }}", "nightly"}
    downloads = [s["with"] for s in merge["steps"]
                 if str(s.get("uses", "")).startswith("actions/download-artifact")]
    assert {"pattern": "shard-*", "path": "shards", "merge-multiple": True} in downloads
    # The baseline is the previous run's `nightly` artifact, whatever its conclusion.
    fetch = "".join(_scripts(jobs["baseline"]))
    assert "gh run list" in fetch and "--status completed" in fetch and "-n nightly" in fetch
    seen = _check_commands(jobs, variables)
    assert seen == {"shard": ["run"], "merge": ["merge", "report", "report"]}
    last = merge["steps"][-1]
    assert "gate" in last["name"] and "--fail-on new" in last["run"]
    # The gate comes after the upload, so a red night still leaves tomorrow's baseline.
    names = [s.get("name") or s.get("uses") for s in merge["steps"]]
    assert names.index("actions/upload-artifact@v4") < names.index(last["name"])


@pytest.mark.parametrize("name", ["gitlab-ci.yml", "github-actions.yml"])
def test_scripts_are_valid_shell(name: str) -> None:
    ci = _load(name)
    jobs = ci["jobs"] if "jobs" in ci else {k: v for k, v in ci.items()
                                             if isinstance(v, dict) and "script" in v}
    for job_name, job in jobs.items():
        for script in _scripts(job):
            script = re.sub(r"\$\{\{[^}]*\}\}", "X", script)
            p = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
            assert p.returncode == 0, f"{name}: {job_name}: {p.stderr}\n{script}"


def test_example_known_issues_file_loads() -> None:
    kf = known.load(EXAMPLES / "known-issues.yaml")
    assert kf.issues and all(i.link and i.reason for i in kf.issues)


def test_commands_extraction_sees_bad_options() -> None:
    """The checker itself: a wrong option is caught."""
    with pytest.raises(pytest.fail.Exception):
        _check_commands({"j": {"script": ["$LAMH report x --fail-on sometimes"]}}, {})


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.iterdir()))
def test_every_example_is_checked(name: str) -> None:
    """Each file of ci/examples is checked by what it is: a pipeline's
    lam-harness commands parse with the real CLI parser, a known-issues file
    loads.  A new example is checked without a test written for it."""
    if name == "known-issues.yaml":
        assert known.load(EXAMPLES / name).issues
        return
    assert name.endswith(".yml"), f"{name}: not a pipeline nor a known-issues file"
    ci = _load(name)
    jobs = ci["jobs"] if "jobs" in ci else {k: v for k, v in ci.items()
                                             if isinstance(v, dict) and "script" in v}
    variables = {k: str(v) for k, v in (ci.get("env") or ci.get("variables") or {}).items()}
    assert _check_commands(jobs, variables), f"{name}: no lam-harness command found"
