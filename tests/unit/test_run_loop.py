"""The run loop (pipeline.run -> boot -> run_test -> run.json) against the fake
machine of fakevm.py: the real Console, exec.Guest over real SSH, the real
lamh-run; only QEMU and the kernel are replaced, by recorded console logs.
Every test asserts what run.json (and the exit code) says."""

from __future__ import annotations

import json
import os
import shlex
import signal
from pathlib import Path
from typing import Any

import pytest

from harness import config, pipeline
from harness import exec as harness_exec
from harness.errors import InternalError
from harness.hosts import Runner
from harness.parse.outcomes import BOOT_FAILURE, LOST_CONNECTION, NO_OUTPUT
from tests.unit.fakevm import PANIC, FakeHost, FakeVM, Script, boot_log, during

DEMO = "demo-bug-6.12-tcg.log"
LKDTM = "lkdtm-warn-hung-softlockup-null-6.12-tcg.log"
SYSRQ = "sysrq-crash-debian-cloud-6.12-tcg.log"
KVM_ERROR = ("KVM internal error. Suberror: 1\nextra data[0]: 0x0000000000000000\n"
             "emulation failure\nRAX=0000000000000000 RBX=0000000000000000\n")


@pytest.fixture(autouse=True)
def _short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness's waits for a kill and for end markers, shortened (the
    logic is the same; a missing marker costs END_WAIT per test)."""
    monkeypatch.setattr(harness_exec, "KILL_WAIT", 2.0)
    monkeypatch.setattr(harness_exec, "END_WAIT", 1.0)


def _config(tmp: Path, tests: list[dict[str, Any]], **machine: Any) -> config.Config:
    (tmp / "bzImage").write_bytes(b"not a kernel: the fake machine never reads it")
    m = {"accel": "tcg", "lam": "off", "boot_timeout": 10, **machine}
    text = json.dumps({"name": "fake", "kernel": {"image": str(tmp / "bzImage")},
                       "machine": m, "tests": tests})  # JSON is YAML
    return config.loads(text, path=tmp / "fake.yaml")


def _run(tmp: Path, tests: list[dict[str, Any]], vm: FakeVM | None = None,
         **machine: Any) -> tuple[int, dict[str, Any], Path]:
    vm = vm or FakeVM()
    cfg = _config(tmp, tests, **machine)
    code, root = pipeline.run(cfg, _paths(tmp), machine=vm,
                              connect=lambda c: [Runner(FakeHost())])
    _no_machine_left(vm)
    return code, json.loads((root / "run.json").read_text()), root


def _paths(tmp: Path) -> pipeline.Paths:
    return pipeline.Paths(Path(os.environ.get("HARNESS_KERNELS", tmp / "kernels")),
                          tmp / "results")


def _no_machine_left(vm: FakeVM) -> None:
    for m in vm.machines:
        assert m.stopped and not m.alive()
        if m.sshd is not None and m.sshd.proc is not None:
            assert m.sshd.proc.poll() is not None


def _verdicts(run: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {t["name"]: (t["verdict"], t["reason"]) for t in run["jobs"][0]["tests"]}


def _kmsg(tmp: Path, name: str, text: str) -> str:
    """A shell command that prints ``text`` on the fake guest's console."""
    f = tmp / name
    f.write_text(text)
    return f"cat {shlex.quote(str(f))} > \"$LAMH_KMSG\""


def test_pass_fail_skip_and_tap(tmp_path: Path) -> None:
    tap = "TAP version 13\\n1..2\\nok 1 first\\nnot ok 2 second\\n"
    code, run, root = _run(tmp_path, [
        {"name": "ok", "run": "echo hello; exit 0", "timeout": 10},
        {"name": "bad", "run": "exit 3", "timeout": 10},
        {"name": "skipped", "run": "echo 'SKIP: no such feature'; exit 4", "timeout": 10},
        {"name": "tap", "run": f"printf '{tap}'", "format": "tap", "timeout": 10},
        {"name": "argv", "run": ["/bin/echo", "a b"], "timeout": 10},
    ])
    assert code == 1
    assert run["status"] == "failed" and run["exit_code"] == 1
    job = run["jobs"][0]
    assert job["status"] == "failed" and job["error"] is None
    v = _verdicts(run)
    assert v["ok"] == ("pass", "")
    assert v["bad"] == ("fail", "exit status 3")
    assert v["skipped"][0] == "skip" and "SKIP: no such feature" in v["skipped"][1]
    assert v["tap"][0] == "fail"
    assert v["argv"] == ("pass", "")
    tap_t = next(t for t in job["tests"] if t["name"] == "tap")
    assert [(s["name"], s["verdict"]) for s in tap_t["subtests"]] == [
        ("first", "pass"), ("second", "fail")]
    assert (root / "fake" / "ok" / "stdout").read_text() == "hello\n"
    assert (root / "fake" / "argv" / "stdout").read_text() == "a b\n"
    console = (root / "fake" / "console.log").read_text()
    assert "Linux version 6.12" in console  # the recorded boot log came through
    assert "lam-harness: start ok.1" in console and "lam-harness: end bad.1 rc=3" in console
    assert (root / "junit.xml").exists()
    assert job["timings"]["qemu_start_to_ssh_s"] >= job["timings"]["qemu_start_to_ready_s"]


def test_all_pass_is_exit_0(tmp_path: Path) -> None:
    code, run, _ = _run(tmp_path, [{"name": "a", "run": "true", "timeout": 10, "repeat": 2}])
    assert code == 0 and run["status"] == "passed"
    assert _verdicts(run) == {"a#1": ("pass", ""), "a#2": ("pass", "")}


def test_oops_mid_test_is_a_crash_and_the_guest_goes_on(tmp_path: Path) -> None:
    """A WARNING (recorded from LKDTM) during a test: that test crashes; the
    guest survives it, so the next test runs."""
    warn = _kmsg(tmp_path, "warn.txt", during(LKDTM, "warning.1"))
    code, run, root = _run(tmp_path, [
        {"name": "warns", "run": warn, "timeout": 10},
        {"name": "after", "run": "true", "timeout": 10},
    ], panic_on_oops=False)
    assert code == 1 and run["status"] == "failed"
    v = _verdicts(run)
    assert v["warns"][0] == "crash" and v["warns"][1].startswith("WARNING in lkdtm_WARNING")
    assert v["after"] == ("pass", "")
    warns = run["jobs"][0]["tests"][0]
    assert warns["oopses"][0]["file"] == "warns/oops-1.txt"
    assert "WARNING" in (root / "fake" / "warns" / "oops-1.txt").read_text()
    assert run["jobs"][0]["boot_oopses"] == []


def test_panic_mid_test_ends_the_guest_and_the_rest_is_notrun(tmp_path: Path) -> None:
    """The demo-bug kernel's BUG + panic, recorded: QEMU ends on the panic."""
    bug = _kmsg(tmp_path, "bug.txt", during(DEMO, "demo-bug.1"))
    vm = FakeVM()
    code, run, _ = _run(tmp_path, [
        {"name": "first", "run": "true", "timeout": 10},
        {"name": "bug", "run": f"{bug}; sleep 5", "timeout": 10},
        {"name": "later", "run": "true", "timeout": 10},
    ], vm)
    assert code == 1 and run["status"] == "failed"
    v = _verdicts(run)
    assert v["first"] == ("pass", "")
    assert v["bug"] == ("crash", "kernel BUG in demo_bug_fire")
    assert v["later"] == ("notrun", "guest crashed in bug: kernel BUG in demo_bug_fire")
    assert vm.machines[0].exited.is_set()
    kinds = [o["kind"] for o in run["jobs"][0]["tests"][1]["oopses"]]
    assert "panic" in kinds


def test_sysrq_panic_recorded_from_debian_kernel(tmp_path: Path) -> None:
    crash = _kmsg(tmp_path, "sysrq.txt", "".join(
        ln + "\n" for ln in (Path(__file__).parents[1] / "data" / "console" / SYSRQ)
        .read_text(errors="replace").splitlines() if "sysrq" in ln.lower() or PANIC in ln))
    code, run, _ = _run(tmp_path, [{"name": "c", "run": f"{crash}; sleep 5", "timeout": 10}])
    assert code == 1
    verdict, reason = _verdicts(run)["c"]
    assert verdict == "crash" and "sysrq triggered crash" in reason


def test_repeat_crash_says_which_iteration(tmp_path: Path) -> None:
    warn = _kmsg(tmp_path, "warn.txt", during(LKDTM, "warning.1"))
    flag = tmp_path / "second"
    cmd = f"if [ -e {flag} ]; then {warn}; fi; touch {flag}"
    code, run, _ = _run(tmp_path, [{"name": "r", "run": cmd, "timeout": 10, "repeat": 3}],
                        panic_on_oops=False)
    assert code == 1
    v = _verdicts(run)
    assert v["r#1"] == ("pass", "")
    assert v["r#2"][0] == "crash" and v["r#2"][1].endswith("(iteration 2 of 3: 1 ran clean "
                                                           "before it)")
    assert "r#3" not in v  # a crash ends a repeated test's iterations


def test_oops_between_two_tests_is_a_boot_oops(tmp_path: Path) -> None:
    """A report printed after one test's end marker and before the next one's
    start belongs to no test: ``boot_oopses``, and both tests pass."""
    warn = during(LKDTM, "warning.1")
    vm = FakeVM(Script(after_end={"one.1": warn}))
    code, run, root = _run(tmp_path, [
        {"name": "one", "run": "true", "timeout": 10},
        {"name": "two", "run": "true", "timeout": 10},
    ], vm, panic_on_oops=False)
    assert _verdicts(run) == {"one": ("pass", ""), "two": ("pass", "")}
    job = run["jobs"][0]
    assert [o["title"] for o in job["boot_oopses"]] == ["WARNING in lkdtm_WARNING"]
    assert (root / "fake" / job["boot_oopses"][0]["file"]).exists()
    assert code == 0


def test_timeout_is_a_fail_and_the_test_is_killed(tmp_path: Path) -> None:
    code, run, _ = _run(tmp_path, [
        {"name": "slow", "run": "sleep 60", "timeout": 1},
        {"name": "after", "run": "true", "timeout": 10},
    ])
    assert code == 1
    v = _verdicts(run)
    assert v["slow"] == ("fail", "timed out after 1s")
    assert v["after"] == ("pass", "")


def test_guest_that_stops_answering_is_an_infra_error(tmp_path: Path) -> None:
    """SSH frozen and the console silent past the timeout: no output from the
    test machine, not the test's failure; what follows is not run."""
    code, run, _ = _run(tmp_path, [
        {"name": "hang", "run": "echo 'lamh-fake: freeze' > \"$LAMH_KMSG\"; sleep 60",
         "timeout": 1},
        {"name": "later", "run": "true", "timeout": 10},
    ])
    assert code == 3 and run["status"] == "error"
    v = _verdicts(run)
    assert v["hang"][0] == "error" and v["hang"][1].startswith(NO_OUTPUT)
    assert v["later"][0] == "notrun" and v["later"][1].startswith("guest was lost in hang")


def test_machine_exiting_mid_test_is_a_lost_connection(tmp_path: Path) -> None:
    code, run, _ = _run(tmp_path, [
        {"name": "dies", "run": "echo 'lamh-fake: exit' > \"$LAMH_KMSG\"; sleep 30",
         "timeout": 20},
        {"name": "later", "run": "true", "timeout": 10},
    ])
    assert code == 3 and run["status"] == "error"
    v = _verdicts(run)
    assert v["dies"] == ("error", f"{LOST_CONNECTION}: QEMU exited, no oops report")
    assert v["later"][0] == "notrun"


@pytest.mark.parametrize("late", [True, False])
def test_end_marker_late_or_never(tmp_path: Path, late: bool) -> None:
    """The oops printed just before the command exits is the test's: when the
    console lags behind SSH (the harness waits for the end marker, which comes
    after the oops), and when the end marker never comes (it waits END_WAIT,
    the start marker ties the oops)."""
    warn = _kmsg(tmp_path, "warn.txt", during(LKDTM, "warning.1"))
    script = Script(lag=0.5) if late else Script(end_markers=False)
    code, run, root = _run(tmp_path, [
        {"name": "w", "run": warn, "timeout": 10},
        {"name": "clean", "run": "true", "timeout": 10},
    ], FakeVM(script), panic_on_oops=False)
    v = _verdicts(run)
    assert v["w"][0] == "crash" and v["clean"] == ("pass", "")
    assert run["jobs"][0]["boot_oopses"] == []
    console = (root / "fake" / "console.log").read_text()
    assert ("lam-harness: end w.1 rc=0" in console) is late


def test_boot_hang_is_a_boot_failure(tmp_path: Path) -> None:
    vm = FakeVM(Script(ready=False))
    code, run, root = _run(tmp_path, [{"name": "t", "run": "true", "timeout": 10}], vm,
                           boot_timeout=1)
    assert code == 3 and run["status"] == "error"
    job = run["jobs"][0]
    assert job["status"] == "error"
    assert job["error"] == f"{BOOT_FAILURE}: no readiness marker within 1s"
    assert _verdicts(run)["t"] == ("notrun", job["error"])
    assert "Linux version" in (root / "fake" / "console.log").read_text()


def test_panic_during_boot_is_a_boot_failure(tmp_path: Path) -> None:
    panic = during(DEMO, "demo-bug.1")
    code, run, _ = _run(tmp_path, [{"name": "t", "run": "true", "timeout": 10}],
                        FakeVM(Script(boot=boot_log() + panic)))
    assert code == 3
    assert run["jobs"][0]["error"] == (f"{BOOT_FAILURE}: kernel crashed during boot: "
                                       "kernel BUG in demo_bug_fire")


def test_kvm_internal_error_is_a_boot_failure(tmp_path: Path) -> None:
    code, run, _ = _run(tmp_path, [{"name": "t", "run": "true", "timeout": 10}],
                        FakeVM(Script(ready=False, qemu_stderr=KVM_ERROR)))
    assert code == 3
    err = run["jobs"][0]["error"]
    assert err.startswith(f"{BOOT_FAILURE}: KVM internal error: this host's KVM cannot run")
    assert _verdicts(run)["t"][0] == "notrun"


def test_needs_lam_without_lam_is_skipped(tmp_path: Path) -> None:
    """lam: auto on a host and guest without LAM (the guest's lamh-caps is
    missing here): tests that need LAM are skipped with the reasons."""
    code, run, _ = _run(tmp_path, [
        {"name": "plain", "run": "true", "timeout": 10},
        {"name": "lam", "run": "true", "timeout": 10, "needs": ["lam"]},
    ], lam="auto")
    assert code == 0
    v = _verdicts(run)
    assert v["plain"] == ("pass", "")
    assert v["lam"][0] == "skip" and v["lam"][1].startswith("needs lam: ")
    assert run["jobs"][0]["lam"]["status"] == "absent"


def test_lam_required_without_host_lam_stops_before_booting(tmp_path: Path) -> None:
    vm = FakeVM()
    code, run, _ = _run(tmp_path, [{"name": "t", "run": "true", "timeout": 10}], vm,
                        lam="required")
    assert code == 3 and vm.machines == []
    assert run["jobs"][0]["error"].startswith("machine.lam: required, but LAM is not available")
    assert _verdicts(run)["t"][0] == "notrun"


def test_exception_in_run_test_is_an_internal_error(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A harness bug inside run_test: the job's infrastructure error with its
    traceback.txt, exit 3, never a verdict on the kernel."""
    real = pipeline.run_test
    calls = []

    def buggy(*a: Any, **k: Any) -> Any:
        calls.append(a[3].name)
        if len(calls) == 2:
            raise ZeroDivisionError("planted bug")
        return real(*a, **k)

    monkeypatch.setattr(pipeline, "run_test", buggy)
    code, run, root = _run(tmp_path, [
        {"name": "a", "run": "true", "timeout": 10},
        {"name": "b", "run": "true", "timeout": 10},
        {"name": "c", "run": "true", "timeout": 10},
    ])
    assert code == 3 and run["status"] == "error" and run["exit_code"] == 3
    job = run["jobs"][0]
    assert job["status"] == "error"
    assert job["error"] == ("internal error in the harness: ZeroDivisionError: planted bug "
                            "(traceback: fake/traceback.txt)")
    assert "planted bug" in (root / "fake" / "traceback.txt").read_text()
    v = _verdicts(run)
    assert v["a"] == ("pass", "") and v["b"][0] == "notrun" and v["c"][0] == "notrun"


def test_exception_outside_a_job_is_an_internal_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def buggy(jobs: Any) -> int:
        raise KeyError("planted")

    monkeypatch.setattr(pipeline, "exit_code", buggy)
    vm = FakeVM()
    cfg = _config(tmp_path, [{"name": "a", "run": "true", "timeout": 10}])
    with pytest.raises(InternalError, match="internal error in the harness: KeyError"):
        pipeline.run(cfg, _paths(tmp_path), machine=vm, connect=lambda c: [Runner(FakeHost())])
    _no_machine_left(vm)
    (root,) = (tmp_path / "results").iterdir()
    run = json.loads((root / "run.json").read_text())
    assert run["status"] == "error" and run["exit_code"] == 3
    assert "KeyError" in (root / "traceback.txt").read_text()
    assert _verdicts(run) == {"a": ("pass", "")}


def _interrupted(tmp: Path, vm: FakeVM, tests: list[dict[str, Any]]) -> dict[str, Any]:
    cfg = _config(tmp, tests)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(cfg, _paths(tmp), machine=vm, connect=lambda c: [Runner(FakeHost())])
    _no_machine_left(vm)
    (root,) = (tmp / "results").iterdir()
    run: dict[str, Any] = json.loads((root / "run.json").read_text())
    assert run["status"] == "interrupted" and run["exit_code"] == 130
    assert run["jobs"][0]["status"] == "interrupted"
    assert run["jobs"][0]["error"] == "interrupted by signal"
    return run


TWO = [{"name": "a", "run": "true", "timeout": 10}, {"name": "b", "run": "true", "timeout": 10}]


def test_sigint_during_boot(tmp_path: Path) -> None:
    run = _interrupted(tmp_path, FakeVM(Script(start_error=KeyboardInterrupt())), TWO)
    assert _verdicts(run) == {"a": ("notrun", "run interrupted"),
                              "b": ("notrun", "run interrupted")}


def test_sigint_between_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The interrupt lands right after the first result was recorded (when the
    pipeline says it)."""
    def say(text: str) -> None:
        if text.startswith("fake/a: "):
            raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "say", say)
    run = _interrupted(tmp_path, FakeVM(), TWO)
    assert _verdicts(run) == {"a": ("pass", ""), "b": ("notrun", "run interrupted")}


def test_sigint_mid_test(tmp_path: Path) -> None:
    """A real SIGINT to this process while the guest runs the test."""
    prev = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run = _interrupted(tmp_path, FakeVM(), [
            {"name": "a", "run": "echo 'lamh-fake: sigint' > \"$LAMH_KMSG\"; sleep 30",
             "timeout": 20},
            {"name": "b", "run": "true", "timeout": 10}])
    finally:
        signal.signal(signal.SIGINT, prev)
    assert _verdicts(run) == {"a": ("notrun", "run interrupted"),
                              "b": ("notrun", "run interrupted")}


def test_ssh_goes_to_the_port_a_retried_start_moved_to(tmp_path: Path) -> None:
    vm = FakeVM(Script(move_port=True))
    code, run, _ = _run(tmp_path, [{"name": "a", "run": "true", "timeout": 10}], vm)
    assert code == 0 and _verdicts(run) == {"a": ("pass", "")}
    assert run["jobs"][0]["notes"] == ["SSH port was taken: retried on another port"]


def test_reports_past_max_reports_are_counted_and_console_log_capped(tmp_path: Path) -> None:
    """limits: the second WARNING of a test and of the between-tests time is
    counted, not kept; console.log keeps its head and tail."""
    warn = during(LKDTM, "warning.1")
    two = _kmsg(tmp_path, "two.txt", warn + warn)
    cfg_limits = {"max_reports": 1, "console_log": "16K"}
    vm = FakeVM(Script(after_end={"w.1": warn + warn}))
    cfg = _config(tmp_path, [{"name": "w", "run": two, "timeout": 10}], panic_on_oops=False)
    cfg.limits = config.Limits(**cfg_limits)
    code, root = pipeline.run(cfg, _paths(tmp_path), machine=vm,
                              connect=lambda c: [Runner(FakeHost())])
    _no_machine_left(vm)
    job = json.loads((root / "run.json").read_text())["jobs"][0]
    (w,) = job["tests"]
    assert w["verdict"] == "crash" and len(w["oopses"]) == 1
    assert "1 more reports not kept (limits.max_reports 1 reached)" in w["notes"]
    assert any(n.startswith("2 more reports outside tests not kept") for n in job["notes"])
    assert any(n.startswith("console.log capped at limits.console_log (16K)")
               for n in job["notes"])
    assert code == 1


def test_two_guest_slots_share_a_job(tmp_path: Path) -> None:
    """concurrency 2: the job's tests over two fake guests, one record."""
    vm = FakeVM()
    cfg = _config(tmp_path, [{"name": n, "run": "true", "timeout": 10} for n in "abc"])
    code, root = pipeline.run(cfg, _paths(tmp_path), machine=vm,
                              connect=lambda c: [Runner(FakeHost(), 2)])
    _no_machine_left(vm)
    run = json.loads((root / "run.json").read_text())
    assert code == 0 and run["status"] == "passed"
    assert _verdicts(run) == {n: ("pass", "") for n in "abc"}
    assert len(vm.machines) == 2 and len(run["jobs"][0]["parts"]) == 2


def test_sigint_with_two_guests(tmp_path: Path) -> None:
    """SIGINT while two guests run tests: both are stopped, run.json says
    interrupted, nothing is left running."""
    prev = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    vm = FakeVM()
    cfg = _config(tmp_path, [
        {"name": "a", "run": "sleep 1; echo 'lamh-fake: sigint' > \"$LAMH_KMSG\"; sleep 30",
         "timeout": 20},
        {"name": "b", "run": "sleep 30", "timeout": 20}])
    try:
        with pytest.raises(KeyboardInterrupt):
            pipeline.run(cfg, _paths(tmp_path), machine=vm,
                         connect=lambda c: [Runner(FakeHost(), 2)])
    finally:
        signal.signal(signal.SIGINT, prev)
    _no_machine_left(vm)
    assert len(vm.machines) == 2
    (root,) = (tmp_path / "results").iterdir()
    run = json.loads((root / "run.json").read_text())
    assert run["status"] == "interrupted" and run["exit_code"] == 130
    assert {v for v, _ in _verdicts(run).values()} == {"notrun"}


def test_only_errors_on_the_results_folder_blame_it(tmp_path: Path) -> None:
    """An OSError on a file of the results folder (or a write error on no
    named file) ends the run as "results folder ... cannot write"; one on a
    cache or tool file is that job's infra error, naming the file; a socket
    error is a harness bug (internal error), never blamed on the folder."""
    from harness.pipeline import _os_error_place

    res = tmp_path / "results" / "run"
    assert _os_error_place(OSError(28, "No space left on device", str(res / "it" / "a.log")),
                           res) == "results"
    assert _os_error_place(OSError(28, "No space left on device"), res) == "results"
    assert _os_error_place(OSError(30, "Read-only file system"), res) == "results"
    assert _os_error_place(FileNotFoundError(2, "No such file or directory",
                                             str(tmp_path / "kernels" / "tools" / "x.tmp"),
                                             None, str(tmp_path / "kernels" / "tools" / "x")),
                           res) == "file"
    assert _os_error_place(ConnectionResetError(104, "Connection reset by peer"), res) is None
    assert _os_error_place(BrokenPipeError(32, "Broken pipe"), res) is None
