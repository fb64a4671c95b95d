# ruff: noqa: E101, W191  (Kconfig text is tab-indented, as in the kernel)
from __future__ import annotations

from harness.kernel import kconfig as k

KCONFIG = """\
config X86_64
	def_bool y

config ADDRESS_MASKING
	bool "Linear Address Masking support"
	depends on X86_64
	depends on COMPILE_TEST || !CPU_MITIGATIONS # wait for LASS
	help
	  Linear Address Masking (LAM) modifies the checking. The help
	  text may say it depends on nothing at all.

menuconfig RUNTIME_TESTING_MENU
	bool "Runtime Testing"

if RUNTIME_TESTING_MENU
config LKDTM
	tristate "Linux Kernel Dump Test Tool Module"
	depends on DEBUG_FS
endif
"""


def test_parse_config_and_fragment() -> None:
    cfg = k.parse_config("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\nCONFIG_N=8\n")
    assert cfg == {"A": "y", "B": "n", "C": '"x y"', "N": "8"}
    frag = k.parse_fragment("# comment\nCONFIG_A=y\n\n# CONFIG_B is not set\n", "f.config")
    assert [(s.symbol, s.value, s.line) for s in frag] == [("A", "y", 2), ("B", "n", 4)]


def test_parse_kconfig_skips_help_and_tracks_if_blocks() -> None:
    defs = {d.symbol: d for d in k.parse_kconfig(KCONFIG, "arch/x86/Kconfig")}
    am = defs["ADDRESS_MASKING"]
    assert am.depends == [("X86_64", 6), ("COMPILE_TEST || !CPU_MITIGATIONS", 7)]
    assert defs["LKDTM"].inside_if == [("RUNTIME_TESTING_MENU", 15)]
    assert defs["LKDTM"].depends == [("DEBUG_FS", 18)]


def test_evaluate_tristate() -> None:
    v = {"A": "y", "B": "n", "M": "m", "S": '"abc"'}
    assert k.evaluate("A && !B", v) == 2
    assert k.evaluate("A && B", v) == 0
    assert k.evaluate("B || M", v) == 1
    assert k.evaluate("!(A && B)", v) == 2
    assert k.evaluate('S = "abc"', v) == 2 and k.evaluate('S != "abc"', v) == 0
    assert k.evaluate("UNKNOWN", v) == 0


def test_dropped_option_names_the_blocking_line_and_values() -> None:
    defs = {d.symbol: [d] for d in k.parse_kconfig(KCONFIG, "arch/x86/Kconfig")}
    asked = [k.Setting("ADDRESS_MASKING", "y", "lam-guest.config", 12)]
    final = {"X86_64": "y", "CPU_MITIGATIONS": "y"}
    (d,) = k.verify(asked, final, defs)
    text = str(d)
    assert text.startswith("CONFIG_ADDRESS_MASKING=y asked by lam-guest.config:12 but is not set")
    assert "arch/x86/Kconfig:7: depends on COMPILE_TEST || !CPU_MITIGATIONS" in text
    assert "CPU_MITIGATIONS=y" in text and "X86_64" not in text.split("blocked by")[1][:30]


def test_if_block_blocks() -> None:
    defs = {d.symbol: [d] for d in k.parse_kconfig(KCONFIG, "lib/Kconfig.debug")}
    (d,) = k.verify([k.Setting("LKDTM", "y", "f", 1)], {"DEBUG_FS": "y"}, defs)
    assert "lib/Kconfig.debug:15: if RUNTIME_TESTING_MENU  [RUNTIME_TESTING_MENU=n]" in str(d)


def test_kept_options_and_later_fragments_win() -> None:
    asked = [k.Setting("A", "n", "a", 1), k.Setting("A", "y", "b", 1)]
    assert k.verify(asked, {"A": "y"}, {}) == []


def test_unknown_symbol_is_reported() -> None:
    (d,) = k.verify([k.Setting("NOPE", "y", "f", 3)], {}, {})
    assert "no 'config NOPE'" in str(d)
