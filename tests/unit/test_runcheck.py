"""run.json read back by ``report`` and ``merge`` is untrusted: wrong types are
one line naming the file (exit 2), paths out of the folder are refused."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from tests.unit.runfolders import make_run

SECRET = "top-secret-outside-the-run-folder"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = cli.main(["-q", *argv])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def _run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "res", "20261121-020000-it", {"a": "crash", "b": "pass"})


def _edit(root: Path, fn: Any) -> None:
    f = root / "run.json"
    data = json.loads(f.read_text())
    fn(data)
    f.write_text(json.dumps(data))


def _refused(capsys: pytest.CaptureFixture[str], root: Path, tmp_path: Path,
             says: str) -> None:
    for argv in (["report", str(root)], ["merge", str(root), "--out", str(tmp_path / "m")]):
        code, lines = _cli(capsys, *argv)
        assert code == 2, (argv, lines)
        assert len(lines) == 1 and lines[0].startswith(f"lam-harness: error: {root}"), lines
        assert says in lines[0] and "Traceback" not in lines[0]
        assert not (tmp_path / "m").exists() or not any((tmp_path / "m").rglob("*secret*"))
    for f in ("summary.html", "summary.txt", "junit.xml", "kcidb.json"):
        assert not (root / f).exists() or SECRET not in (root / f).read_text()


@pytest.mark.parametrize("content", ["", "{", "[1, 2]", '{"jobs": 5}', "\xff\xfe", "[" * 100000,
                                     '{"jobs": [{"name": "it", "tests": [7]}]}'])
def test_corrupt_run_json_is_one_line_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    root = _run(tmp_path)
    (root / "run.json").write_bytes(content.encode("latin-1"))
    _refused(capsys, root, tmp_path, "run.json")


def _outside(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n")
    return secret


@pytest.mark.parametrize("field", ["stdout", "stderr", "console"])
def test_paths_leading_out_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       field: str) -> None:
    secret = _outside(tmp_path)
    root = _run(tmp_path)
    for value, says in (("../../../secret.txt", "leads out"), (str(secret), "is absolute")):
        _edit(root, lambda d, v=value: d["jobs"][0]["tests"][0].update({field: v}))
        _refused(capsys, root, tmp_path, says)


def test_oops_file_and_job_name_leading_out_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _outside(tmp_path)
    root = _run(tmp_path)
    _edit(root, lambda d: d["jobs"][0]["tests"][0]["oopses"][0].update(
        file="../../../secret.txt"))
    _refused(capsys, root, tmp_path, "leads out")
    root2 = make_run(tmp_path / "res2", "20261121-020000-it", {"a": "pass"})
    _edit(root2, lambda d: d["jobs"][0].update(name=".."))
    _refused(capsys, root2, tmp_path, "not a plain folder name")


def test_symlinks_out_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = _outside(tmp_path)
    root = _run(tmp_path)
    out = root / "it" / "a" / "stdout"
    out.unlink()
    out.symlink_to(secret)
    _refused(capsys, root, tmp_path, "symlink out")
    # merge copies the job folder: a link out that run.json does not name.
    out.unlink()
    out.write_text("fine\n")
    (root / "it" / "qemu.log").symlink_to(secret)
    code, lines = _cli(capsys, "merge", str(root), "--out", str(tmp_path / "m"))
    assert code == 2 and len(lines) == 1 and "symlink out" in lines[0], lines
    assert not any(SECRET in p.read_text() for p in (tmp_path / "m").rglob("*") if p.is_file())


def test_symlinks_inside_the_folder_are_fine(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = _run(tmp_path)
    (root / "it" / "b" / "stdout").unlink()
    (root / "it" / "b" / "stdout").symlink_to("../a/stdout")
    code, lines = _cli(capsys, "report", str(root), "--fail-on", "never")
    assert code == 0, lines


def test_a_newer_schema_is_refused_in_one_line(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = _run(tmp_path)
    _edit(root, lambda d: d.update(schema=2))
    _refused(capsys, root, tmp_path, "run.json schema 2 is not one this lam-harness reads")


def test_a_run_json_without_schema_is_read_as_version_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _run(tmp_path)
    _edit(root, lambda d: d.pop("schema"))
    code, lines = _cli(capsys, "report", str(root), "--fail-on", "never")
    assert code == 0, lines
    assert "kernel panic: sysrq triggered crash" in (root / "summary.txt").read_text()
    code, lines = _cli(capsys, "merge", str(root), "--out", str(tmp_path / "m"))
    assert code == 0, lines


def test_a_subtest_verdict_that_is_none_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _run(tmp_path)
    _edit(root, lambda d: d["jobs"][0]["tests"][1].update(
        subtests=[{"name": "s", "verdict": "maybe"}]))
    _refused(capsys, root, tmp_path, "subtests[0].verdict: 'maybe' is not a verdict")


_VALUES: list[Any] = [None, True, -1, 1.5, "x", "../../x", [], {}, [1], {"a": 1}, 10**30]


def _leaves(d: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _leaves(v, (*path, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _leaves(v, (*path, i))
    return out


def test_any_field_of_any_type_is_a_report_or_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every field of a real-looking run.json, swapped for values of other
    types (seeded): report and merge either work or say one line, exit 2."""
    root = _run(tmp_path)
    good = json.loads((root / "run.json").read_text())
    rng = random.Random(15)
    cases = [(p, v) for p in _leaves(good) for v in _VALUES]
    for n, (path, value) in enumerate(rng.sample(cases, len(cases))):
        data = copy.deepcopy(good)
        node = data
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        (root / "run.json").write_text(json.dumps(data))
        argv = ["report", str(root), "--fail-on", "never"] if n % 3 else [
            "merge", str(root), "--out", str(tmp_path / f"m{n}")]
        code, lines = _cli(capsys, *argv)
        what = f"{path} = {value!r}: {lines}"
        assert code in (0, 2), what
        if code == 2:
            assert len(lines) == 1 and str(root) in lines[0], what
        else:
            assert not any("internal error" in x for x in lines), what
