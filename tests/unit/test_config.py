from __future__ import annotations

from pathlib import Path

import pytest

from harness import config
from harness.errors import ConfigError

GOOD = """\
name: demo
kernel:
  debian: linux-image-6.12.*-cloud-amd64-unsigned
machine:
  accel: tcg
  smp: 2
  memory: 1G
tests:
  - name: a
    run: "uname -a"
    timeout: 5
  - name: b
    run: [ls, /]
    repeat: 3
    needs: [lam]
"""


def err(text: str) -> str:
    with pytest.raises(ConfigError) as e:
        config.loads(text, "c.yaml")
    assert e.value.exit_code == 2
    return str(e.value)


def test_good_config_is_typed() -> None:
    c = config.loads(GOOD, "c.yaml")
    assert c.kernel.debian == "linux-image-6.12.*-cloud-amd64-unsigned"
    assert c.machine.accel == "tcg" and c.machine.smp == 2 and c.machine.lam == "auto"
    assert c.tests[0].timeout == 5.0 and isinstance(c.tests[0].timeout, float)
    assert c.tests[1].run == ["ls", "/"] and c.tests[1].repeat == 3
    assert c.tests[1].loc is not None and c.tests[1].loc.line == 12
    assert c.where("machine.smp") == "c.yaml:6"


def test_unknown_key_names_line_and_suggests() -> None:
    msg = err(GOOD.replace("  smp: 2", "  smpp: 2"))
    assert msg == "c.yaml:6: unknown key 'smpp' in machine (did you mean 'smp'?)"


def test_unknown_top_level_key() -> None:
    assert err(GOOD + "tset: []\n").startswith("c.yaml:16: unknown key 'tset' at top level")


def test_wrong_type_names_line() -> None:
    msg = err(GOOD.replace("repeat: 3", "repeat: many"))
    assert msg.startswith("c.yaml:14: tests[1].repeat: expected an integer")


def test_bool_is_not_an_int() -> None:
    assert "expected an integer" in err(GOOD.replace("repeat: 3", "repeat: yes"))


def test_bad_enum_suggests() -> None:
    msg = err(GOOD.replace("accel: tcg", "accel: kvn"))
    assert msg.startswith("c.yaml:5: machine.accel: 'kvn' is not one of auto, kvm, tcg")
    assert "did you mean 'kvm'" in msg


def test_missing_required_key() -> None:
    assert "missing required key 'run'" in err(GOOD.replace('    run: "uname -a"\n', ""))


def test_kernel_needs_exactly_one_input() -> None:
    bad = GOOD.replace("  debian: linux-image-6.12.*-cloud-amd64-unsigned\n",
                       "  image: a\n  debian: b\n")
    assert err(bad).startswith("c.yaml:3: kernel: give exactly one of image, debian, source")


def test_duplicate_test_names() -> None:
    assert "duplicate test name 'a'" in err(GOOD.replace("name: b", "name: a"))


def test_unknown_need() -> None:
    assert "unknown capability 'lma' (did you mean 'lam'?)" in err(GOOD.replace("[lam]", "[lma]"))


def test_yaml_syntax_error_has_line() -> None:
    assert err("name: x\nkernel: [\n").startswith("c.yaml:3: YAML syntax error")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        config.load(tmp_path / "nope.yaml")


def test_duplicate_key() -> None:
    assert "duplicate key" in err(GOOD.replace("  smp: 2\n", "  smp: 2\n  smp: 3\n"))


def test_relative_paths_resolve_against_config_dir(tmp_path: Path) -> None:
    (tmp_path / "bz").write_bytes(b"x")
    p = tmp_path / "c.yaml"
    p.write_text("name: x\nkernel: {image: bz}\n")
    c = config.load(p)
    assert c.resolve_path("bz", "kernel.image") == (tmp_path / "bz").resolve()
    with pytest.raises(ConfigError, match=r"c.yaml:2: kernel.image: 'missing' does not exist"):
        c.resolve_path("missing", "kernel.image")


def test_shipped_configs_load() -> None:
    """Every config shipped in configs/ loads (the glob finds them all: a
    moved folder would otherwise make this pass on nothing)."""
    root = Path(__file__).resolve().parents[2]
    paths = sorted((root / "configs").glob("*.yaml"))
    assert {"quickstart.yaml", "demo-bug.yaml"} <= {p.name for p in paths}
    for p in paths:
        c = config.load(p)
        assert c.tests and c.path == p, p


def test_machine_qemu_forms() -> None:
    base = "name: x\nkernel: {image: /k}\nmachine:\n  qemu: "
    assert config.loads(base + "system\n", "c.yaml").machine.qemu == "system"
    assert config.loads(base + "/opt/qemu/bin/qemu-system-x86_64\n", "c.yaml").machine.qemu \
        == "/opt/qemu/bin/qemu-system-x86_64"
    q = config.loads(base + "{debian: qemu, patches: [patches/qemu/tcg-lam]}\n",
                     "c.yaml").machine.qemu
    assert isinstance(q, config.QemuSource) and q.patches == ["patches/qemu/tcg-lam"]
    assert "unknown key 'patchs'" in err(base + "{debian: qemu, patchs: []}\n")
    emu = "name: x\nkernel: {image: /k}\nmachine:\n  lam_emulator: "
    assert config.loads("name: x\nkernel: {image: /k}\n", "c.yaml").machine.lam_emulator is None
    e = config.loads(emu + "{debian: qemu, patches: [p]}\n", "c.yaml").machine.lam_emulator
    assert isinstance(e, config.QemuSource) and e.patches == ["p"]
    assert config.loads(emu + "/opt/q\n", "c.yaml").machine.lam_emulator == "/opt/q"
    assert "c.yaml:4" in err(emu + "{debian: qemu, patchs: []}\n")


def test_lam_off_is_not_read_as_a_yaml_bool() -> None:
    c = config.loads("name: x\nkernel: {image: /k}\nmachine: {lam: off}\n", "c.yaml")
    assert c.machine.lam == "off"


def test_limits_default_to_64_mib_and_take_sizes() -> None:
    c = config.loads(GOOD, "c.yaml")
    assert c.limits.console_log_cap == c.limits.test_output_cap == 64 << 20
    assert c.limits.max_reports == 100 and c.limits.report_bytes_cap == 64 << 10
    c = config.loads(GOOD + "limits: {console_log: 1G, test_output: 131072, max_reports: 5}\n",
                     "c.yaml")
    assert c.limits.console_log_cap == 1 << 30 and c.limits.test_output_cap == 128 << 10
    assert c.limits.max_reports == 5


@pytest.mark.parametrize("value, message", [
    ("console_log: lots", "limits.console_log: 'lots' is not a size like 64M, 512K or 1G"),
    ("console_log: 64MB", "limits.console_log: '64MB' is not a size like 64M, 512K or 1G"),
    ("test_output: 1K", "limits.test_output: 1K is out of range (64K to 1024G)"),
    ("test_output: 2000G", "limits.test_output: 2000G is out of range (64K to 1024G)"),
    ("console_log: '\u0664\u0665M'", "limits.console_log: '\u0664\u0665M' is not a size"),
    ("max_reports: 0", "limits.max_reports: 0 is out of range (1 to 1000000)"),
    ("report_lines: 1000000000", "limits.report_lines: 1000000000 is out of range"),
    ("max_reports: many", "limits.max_reports: expected an integer, got str 'many'"),
    ("max_report: 5", "unknown key 'max_report' in limits (did you mean 'max_reports'?)"),
])
def test_bad_limits_name_the_line(value: str, message: str) -> None:
    msg = err(GOOD + f"limits:\n  {value}\n")
    assert msg.startswith(f"c.yaml:{GOOD.count(chr(10)) + 2}: {message}"), msg


@pytest.mark.parametrize("bad", ['"demo\\n"', '"a\\n"', "'dé'", "'a b'"])
def test_names_are_matched_whole(bad: str) -> None:
    text = GOOD.replace("name: demo", f"name: {bad}", 1)
    assert "name:" in err(text)
    assert "must be letters" in err(GOOD.replace("- name: a", f"- name: {bad}"))


@pytest.mark.parametrize("key,value,says", [
    ("repeat", "1000000000", "repeat: must be at most"),
    ("timeout", ".nan", "finite"),
    ("timeout", ".inf", "finite"),
    ("timeout", "1" + "0" * 400, "out of range"),
    ("repeat", "1" * 5000, "cannot read"),
])
def test_test_numbers_are_bounded(key: str, value: str, says: str) -> None:
    text = GOOD.replace("    timeout: 5", f"    {key}: {value}")
    assert says in err(text) and "c.yaml:" in err(text)


@pytest.mark.parametrize("line,says", [
    ("smp: 0", "smp: must be at least 1"), ("smp: 100000", "smp: must be at most"),
    ("memory: lots", "not a size"), ("memory: 99999999999999999999G", "not a size"),
    ("memory: 5000T", "16M to 1T"), ("memory: 1K", "16M to 1T"),
    ("network: open", "is not one of"),
])
def test_machine_values_are_bounded(line: str, says: str) -> None:
    key = line.split(":")[0]
    text = GOOD.replace(f"  {key}: ", f"  {line}\n  x{key}: ").replace(f"  x{key}: ", "  #")
    if key == "network":
        text = GOOD.replace("  accel: tcg", f"  accel: tcg\n  {line}")
    assert says in err(text)


def test_network_opt_in() -> None:
    assert config.loads(GOOD, "c.yaml").machine.network == "restricted"
    text = GOOD.replace("  accel: tcg", "  accel: tcg\n  network: user")
    assert config.loads(text, "c.yaml").machine.network == "user"


def test_deep_nesting_is_a_config_error_with_a_line() -> None:
    text = GOOD + "payloads: " + "[" * 2000 + "]" * 2000 + "\n"
    msg = err(text)
    assert "nested too deeply" in msg and msg.startswith("c.yaml:")


def test_a_huge_config_is_refused_before_parsing(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    p.write_text(GOOD + "#" * (2 << 20) + "\n")
    with pytest.raises(ConfigError) as e:
        config.load(p)
    assert "at most 1 MiB" in str(e.value) and str(e.value).startswith(f"{p}:1:")
