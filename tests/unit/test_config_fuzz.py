"""Config fuzzing: seeded, reproducible mutations of every file in configs/
go through the real CLI entry (``harness.cli.main(["run", F])``).  A broken
config is exactly one stderr line ``lam-harness: error: F:LINE: ...`` and exit
2, never a traceback; a mutation that is still a valid config reaches the run
(stopped there by a sentinel).  A few go through a real subprocess."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
SEED = int(os.environ.get("HARNESS_FUZZ_SEED", "15"))
PER_FILE = 60

# Values that no field of the schema takes, whatever the key.
INVALID = ["{a: 1}", "[1, 2]", "{}", "!!binary aGVsbG8=", "*nowhere", "&x [*x]",
           "'\x1b]0;pwned\x07'", '"\\e[2J\\r"', "1" * 5000, "[" * 2000 + "]" * 2000]
# Values some fields take and others do not.
ANY = INVALID + ["10**9", "1000000000", "0", "-1", ".nan", "-.inf", "lots", "1e400",
                 "ü名字", "''", "~", "yes", "2026-12-04", "0x10", "'a\\tb'", '"\\u202e"',
                 "99999999999999999999999G", "null"]
LINE_RE = re.compile(r"^(\s*(?:- )?)([A-Za-z_]+):( .*)?$")


class Valid(BaseException):
    """Raised where a run would start: the mutated config loaded."""


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            tmp_path: Path):
    def fake_run(*a: object, **k: object) -> None:
        raise Valid

    monkeypatch.setattr(cli.nightly, "run", fake_run)
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))

    def go(path: Path) -> tuple[int | None, list[str]]:
        try:
            code: int | None = cli.main(["-q", "run", str(path)])
        except Valid:
            code = None
        err = capsys.readouterr().err
        return code, [x for x in err.splitlines() if x.strip()]
    return go


def _assert_one_line(path: Path, code: int | None, lines: list[str], what: str) -> None:
    assert code == 2, f"{what}: exit {code}: {lines}"
    assert len(lines) == 1, f"{what}: {lines}"
    m = re.match(rf"lam-harness: error: {re.escape(str(path))}:(\d+): \S", lines[0])
    assert m, f"{what}: {lines[0][:300]!r}"
    assert int(m[1]) >= 1
    assert "Traceback" not in lines[0] and len(lines[0]) < 1000, f"{what}: {lines[0][:300]!r}"
    assert not any(ord(c) < 32 or c == "\x7f" for c in lines[0]), f"{what}: {lines[0]!r}"


def _mutations(text: str, rng: random.Random) -> list[tuple[str, str | bytes]]:
    lines = text.splitlines()
    keyed = [i for i, x in enumerate(lines) if LINE_RE.match(x)]
    out: list[tuple[str, str | bytes]] = []
    for _ in range(PER_FILE):
        i = rng.choice(keyed)
        m = LINE_RE.match(lines[i])
        assert m
        indent, key, _ = m.groups()
        kind = rng.randrange(7)
        new = list(lines)
        if kind <= 2:  # a value of another type (or a plain odd value)
            pool = INVALID if kind == 0 else ANY
            v = rng.choice(pool)
            new[i] = f"{indent}{key}: {v}"
            what = f"line {i + 1}: {key}: {v[:40]!r}"
        elif kind == 3:  # an unknown key beside it
            junk = "".join(rng.choice("abcdefghij_") for _ in range(6))
            new.insert(i + 1, " " * len(indent) + f"{key}{junk}: 1")
            what = f"line {i + 2}: unknown key {key}{junk}"
        elif kind == 4:  # a control character or a unicode letter in the key
            c = rng.choice(["\x1b", "\x07", "\x00", "\x85", "é", "\u202e", "\r"])
            new[i] = f"{indent}{key}{c}: 1"
            what = f"line {i + 1}: key {key}+{c!r}"
        elif kind == 5:  # a bad indent (tab) or a stray colon
            new[i] = rng.choice(["\t" + lines[i], lines[i] + ": :", lines[i] + " ]"])
            what = f"line {i + 1}: syntax {new[i][:40]!r}"
        else:  # bytes that are not UTF-8
            data = "\n".join(new).encode()
            pos = rng.randrange(len(data))
            out.append((f"byte {pos}: \\xff", data[:pos] + b"\xff" + data[pos:]))
            continue
        out.append((what, "\n".join(new) + "\n"))
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_random_mutations_give_one_line_or_a_valid_config(run_cli, tmp_path: Path,
                                                          config: Path) -> None:
    rng = random.Random(f"{SEED}:{config.name}")
    text = config.read_text()
    path = tmp_path / config.name
    errors = 0
    for what, data in _mutations(text, rng):
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
        code, lines = run_cli(path)
        if code is None:
            assert lines == [], f"{what}: {lines}"
            continue
        errors += 1
        _assert_one_line(path, code, lines, f"{config.name} {what} (seed {SEED})")
    assert errors >= PER_FILE // 3  # the mutations do break configs


@pytest.mark.parametrize("key,value", [
    ("repeat", "1000000000"), ("repeat", "10**9"), ("smp", "0"), ("smp", "100000"),
    ("memory", "lots"), ("memory", "1000000T"), ("timeout", ".nan"), ("timeout", "1e400"),
    ("boot_timeout", "-.inf"), ("name", '"quickstart\\n"'), ("name", "ü名字"),
    ("name", '"\\e[31mred"'), ("format", "tapp"), ("accel", "[kvm]"), ("network", "open"),
])
def test_targeted_bad_values_are_one_line(run_cli, tmp_path: Path, key: str, value: str) -> None:
    text = (ROOT / "configs" / "quickstart.yaml").read_text()
    extra = {"repeat": "    repeat: 20", "timeout": "    timeout: 30", "network": "  smp: 2"}
    if key in extra:
        old = extra[key]
        new = (f"{old}\n  {key}: {value}" if key == "network"
               else f"{old.split(':')[0]}: {value}")
    else:
        m = re.search(rf"(?m)^\s*{key}: .*$", text)
        assert m, key
        old, new = m[0], f"{m[0].split(':')[0]}: {value}"
    path = tmp_path / "c.yaml"
    path.write_text(text.replace(old, new, 1))
    code, lines = run_cli(path)
    _assert_one_line(path, code, lines, f"{key}: {value}")


def test_nesting_2000_deep(run_cli, tmp_path: Path) -> None:
    text = (ROOT / "configs" / "debian-cloud.yaml").read_text()
    path = tmp_path / "deep.yaml"
    for deep in ("[" * 2000 + "]" * 2000, "{a: " * 2000 + "1" + "}" * 2000,
                 "".join(f"\n{'  ' * (i + 1)}- " for i in range(300)) + "x",
                 "[" * 900_000):  # PyYAML's scanner is quadratic in this: never reached
        path.write_text(text + f"payloads: {deep}\n")
        code, lines = run_cli(path)
        _assert_one_line(path, code, lines, f"nested {deep[:10]!r}")


def test_a_50_mb_config_is_refused_at_once(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w") as f:
        f.write((ROOT / "configs" / "debian-cloud.yaml").read_text())
        chunk = "# " + "x" * 1022 + "\n"
        for _ in range(50 * 1024):
            f.write(chunk)
    code, lines = run_cli(path)
    _assert_one_line(path, code, lines, "50 MB")
    assert "at most 1 MiB" in lines[0]


@pytest.mark.parametrize("data", [b"name: a\x00b\n", b"\xff\xfe\n", b"name: [\n" * 3,
                                  b"name: demo\nkernel: {debian: x}\nmachine: {smp: 0}\n"])
def test_through_a_real_subprocess(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    env = {**os.environ, "HARNESS_RESULTS": str(tmp_path / "results")}
    p = subprocess.run([sys.executable, "-m", "harness", "-q", "run", str(path)], cwd=ROOT,
                       capture_output=True, text=True, env=env, timeout=60)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    _assert_one_line(path, p.returncode, lines, repr(data))
    assert p.stdout == "" and not (tmp_path / "results").exists()
