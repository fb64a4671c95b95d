"""Tests for harness.parse.tap on kselftest output in its real formats.

The lam_64 excerpts follow lam.c / kselftest.h (see reference/lam-facts.md §2):
no "TAP version" header, the plan printed *after* the results, "# Totals" last,
"Get segmentation fault(11)." printed without a newline, and every forked child
re-flushing the parent's buffered results when stdout is a pipe.  The runner
excerpts follow run_kselftest.sh / kselftest/runner.sh (§7).
"""

# The excerpts are verbatim output: some lines are longer than 100 columns.
# ruff: noqa: E501

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.parse.tap import MAX_DEPTH, TapReport, TapResult, parse

# --------------------------------------------------------------------------
# lam_64 run on a tty (line buffered), LAM hardware without LA57 nor DSA: the
# LAM v11 cover letter's output, plus the "# Totals" line newer kselftest.h prints.
LAM_TTY = """\
ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
# Get segmentation fault(11).ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.
ok 3 BITS: Check default tag bits
ok 4 # SKIP MMAP: First mmap high address, then set LAM_U57.
ok 5 # SKIP MMAP: First LAM_U57, then High address.
ok 6 MMAP: First LAM_U57, then Low address.
ok 7 SYSCALL: LAM_U57. syscall with metadata
ok 8 SYSCALL:[Negative] Disable LAM. Dereferencing pointer with metadata.
ok 9 URING: LAM_U57. Dereferencing pointer with metadata
ok 10 URING:[Negative] Disable LAM. Dereferencing pointer with metadata.
ok 11 FORK: LAM_U57, child process should get LAM mode same as parent
ok 12 EXECVE: LAM_U57, child process should get disabled LAM mode
open: Device or resource busy
ok 13 PASID: [Negative] Execute LAM, PASID, SVA in sequence
ok 14 PASID: Execute LAM, SVA, PASID in sequence.
ok 15 PASID: Execute PASID, LAM, SVA in sequence.
ok 16 PASID: [Negative] Execute PASID, SVA, LAM in sequence.
ok 17 PASID: Execute SVA, LAM, PASID in sequence.
ok 18 PASID: Execute SVA, PASID, LAM in sequence
1..18
# Totals: pass:16 fail:0 xfail:0 xpass:0 skip:2 error:0
"""

# The same binary with stdout a pipe: the child of test k flushes a copy of
# results 1..k-1 when it exits; the SIGSEGV'd child of test 2 adds its message
# without a newline, so the next child's copy of "ok 1" is glued onto it; the
# parent's own buffer (everything, plan, totals) comes last.
LAM_PIPE = """\
ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
# Get segmentation fault(11).ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.
ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.
ok 3 BITS: Check default tag bits
ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.
ok 3 BITS: Check default tag bits
ok 4 # SKIP MMAP: First mmap high address, then set LAM_U57.
ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.
ok 3 BITS: Check default tag bits
ok 4 # SKIP MMAP: First mmap high address, then set LAM_U57.
ok 5 # SKIP MMAP: First LAM_U57, then High address.
ok 6 MMAP: First LAM_U57, then Low address.
ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.
ok 3 BITS: Check default tag bits
ok 4 # SKIP MMAP: First mmap high address, then set LAM_U57.
ok 5 # SKIP MMAP: First LAM_U57, then High address.
ok 6 MMAP: First LAM_U57, then Low address.
ok 7 SYSCALL: LAM_U57. syscall with metadata
1..7
# Totals: pass:5 fail:0 xfail:0 xpass:0 skip:2 error:0
"""

# A failing case (the old la57 false negative on a 4-level guest); lam_64 still
# exits 0 after ksft_exit_pass().
LAM_ONE_FAIL = """\
ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
# Get segmentation fault(11).ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.
ok 3 BITS: Check default tag bits
not ok 4 MMAP: First mmap high address, then set LAM_U57.
ok 5 MMAP: First LAM_U57, then High address.
ok 6 MMAP: First LAM_U57, then Low address.
1..6
# Totals: pass:5 fail:1 xfail:0 xpass:0 skip:0 error:0
"""

# run_kselftest.sh -t x86:... (stdout of lam_64 a pipe there too: duplicates).
RUNNER_X86 = """\
TAP version 13
1..7
# timeout set to 45
# selftests: x86: test_vsyscall_64
# [NOTE]\tgettimeofday is reachable
# vsyscall map: ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]
# [RUN]\ttest gettimeofday()
# [OK]\tvDSO gettimeofday()'s timeval was okay
ok 1 selftests: x86: test_vsyscall_64
# timeout set to 45
# selftests: x86: test_mremap_vdso_64
# \tAT_SYSINFO_EHDR is 0x7ffd3a5f1000
# [NOTE]\tMoving vDSO: [0x7ffd3a5f1000, 0x7ffd3a5f3000]
# [OK]
ok 2 selftests: x86: test_mremap_vdso_64
# timeout set to 45
# selftests: x86: ldt_gdt_64
# [NOTE]\tset_thread_area is unavailable
# [FAIL]\tUnexpected modify_ldt failure 22
not ok 3 selftests: x86: ldt_gdt_64 # exit=1
# timeout set to 45
# selftests: x86: sigreturn_64
# [OK]\tset_thread_area refused 16-bit data
# [RUN]\tValid sigreturn: 64-bit CS (33), 32-bit SS (2b, GDT)
# [OK]\tall registers okay
ok 4 selftests: x86: sigreturn_64
# timeout set to 45
# selftests: x86: fsgsbase_64
# \tFSGSBASE instructions are enabled
# [RUN]\tARCH_SET_GS to 0x0
not ok 5 selftests: x86: fsgsbase_64 # TIMEOUT 45 seconds
# timeout set to 45
# selftests: x86: syscall_arg_fault_64
# [SKIP]\tsyscall_arg_fault needs a 32-bit SYSENTER
ok 6 selftests: x86: syscall_arg_fault_64 # SKIP
# timeout set to 45
# selftests: x86: lam_64
# ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
# # Get segmentation fault(11).ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
# ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.
# ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata
# ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.
# not ok 3 BITS: Check default tag bits
# 1..3
# # Totals: pass:2 fail:1 xfail:0 xpass:0 skip:0 error:0
ok 7 selftests: x86: lam_64
"""

RUNNER_LAM_SKIP = """\
TAP version 13
1..1
# timeout set to 45
# selftests: x86: lam_64
# # LAM is not supported!
ok 1 selftests: x86: lam_64 # SKIP
"""


def statuses(results: list[TapResult]) -> dict[int | None, str]:
    return {r.number: r.status for r in results}


# --------------------------------------------------------------------------
# lam_64 direct output


def test_lam_tty_plan_last_glued_segv_and_skips() -> None:
    rep = parse(LAM_TTY)
    assert [r.number for r in rep.results] == list(range(1, 19))
    assert rep.plan == 18
    assert rep.version is None
    assert rep.totals == {"pass": 16, "fail": 0, "xfail": 0, "xpass": 0, "skip": 2,
                          "error": 0}
    r2 = rep.results[1]
    assert r2.name == "MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata."
    assert r2.status == "pass"
    assert r2.diagnostics == ["Get segmentation fault(11)."]
    # "ok 4 # SKIP <msg>": the message is both the reason and the name
    r4 = rep.results[3]
    assert (r4.status, r4.name) == ("skip", "MMAP: First mmap high address, then set LAM_U57.")
    assert r4.reason == r4.name
    assert rep.results[12].diagnostics == ["open: Device or resource busy"]
    assert rep.results[17].name == "PASID: Execute SVA, PASID, LAM in sequence"
    assert len(rep.problems) == 1 and rep.problems[0].startswith("glued line recovered")
    assert not rep.incomplete
    assert rep.verdict == "pass"
    assert rep.skip_reason == ""
    assert rep.diagnostics == []  # the Totals line is data, not a diagnostic


def test_lam_pipe_duplicates_are_deduplicated() -> None:
    rep = parse(LAM_PIPE)
    assert [r.number for r in rep.results] == [1, 2, 3, 4, 5, 6, 7]
    assert statuses(rep.results) == {1: "pass", 2: "pass", 3: "pass", 4: "skip",
                                     5: "skip", 6: "pass", 7: "pass"}
    # the segv message of test 2's child lands on test 2, not on a dropped copy
    assert rep.results[1].diagnostics == ["Get segmentation fault(11)."]
    assert rep.results[0].diagnostics == []
    dup = [p for p in rep.problems if p.startswith("duplicate results de-duplicated")]
    assert len(dup) == 1 and "#1 x6" in dup[0] and "#6 x2" in dup[0]
    assert any(p.startswith("glued line recovered") for p in rep.problems)
    assert not rep.incomplete
    assert rep.verdict == "pass"


def test_lam_one_not_ok_fails_despite_exit_0_and_totals() -> None:
    rep = parse(LAM_ONE_FAIL)
    assert rep.results[3].status == "fail"
    assert rep.results[3].name == "MMAP: First mmap high address, then set LAM_U57."
    assert rep.totals is not None and rep.totals["fail"] == 1
    assert rep.verdict == "fail"


def test_lam_truncated_no_plan_kernel_died() -> None:
    # the kernel BUG()ed during test 5: output stops, no plan (it comes last)
    text = "\n".join(LAM_TTY.splitlines()[:4]) + "\n"
    rep = parse(text)
    assert len(rep.results) == 4 and all(r.outcome in ("pass", "skip") for r in rep.results)
    assert rep.plan is None
    assert rep.incomplete
    assert any(p.startswith("no plan line") and "truncated" in p for p in rep.problems)
    assert rep.verdict == "fail"


def test_lam_truncated_mid_line() -> None:
    rep = parse("ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata\nok 2 MAL")
    assert rep.results[1].name == "MAL"
    assert rep.verdict == "fail"


def test_old_lam_unsupported_no_results_is_error_with_reason() -> None:
    rep = parse("# Unsupported LAM feature!\n")
    assert rep.results == []
    assert rep.plan is None
    assert rep.verdict == "error"
    assert rep.skip_reason == "Unsupported LAM feature!"
    assert rep.diagnostics == ["Unsupported LAM feature!"]
    assert rep.problems == []


def test_newer_lam_disabled_in_kernel_no_results() -> None:
    rep = parse("# LAM is disabled in the kernel!\n")
    assert (rep.verdict, rep.skip_reason) == ("error", "LAM is disabled in the kernel!")


def test_empty_output_is_error() -> None:
    for text in ("", "\n\n", "   \r\n"):
        rep = parse(text)
        assert rep.verdict == "error" and rep.skip_reason == "" and rep.problems == []


# --------------------------------------------------------------------------
# kselftest framing


def test_skip_plan() -> None:
    rep = parse("TAP version 13\n1..0 # SKIP no LAM in this CPU\n")
    assert rep.plan == 0 and rep.results == []
    assert rep.verdict == "skip"
    assert rep.skip_reason == "no LAM in this CPU"
    assert rep.version == "TAP version 13"


def test_all_skipped_results() -> None:
    rep = parse("TAP version 13\n1..2\nok 1 a # SKIP no la57\nnot ok 2 b # SKIP no dsa\n")
    assert [r.status for r in rep.results] == ["skip", "skip"]
    assert rep.verdict == "skip"
    assert rep.skip_reason == "no la57; no dsa"


def test_plan_first_and_short_plan_is_truncated() -> None:
    text = "TAP version 13\n1..10\n" + "".join(f"ok {i} case {i}\n" for i in range(1, 5))
    rep = parse(text)
    assert rep.plan == 10 and len(rep.results) == 4
    assert "plan says 10 but 4 results (missing 5, 6, 7, 8, 9, 10): output truncated?" \
        in rep.problems
    assert rep.verdict == "fail"


def test_more_results_than_planned_is_noted_only() -> None:
    rep = parse("1..1\nok 1 a\nok 2 b\n")
    assert "plan says 1 but 2 results" in rep.problems
    assert rep.verdict == "pass"


def test_totals_and_planned_mismatch_line() -> None:
    text = """\
TAP version 13
1..5
ok 1 a
ok 2 b
ok 3 c
not ok 4 d
# Planned tests != run tests (5 != 4)
# Totals: pass:3 fail:1 xfail:0 xpass:0 skip:0 error:0
"""
    rep = parse(text)
    assert rep.totals == {"pass": 3, "fail": 1, "xfail": 0, "xpass": 0, "skip": 0,
                          "error": 0}
    assert "kselftest: planned tests != run tests (5 != 4)" in rep.problems
    assert rep.incomplete and rep.verdict == "fail"


def test_totals_with_failures_but_no_failing_line_fails() -> None:
    rep = parse("ok 1 a\n1..1\n# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n")
    assert rep.verdict == "fail"
    assert any("totals report 1 failures" in p for p in rep.problems)


def test_bail_out() -> None:
    rep = parse("TAP version 13\n1..3\nok 1 a\nBail out! no /dev/kvm\n")
    assert rep.bail_out == "no /dev/kvm"
    assert rep.verdict == "fail"


@pytest.mark.parametrize(
    ("line", "status", "name", "reason"),
    [
        ("ok 1 plain", "pass", "plain", ""),
        ("ok 1 - dashed name", "pass", "dashed name", ""),
        ("not ok 2 broken", "fail", "broken", ""),
        ("ok 3 cfg # SKIP no LAM", "skip", "cfg", "no LAM"),
        ("not ok 3 cfg # SKIP no LAM", "skip", "cfg", "no LAM"),
        ("ok 3 cfg # skip", "skip", "cfg", ""),
        ("ok 4 known # XFAIL erratum 42", "xfail", "known", "erratum 42"),
        ("not ok 5 later # TODO write it", "xfail", "later", "write it"),
        ("ok 5 later # TODO write it", "pass", "later", "write it"),
        ("not ok 6 slow # TIMEOUT 45 seconds", "timeout", "slow", "45 seconds"),
        ("not ok 7 selftests: x86: ldt_gdt_64 # exit=1", "fail",
         "selftests: x86: ldt_gdt_64", "exit=1"),
        ("ok 8 a \\# not a comment", "pass", "a # not a comment", ""),
        ("ok 9 x # XPASS surprise", "pass", "x", "surprise"),
        ("not ok 10 # error bad fd", "error", "", "bad fd"),
        ("ok 11", "pass", "", ""),
    ],
)
def test_result_line_forms(line: str, status: str, name: str, reason: str) -> None:
    rep = parse(f"1..1\n{line}\n")
    (res,) = rep.results
    assert (res.status, res.name, res.reason) == (status, name, reason)


def test_unnumbered_results() -> None:
    rep = parse("1..2\nok - first\nnot ok second\n")
    assert [(r.number, r.status) for r in rep.results] == [(None, "pass"), (None, "fail")]
    assert rep.verdict == "fail"


def test_xfail_does_not_fail() -> None:
    rep = parse("1..2\nok 1 a\nok 2 b # XFAIL known bug\n")
    assert rep.verdict == "pass"


def test_diagnostics_attach_to_the_next_result() -> None:
    rep = parse("TAP version 13\n1..2\n# setting up\n#   indented\nok 1 a\n"
                "plain stderr line\n#\nnot ok 2 b\n# after\n")
    assert rep.results[0].diagnostics == ["setting up", "  indented"]
    assert rep.results[1].diagnostics == ["plain stderr line", ""]
    assert rep.diagnostics == ["after"]


def test_crlf_and_stray_cr() -> None:
    rep = parse("TAP version 13\r\n1..2\r\nok 1 a  \r\n# progress 50%\rnot ok 2 b\r\n")
    assert [(r.name, r.status) for r in rep.results] == [("a", "pass"), ("b", "fail")]
    assert not rep.problems


def test_bytes_input() -> None:
    rep = parse(b"1..1\nok 1 caf\xc3\xa9 \xff\n")
    assert rep.results[0].name == "caf\u00e9 \ufffd"


# --------------------------------------------------------------------------
# glued lines


def test_glued_not_ok_and_skip() -> None:
    rep = parse("1..2\n# Get segmentation fault(11).not ok 1 boom\n"
                "# Get segmentation fault(11).ok 2 # SKIP MMAP: no la57\n")
    assert [(r.status, r.name) for r in rep.results] == [
        ("fail", "boom"), ("skip", "MMAP: no la57")]
    assert sum(p.startswith("glued line recovered") for p in rep.problems) == 2


@pytest.mark.parametrize(
    "line",
    [
        "# got token 5 from the server",
        "# broken 3 times",
        "# it is ok 3 times out of 4",
        "# looks ok",
        "# (ok)",
        "[OK]\tvDSO gettimeofday()'s timeval was okay",
        "book 12 pages",
    ],
)
def test_no_false_glued_results(line: str) -> None:
    rep = parse(f"1..1\n{line}\nok 1 a\n")
    assert len(rep.results) == 1 and not rep.problems
    assert rep.results[0].diagnostics == [line.removeprefix("# ")]


# --------------------------------------------------------------------------
# duplicates


def test_duplicates_that_disagree_keep_the_worst() -> None:
    rep = parse("1..2\nok 1 a\nnot ok 1 a\nok 2 b\nok 2 b\n")
    assert statuses(rep.results) == {1: "fail", 2: "pass"}
    assert [r.number for r in rep.results] == [1, 2]
    assert any("duplicate results #1 disagree" in p and "kept fail" in p
               for p in rep.problems)
    assert any(p.startswith("duplicate results de-duplicated") and "#2 x2" in p
               for p in rep.problems)
    assert rep.verdict == "fail"


def test_duplicate_worse_first_is_kept() -> None:
    rep = parse("1..1\nnot ok 1 a\nok 1 a\n")
    assert rep.results[0].status == "fail"


def test_new_tap_stream_restarts_numbering() -> None:
    # older run_kselftest.sh: one "TAP version 13 / 1..N" per collection
    text = ("TAP version 13\n1..2\nok 1 selftests: x86: a\nok 2 selftests: x86: b\n"
            "TAP version 13\n1..1\nok 1 selftests: mm: c\n")
    rep = parse(text)
    assert [r.name for r in rep.results] == [
        "selftests: x86: a", "selftests: x86: b", "selftests: mm: c"]
    assert rep.plan == 3
    assert rep.problems == []
    assert rep.verdict == "pass"


# --------------------------------------------------------------------------
# nesting: KTAP indentation


KTAP_NESTED = """\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: lam_suite
    1..3
    ok 1 untag
    # tag was 0x3f
    not ok 2 tagged_syscall
    ok 3 no_la57 # SKIP 4-level paging
ok 1 lam_suite
    # Subtest: other
    1..1
    ok 1 fine
ok 2 other
"""


def test_ktap_indented_subtests_attach_to_following_parent() -> None:
    rep = parse(KTAP_NESTED)
    assert rep.version == "KTAP version 1"
    assert [r.name for r in rep.results] == ["lam_suite", "other"]
    suite = rep.results[0]
    assert suite.status == "pass" and suite.outcome == "fail"
    assert [(s.name, s.status) for s in suite.subtests] == [
        ("untag", "pass"), ("tagged_syscall", "fail"), ("no_la57", "skip")]
    assert suite.subtests[1].diagnostics == ["tag was 0x3f"]
    assert rep.results[1].outcome == "pass"
    assert rep.verdict == "fail"
    paths = [p for p, _ in rep.walk()]
    assert paths[:2] == [("lam_suite",), ("lam_suite", "untag")]
    assert len(paths) == 6


def test_ktap_subtests_all_skipped_make_parent_skip() -> None:
    rep = parse("KTAP version 1\n1..1\n    1..1\n    ok 1 x # SKIP no LAM\nok 1 suite\n")
    assert rep.results[0].outcome == "skip"
    assert rep.verdict == "skip"
    assert rep.skip_reason == "no LAM"


def test_ktap_short_subtest_plan_fails_parent() -> None:
    rep = parse("KTAP version 1\n1..1\n    1..3\n    ok 1 a\nok 1 suite\n")
    assert rep.results[0].incomplete and rep.results[0].outcome == "fail"
    assert any(p.startswith("suite: plan says 3 but 1 results") for p in rep.problems)
    assert rep.verdict == "fail"


def test_ktap_unclosed_subtest_block_is_truncation() -> None:
    rep = parse("KTAP version 1\n1..1\n    # Subtest: suite\n    1..2\n    ok 1 a\n")
    (orphan,) = rep.results
    assert (orphan.name, orphan.status, orphan.number) == ("suite", "error", None)
    assert [s.name for s in orphan.subtests] == ["a"]
    assert rep.incomplete and rep.verdict == "fail"


def test_indented_non_tap_lines_are_diagnostics() -> None:
    rep = parse("1..1\n    some indented output\nok 1 a\n    trailing indented\n")
    assert rep.results[0].diagnostics == ["some indented output"]
    assert rep.results[0].subtests == []
    assert rep.diagnostics == ["trailing indented"]
    assert rep.verdict == "pass" and not rep.problems


# --------------------------------------------------------------------------
# nesting: run_kselftest.sh "# " prefixed sections


def test_runner_x86() -> None:
    rep = parse(RUNNER_X86)
    assert rep.plan == 7 and rep.version == "TAP version 13"
    names = [r.name for r in rep.results]
    assert names == [f"selftests: x86: {t}" for t in (
        "test_vsyscall_64", "test_mremap_vdso_64", "ldt_gdt_64", "sigreturn_64",
        "fsgsbase_64", "syscall_arg_fault_64", "lam_64")]
    assert [r.status for r in rep.results] == [
        "pass", "pass", "fail", "pass", "timeout", "skip", "pass"]
    vsys = rep.results[0]
    assert vsys.subtests == []  # its output is not TAP: it is diagnostics
    assert vsys.diagnostics == [
        "timeout set to 45", "selftests: x86: test_vsyscall_64",
        "[NOTE]\tgettimeofday is reachable",
        "vsyscall map: ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]",
        "[RUN]\ttest gettimeofday()", "[OK]\tvDSO gettimeofday()'s timeval was okay"]
    ldt = rep.results[2]
    assert ldt.reason == "exit=1"
    assert ldt.diagnostics[-1] == "[FAIL]\tUnexpected modify_ldt failure 22"
    assert rep.results[4].reason == "45 seconds"
    skip = rep.results[5]
    assert skip.skip_reason == "[SKIP]\tsyscall_arg_fault needs a 32-bit SYSENTER"
    # lam_64 exited 0 but its inner TAP says "not ok 3": it fails
    lam = rep.results[6]
    assert [(s.number, s.status) for s in lam.subtests] == [(1, "pass"), (2, "pass"),
                                                           (3, "fail")]
    assert lam.subtests[1].diagnostics == ["Get segmentation fault(11)."]
    assert lam.outcome == "fail"
    assert any(p.startswith("selftests: x86: lam_64: duplicate results de-duplicated")
               for p in rep.problems)
    assert any(p.startswith("selftests: x86: lam_64: glued line recovered")
               for p in rep.problems)
    assert not rep.incomplete
    assert rep.verdict == "fail"


def test_runner_lam_all_ok_passes() -> None:
    inner = "".join(f"# {line}\n" for line in LAM_TTY.splitlines())
    text = ("TAP version 13\n1..1\n# timeout set to 45\n# selftests: x86: lam_64\n"
            f"{inner}ok 1 selftests: x86: lam_64\n")
    rep = parse(text)
    (lam,) = rep.results
    assert len(lam.subtests) == 18
    assert lam.subtests[3].status == "skip"
    assert lam.outcome == "pass"
    assert rep.verdict == "pass"
    assert [p for p, _ in rep.walk()][1] == (
        "selftests: x86: lam_64", "MALLOC: LAM_U57. Dereferencing pointer with metadata")


def test_runner_lam_skip_reason_from_its_output() -> None:
    rep = parse(RUNNER_LAM_SKIP)
    assert rep.verdict == "skip"
    assert rep.skip_reason == "LAM is not supported!"


def test_runner_old_lam_exit_255() -> None:
    rep = parse("TAP version 13\n1..1\n# selftests: x86: lam_64\n"
                "# # Unsupported LAM feature!\nnot ok 1 selftests: x86: lam_64 # exit=255\n")
    assert rep.results[0].status == "fail" and rep.results[0].reason == "exit=255"
    assert rep.verdict == "fail"


def test_runner_inner_skip_plan_gives_reason() -> None:
    rep = parse("TAP version 13\n1..1\n# selftests: x86: amx_64\n# TAP version 13\n"
                "# 1..0 # SKIP no AMX\nok 1 selftests: x86: amx_64 # SKIP\n")
    assert rep.results[0].reason == "no AMX"
    assert rep.skip_reason == "no AMX"
    assert rep.verdict == "skip"


def test_runner_truncated_inside_a_test_section() -> None:
    # the guest died while lam_64 ran: no runner result line, no plan for lam_64
    text = ("TAP version 13\n1..2\n# selftests: x86: sigreturn_64\n# [OK]\tfine\n"
            "ok 1 selftests: x86: sigreturn_64\n# selftests: x86: lam_64\n"
            "# ok 1 MALLOC: LAM_U57. Dereferencing pointer with metadata\n"
            "# ok 2 MALLOC:[Negative] Disable LAM. Dereferencing pointer with metadata.\n")
    rep = parse(text)
    assert [r.status for r in rep.results] == ["pass", "error"]
    orphan = rep.results[1]
    assert orphan.name == "selftests: x86: lam_64" and len(orphan.subtests) == 2
    assert any("no result line after its output" in p for p in rep.problems)
    assert any("plan says 2 but 1 results" in p for p in rep.problems)
    assert rep.verdict == "fail"


def test_runner_result_glued_to_unterminated_test_output() -> None:
    text = ("TAP version 13\n1..1\n# selftests: x86: sigreturn_64\n"
            "# [RUN]\tno newline at the end.ok 1 selftests: x86: sigreturn_64\n")
    rep = parse(text)
    (res,) = rep.results
    assert res.name == "selftests: x86: sigreturn_64" and res.status == "pass"
    assert res.diagnostics[-1] == "[RUN]\tno newline at the end."
    assert rep.verdict == "pass"


def test_runner_missing_binary() -> None:
    rep = parse("TAP version 13\n1..1\n# selftests: x86: lam_64\n"
                "# Warning: file lam_64 is missing!\nnot ok 1 selftests: x86: lam_64\n")
    assert rep.results[0].diagnostics[-1] == "Warning: file lam_64 is missing!"
    assert rep.verdict == "fail"


# --------------------------------------------------------------------------
# robustness


def test_deep_nesting_is_bounded() -> None:
    deep = "".join("    " * d + "1..1\n" for d in range(200))
    deep += "    " * 500 + "ok 1 deep\n" + "ok 1 top\n"
    rep = parse(deep)
    assert isinstance(rep, TapReport)
    assert not any("internal" in p for p in rep.problems)
    depth = 0
    node = rep.results[0]
    while node.subtests:
        node = node.subtests[0]
        depth += 1
    assert depth <= MAX_DEPTH
    prefixed = "".join("# " * d + "selftests: a: b\n" for d in range(300))
    assert not any("internal" in p for p in parse(prefixed).problems)


def test_huge_plan_does_not_blow_up() -> None:
    rep = parse("1..99999999999999999999\nok 1 a\n")
    assert rep.verdict == "fail" and rep.plan == 99999999999999999999


_FRAGMENTS = [
    "ok", "not ok", " 1", " 2", " 17", " - ", "name", " # SKIP", " # TODO", " # TIMEOUT",
    "# ", "    ", "1..", "3", "0", "TAP version 13", "KTAP version 1", "Bail out!",
    "# selftests: x86: lam_64", "# Totals: pass:1 fail:", "\\#", "#", ".", "(11).",
    "\r", "\n", "\t", "\x00", "\u2028", "Planned tests != run tests (", ")", " != ",
    "# Subtest: s", "pragma +strict", "é", "\ufffd",
]


def test_fuzz_never_raises() -> None:
    rng = random.Random(1234)
    for _ in range(3000):
        if rng.random() < 0.5:
            text: str | bytes = "".join(rng.choice(_FRAGMENTS)
                                        for _ in range(rng.randint(0, 80)))
        elif rng.random() < 0.5:
            text = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        else:
            text = "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randint(0, 200)))
        rep = parse(text)
        assert rep.verdict in ("pass", "fail", "skip", "error")
        assert isinstance(rep.skip_reason, str)
        assert not any(p.startswith("internal parser error") for p in rep.problems), text
        list(rep.walk())


def test_fuzz_mutated_real_output() -> None:
    rng = random.Random(99)
    base = (LAM_PIPE + RUNNER_X86 + KTAP_NESTED).splitlines(keepends=True)
    for _ in range(500):
        lines = list(base)
        for _ in range(rng.randint(1, 10)):
            op = rng.randrange(4)
            i = rng.randrange(len(lines))
            if op == 0:
                del lines[i]
            elif op == 1:
                lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
            elif op == 2:
                lines.insert(i, rng.choice(base))
            else:
                lines[i] = lines[i].rstrip("\n")
        rep = parse("".join(lines))
        assert not any(p.startswith("internal parser error") for p in rep.problems)


# --- real output captured from the harness's own 6.12 guests (TCG, no LAM) ---

DATA = Path(__file__).resolve().parents[1] / "data" / "tap"


def test_real_run_kselftest_x86_output() -> None:
    rep = parse((DATA / "run_kselftest-x86-6.12-tcg.txt").read_text())
    assert rep.plan == 5 and len(rep.results) == 5 and not rep.incomplete
    assert [r.name for r in rep.results] == [
        "selftests: x86: test_vsyscall_64", "selftests: x86: test_mremap_vdso_64",
        "selftests: x86: sigreturn_64", "selftests: x86: fsgsbase_64",
        "selftests: x86: syscall_arg_fault_64"]
    vsyscall = rep.results[0]
    assert len(vsyscall.subtests) == 13 and all(s.status == "pass" for s in vsyscall.subtests)
    assert rep.verdict == "pass"


def test_real_lam_64_without_lam() -> None:
    rep = parse((DATA / "lam_64-nolam-6.12-tcg.txt").read_text())
    assert rep.results == [] and rep.verdict == "error"
    assert rep.skip_reason == "Unsupported LAM feature!"


def test_real_lam_64_without_lam_under_the_runner() -> None:
    rep = parse((DATA / "run_kselftest-lam_64-nolam-6.12-tcg.txt").read_text())
    assert rep.verdict == "skip"
    assert "Unsupported LAM feature" in rep.skip_reason
