"""Tests for harness.parse.symbolize: frame parsing and output formatting on
fake nm/addr2line output, and the real thing on a cached vmlinux when one
matching the golden demo-bug log is there."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.parse.oops import scan, scan_bytes
from harness.parse.symbolize import (
    Symbolizer,
    format_frame,
    parse_addr2line,
    parse_frames,
    parse_nm,
    symbolize,
)
from tests.conftest import KERNELS, need

ROOT = Path(__file__).resolve().parents[2]
DEMO_LOG = ROOT / "tests" / "data" / "console" / "demo-bug-6.12-tcg.log"

REPORT = """\
[    1.613717] kernel BUG at arch/x86/kernel/demo_bug.c:49!
[    1.614097] Oops: invalid opcode: 0000 [#1] SMP
[    1.616120] RIP: 0010:demo_bug_fire+0x5b/0x62
[    1.616301] Code: 41 c1 e8 08 45 39 c8 73 23 65 48 8b 15 09 2d 00 7f 48 c7 c7 aa a5 6f 81 8b 8a
[    1.621529] Call Trace:
[    1.621873]  <TASK>
[    1.621948]  ? do_arch_prctl_64+0x170/0x28c
[    1.622139]  do_syscall_64+0x4a/0xa4
[    1.622200]  foo_mod_fn+0x10/0x20 [foo]
[    1.622783]  entry_SYSCALL_64_after_hwframe+0x4b/0x53
[    1.623306]  </TASK>
[    1.626753] ---[ end trace 0000000000000000 ]---
"""

NM = """\
ffffffff81000000 T _text
ffffffff8101c5f5 0000000000000062 t demo_bug_fire
ffffffff81019720 000000000000028c T do_arch_prctl_64
ffffffff81349baf 00000000000000a4 T do_syscall_64
ffffffff81400061 T entry_SYSCALL_64_after_hwframe
ffffffff8134c556 00000000000000fc t kernel_init
ffffffff82000000 0000000000000040 D some_data
         U undefined_thing
"""

TREE = "/build/linux-6.12/"


def addr2line_for(addrs: Sequence[str]) -> str:
    """What addr2line -a -f -i prints for the addresses of NM."""
    known = {
        0xFFFFFFFF8101C650: [("demo_bug_fire", f"{TREE}arch/x86/kernel/demo_bug.c:49")],
        0xFFFFFFFF8101988F: [("do_arch_prctl_64", f"{TREE}arch/x86/kernel/process_64.c:959")],
        0xFFFFFFFF81349BF8: [("do_syscall_x64", f"{TREE}arch/x86/entry/common.c:47"),
                             ("do_syscall_64", f"{TREE}arch/x86/entry/common.c:78")],
        0xFFFFFFFF814000AB: [("entry_SYSCALL_64_after_hwframe",
                              f"{TREE}arch/x86/entry/entry_64.S:121 (discriminator 2)")],
        0xFFFFFFFF8134C556: [("kernel_init", f"{TREE}init/main.c:1463")],
    }
    out = []
    for a in addrs:
        v = int(a, 16)
        out.append(f"0x{v:016x}")
        for func, loc in known.get(v, [("??", "??:0")]):
            out += [func, loc]
    return "\n".join(out) + "\n"


class FakeTools:
    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, argv: Sequence[str], timeout: float) -> str:
        self.calls.append(list(argv))
        if self.fail and argv[0] == self.fail:
            raise OSError(f"{self.fail} exited with 1: boom")
        if argv[0] == "nm":
            return NM
        assert argv[:5] == ["addr2line", "-a", "-f", "-i", "-e"]
        return addr2line_for(argv[6:])


# --------------------------------------------------------------------------
# Pure parts


def test_parse_frames() -> None:
    lines = REPORT.splitlines()
    frames = parse_frames(lines)
    assert [(f.index, f.name, f.offset, f.size, f.module, f.exact) for f in frames] == [
        (2, "demo_bug_fire", 0x5B, 0x62, None, True),  # RIP: the exact address
        (6, "do_arch_prctl_64", 0x170, 0x28C, None, False),  # return addresses
        (7, "do_syscall_64", 0x4A, 0xA4, None, False),
        (8, "foo_mod_fn", 0x10, 0x20, "foo", False),
        (9, "entry_SYSCALL_64_after_hwframe", 0x4B, 0x53, None, False),
    ]
    f = frames[1]
    assert lines[6][f.start:f.end] == "do_arch_prctl_64+0x170/0x28c"


def test_parse_frames_skips_code_lines_and_symbolized_frames() -> None:
    lines = [
        "Code: 48 89 c7 e8 5b fd ff ff <0f> 0b foo+0x1/0x2",
        " foo+0x1/0x2 (arch/x86/foo.c:12)",
        " bar+0x1/0x2 net/core/dev.c:123",
        "WARNING: CPU: 0 PID: 1 at lib/foo.c:12 baz+0x1/0x2",
        "ffff888103a4c0b8 (&dev->lock){+.+.}-{3:3}, at: foo_work+0x2c/0x90",
    ]
    frames = parse_frames(lines)
    assert [(f.index, f.name, f.exact) for f in frames] == [(3, "baz", True),
                                                           (4, "foo_work", False)]


def test_parse_nm() -> None:
    table = parse_nm(NM)
    assert table["demo_bug_fire"] == [(0xFFFFFFFF8101C5F5, 0x62)]
    assert table["entry_SYSCALL_64_after_hwframe"] == [(0xFFFFFFFF81400061, None)]
    assert "some_data" not in table and "undefined_thing" not in table


def test_parse_addr2line_with_inlines_and_unknowns() -> None:
    out = addr2line_for(["0xffffffff81349bf8", "0xdead", "0xffffffff814000ab"])
    got = parse_addr2line(out)
    assert got[0xFFFFFFFF81349BF8] == [
        ("do_syscall_x64", f"{TREE}arch/x86/entry/common.c:47"),
        ("do_syscall_64", f"{TREE}arch/x86/entry/common.c:78"),
    ]
    assert got[0xDEAD] == []
    assert got[0xFFFFFFFF814000AB] == [("entry_SYSCALL_64_after_hwframe",
                                        f"{TREE}arch/x86/entry/entry_64.S:121")]


def test_format_frame() -> None:
    line = "[    1.622139]  ? do_syscall_64+0x4a/0xa4"
    (f,) = parse_frames([line])
    assert format_frame(line, f, [("do_syscall_64", "arch/x86/entry/common.c:78")]) == [
        "[    1.622139]  ? do_syscall_64+0x4a/0xa4 (arch/x86/entry/common.c:78)"]
    assert format_frame(line, f, [("do_syscall_x64", f"{TREE}arch/x86/entry/common.c:47"),
                                  ("do_syscall_64", f"{TREE}arch/x86/entry/common.c:78")],
                        TREE) == [
        "[    1.622139]  ? do_syscall_64+0x4a/0xa4 (arch/x86/entry/common.c:47)",
        "[    1.622139]      (inlined by) do_syscall_64 (arch/x86/entry/common.c:78)",
    ]
    rip = "RIP: 0010:foo+0x1/0x2 [foo]"
    (g,) = parse_frames([rip])
    assert format_frame(rip, g, [("bar", "a.c:1"), ("foo", "b.c:2")]) == [
        "RIP: 0010:foo+0x1/0x2 (a.c:1) [foo]", "            (inlined by) foo (b.c:2)"]
    assert format_frame(rip, g, []) == [rip]


# --------------------------------------------------------------------------
# The whole thing on fake tools


def test_symbolize_with_fake_tools(tmp_path: Path) -> None:
    vmlinux = tmp_path / "vmlinux"
    vmlinux.write_bytes(b"\x7fELF fake")
    tools = FakeTools()
    s = Symbolizer(vmlinux, runner=tools).symbolize(REPORT)
    # one nm (cached per vmlinux), one addr2line for all the report's addresses
    assert [c[0] for c in tools.calls] == ["nm", "addr2line"]
    asked = [int(a, 16) for a in tools.calls[1][6:]]
    assert asked == sorted({
        0xFFFFFFFF8101C5F5 + 0x5B,  # RIP: exact
        0xFFFFFFFF81019720 + 0x170 - 1,  # return addresses: the call instruction
        0xFFFFFFFF81349BAF + 0x4A - 1,
        0xFFFFFFFF81400061 + 0x4B - 1,
        0xFFFFFFFF8134C556,  # kernel_init: where the tree's root is
    })
    lines = s.text.splitlines()
    assert lines[2] == ("[    1.616120] RIP: 0010:demo_bug_fire+0x5b/0x62 "
                        "(arch/x86/kernel/demo_bug.c:49)")
    assert lines[6] == ("[    1.621948]  ? do_arch_prctl_64+0x170/0x28c "
                        "(arch/x86/kernel/process_64.c:959)")
    assert lines[7:9] == [
        "[    1.622139]  do_syscall_64+0x4a/0xa4 (arch/x86/entry/common.c:47)",
        "[    1.622139]    (inlined by) do_syscall_64 (arch/x86/entry/common.c:78)",
    ]
    assert lines[9] == "[    1.622200]  foo_mod_fn+0x10/0x20 [foo]"  # a module: left alone
    assert lines[10] == ("[    1.622783]  entry_SYSCALL_64_after_hwframe+0x4b/0x53 "
                         "(arch/x86/entry/entry_64.S:121)")
    assert s.text.endswith("---[ end trace 0000000000000000 ]---\n")
    assert (s.resolved, s.frames) == (4, 5)
    assert s.notes == ["1 frame(s) in modules left as they are"]
    # a symbolized report parses to the same report
    (a,), (b,) = scan(REPORT), scan(s.text)
    assert (a.kind, a.title, a.guilty_frame) == (b.kind, b.title, b.guilty_frame)
    # the symbol table is cached: the next report runs addr2line only
    Symbolizer(vmlinux, runner=tools).symbolize(REPORT)
    assert [c[0] for c in tools.calls] == ["nm", "addr2line", "addr2line"]


def test_srctree_and_relative_paths(tmp_path: Path) -> None:
    vmlinux = tmp_path / "vmlinux"
    vmlinux.write_bytes(b"x")
    s = Symbolizer(vmlinux, runner=FakeTools(), srctree="/build").symbolize(REPORT)
    assert "(linux-6.12/arch/x86/kernel/demo_bug.c:49)" in s.text


def test_paths_under_other_build_roots_are_cut_at_the_kernel_tree() -> None:
    from harness.parse.symbolize import _relative

    # objects from a shared ccache keep the build folder of their first compile
    assert _relative("/tmp/ci/kernels/build/linux-source-6.12-x/arch/x86/kernel/demo_bug.c:49",
                     "/work/main/kernels/build/linux-source-6.12-x/") == \
        "arch/x86/kernel/demo_bug.c:49"
    assert _relative("/work/b/init/main.c:1", "/work/b/") == "init/main.c:1"
    assert _relative("./mm/slub.c:3 (discriminator 2)", None) == "mm/slub.c:3 (discriminator 2)"
    assert _relative("arch/x86/entry/entry_64.S:121", None) == "arch/x86/entry/entry_64.S:121"
    assert _relative("/usr/src/foo.c:1", None) == "/usr/src/foo.c:1"  # no tree: as printed
    assert _relative("??:0", None) == "??:0"


def test_wrong_vmlinux_is_detected_by_function_sizes(tmp_path: Path) -> None:
    vmlinux = tmp_path / "vmlinux"
    vmlinux.write_bytes(b"y")
    other = REPORT.replace("0x5b/0x62", "0x5b/0x70").replace("0x170/0x28c", "0x170/0x290")
    other = other.replace("0x4a/0xa4", "0x4a/0xb0")
    s = Symbolizer(vmlinux, runner=FakeTools()).symbolize(other)
    assert s.text == other and s.resolved == 0
    assert any("size differs" in n for n in s.notes)


@pytest.mark.parametrize("broken", ["nm", "addr2line"])
def test_failing_tools_leave_the_text_with_a_note(tmp_path: Path, broken: str) -> None:
    vmlinux = tmp_path / f"vmlinux-{broken}"
    vmlinux.write_bytes(broken.encode())
    s = Symbolizer(vmlinux, runner=FakeTools(fail=broken)).symbolize(REPORT)
    assert s.text == REPORT and s.resolved == 0
    assert any(n.startswith(f"not symbolized: {broken} failed") for n in s.notes)


def test_missing_vmlinux_or_tools_never_raise(tmp_path: Path) -> None:
    s = symbolize(REPORT, tmp_path / "nope")
    assert s.text == REPORT and s.notes == [f"not symbolized: {tmp_path / 'nope'}: no such file"]
    assert symbolize(REPORT, None).notes == ["not symbolized: no vmlinux"]
    vmlinux = tmp_path / "vmlinux"
    vmlinux.write_bytes(b"not an ELF file")
    s = Symbolizer(vmlinux, nm="no-such-nm-tool").symbolize(REPORT)
    assert s.text == REPORT and s.notes == ["not symbolized: no-such-nm-tool not found"]
    if shutil.which("nm"):
        s = Symbolizer(vmlinux).symbolize(REPORT)  # nm fails on it
        assert s.text == REPORT and s.notes and s.notes[0].startswith("not symbolized:")
    assert Symbolizer(vmlinux).symbolize("no frames here\n").text == "no frames here\n"


# --------------------------------------------------------------------------
# The real thing: the golden demo-bug report against its own vmlinux


def _demo_vmlinuxes() -> list[Path]:
    """Cached vmlinux files of demo-bug kernels (they have demo_bug_fire)."""
    out = []
    for vmlinux in sorted((KERNELS / "cache").glob("*/vmlinux")):
        smap = vmlinux.with_name("System.map")
        if smap.exists() and " demo_bug_fire\n" in smap.read_text(errors="replace"):
            out.append(vmlinux)
    return out


def test_symbolize_the_golden_demo_bug_report() -> None:
    """The golden report against each real demo-bug vmlinux: fully symbolized
    by the build that printed it; by any other build every frame whose size
    differs is refused (a wrong vmlinux never gives wrong lines); and, with the
    frame sizes of the build at hand, fully symbolized by every build (the
    positive case happens whatever config the cached builds have: the golden
    log predates CONFIG_UNWINDER_ORC, which changed the sizes)."""
    need(shutil.which("nm") is not None and shutil.which("addr2line") is not None,
         "binutils (nm, addr2line) not installed")
    found = _demo_vmlinuxes()
    need(bool(found), "no demo-bug kernel in kernels/cache (tests/e2e builds one)")
    bug = scan_bytes(DEMO_LOG.read_bytes())[0]
    for vmlinux in found:
        table = parse_nm(subprocess.run(["nm", "-S", "--defined-only", str(vmlinux)],
                                        capture_output=True, text=True, check=False).stdout)
        sizes = {f.name: f.size for f in parse_frames(bug.lines)}
        # nm gives assembler symbols no size: those frames cannot be checked
        same = all((table.get(n) or [(0, 0)])[0][1] in (size, 0, None)
                   for n, size in sizes.items())
        s = symbolize(bug.text, vmlinux)
        if not same:
            assert any("size differs" in n for n in s.notes), s.notes
            assert s.resolved < s.frames
            continue
        assert s.notes == [] and s.resolved == s.frames == 5
        # line numbers depend on the build's patches: files and shape are checked
        assert re.search(r"\] RIP: 0010:demo_bug_fire\+0x5b/0x62 "
                         r"\(arch/x86/kernel/demo_bug\.c:\d+\)\n", s.text), s.text
        assert re.search(r"\]  \? do_arch_prctl_64\+0x170/0x28c "
                         r"\(arch/x86/kernel/process_64\.c:\d+\)\n", s.text), s.text
        assert re.search(r"\]  \? do_syscall_64\+0x4a/0xa4 \(arch/x86/entry/common\.c:\d+\)\n"
                         r"\[    1\.622139\]      \(inlined by\) do_syscall_64 "
                         r"\(arch/x86/entry/common\.c:\d+\)\n", s.text), s.text
        assert "/kernels/" not in s.text
        (again,) = [r for r in scan(s.text) if r.kind == "kernel BUG"]
        assert (again.title, again.guilty_frame) == ("kernel BUG in demo_bug_fire",
                                                     "demo_bug_fire")
        # the positive case, on every build: the golden report with each
        # frame's size (and offset, kept inside) taken from this vmlinux is
        # fully symbolized, into the files that hold those functions
        fitted = _fit_sizes(bug.text, table)
        f = symbolize(fitted, vmlinux)
        assert f.notes == [] and f.resolved == f.frames == 5, (f.notes, fitted)
        for where in ("arch/x86/kernel/demo_bug.c:", "arch/x86/kernel/process_64.c:",
                      "arch/x86/entry/common.c:"):
            assert where in f.text, (where, f.text)
        assert "/kernels/" not in f.text


def _fit_sizes(text: str, table: dict[str, list[tuple[int, int | None]]]) -> str:
    """``func+0xOFF/0xSIZE`` with SIZE from nm and OFF kept below it."""
    def fit(m: re.Match[str]) -> str:
        size = (table.get(m.group(1)) or [(0, None)])[0][1]
        if not size:
            return m.group(0)
        off = min(int(m.group(2), 16), size - 1)
        return f"{m.group(1)}+{off:#x}/{size:#x}"
    return re.sub(r"([A-Za-z_][\w.]*)\+0x([0-9a-f]+)/0x[0-9a-f]+", fit, text)


def test_frame_location_prefers_a_reliable_frame() -> None:
    from harness.parse.symbolize import frame_location

    text = ("RIP: 0010:memset+0x5/0x20 (arch/x86/lib/memset_64.S:12)\n"
            " ? foo.constprop.0+0x1/0x10 (drivers/x/foo.c:3)\n"
            " foo+0x1a/0x40 [mymod] (drivers/x/foo.c:7)\n"
            " bar+0x2/0x8\n")
    assert frame_location(text, "foo") == "drivers/x/foo.c:7"
    assert frame_location(text.replace(" foo+0x1a", " ? foo+0x1a"), "foo") == "drivers/x/foo.c:3"
    assert frame_location(text, "bar") is None
    assert frame_location(text, "memset") == "arch/x86/lib/memset_64.S:12"
    # titles' frames that are not symbols as printed
    text = (" smp_call_function_many_cond+0x1a4/0x990 (kernel/smp.c:9)\n"
            " __x64_sys_recvmmsg+0x9d/0x100 (net/socket.c:3)\n"
            " submit_rx_urb+0x2e1/0x3e0 (drivers/x/rx.c:5)\n")
    assert frame_location(text, "smp_call_function") == "kernel/smp.c:9"
    assert frame_location(text, "sys_recvmmsg") == "net/socket.c:3"
    assert frame_location(text, "submit_rx_urb/usb_submit_urb") == "drivers/x/rx.c:5"
    # ... but not when the symbol itself is there, without a location
    assert frame_location(text + " submit_rx+0x1/0x2\n", "submit_rx") is None
    assert frame_location(text, "submit_rx") == "drivers/x/rx.c:5"
