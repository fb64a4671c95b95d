"""Remote LAM runners over SSH, end to end: a real OpenSSH server on
127.0.0.1:<free port> (tests/sshd.py) is the "remote", and the whole pipeline
runs through it against Debian's 6.12 cloud kernel in real QEMU."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import sshd as sshd_mod
from tests.conftest import need
from tests.integration.helpers import cli, env, run, write_config

pytestmark = pytest.mark.vm

VERDICT_TESTS = """
    machine: {accel: auto, smp: 2, memory: 1G, boot_timeout: 120}
    tests:
      - {name: passes, run: "echo hello from $(uname -r)", timeout: 30}
      - {name: fails, run: "echo to-stderr >&2; exit 1", timeout: 30}
      - {name: hangs, run: ["sleep", "300"], timeout: 3}
      - {name: after-timeout, run: "true", timeout: 30}
      - {name: skips, run: "echo '# SKIP no such feature'; exit 4", timeout: 30}
      - {name: repeated, run: "true", repeat: 2, timeout: 30}
      - {name: panics, run: "echo c > /proc/sysrq-trigger", timeout: 60}
      - {name: never-runs, run: "true", timeout: 30}
"""

LONG_TESTS = """
    machine: {boot_timeout: 120}
    tests:
      - {name: first, run: "true"}
      - {name: long, run: "sleep 120", timeout: 200}
      - {name: last, run: "true"}
"""


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd_mod.Sshd]:
    need(sshd_mod.available(), "sshd not installed (Debian package openssh-server)")
    s = sshd_mod.Sshd(tmp_path_factory.mktemp("remote")).start()
    yield s
    s.stop()


def remote_config(tmp: Path, body: str, server: sshd_mod.Sshd, name: str = "it",
                  **host: object) -> Path:
    return write_config(tmp, f"host: {server.host_spec(**host)}\n" + _dedent(body), name)


def _dedent(body: str) -> str:
    import textwrap

    return textwrap.dedent(body)


def remote_qemus(server: sshd_mod.Sshd) -> list[str]:
    """QEMU processes started from this remote's workdir (the kernel is there)."""
    pattern = rf"^\S*qemu-system-x86_64 .*-kernel {re.escape(str(server.workdir))}/"
    out = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if ln.strip()]


def no_remote_qemu_within(server: sshd_mod.Sshd, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while remote_qemus(server):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def verdicts(out: object) -> dict[str, tuple[str, str]]:
    t = out.tests()  # type: ignore[attr-defined]
    return {n: (v["verdict"], v["reason"]) for n, v in t.items()}


def test_remote_run_gives_the_same_verdicts_as_local(debian_kernel: Path, tmp_path: Path,
                                                     sshd: sshd_mod.Sshd) -> None:
    (tmp_path / "l").mkdir()
    local = run(write_config(tmp_path / "l", VERDICT_TESTS), tmp_path / "local-results",
                timeout=900)
    remote = run(remote_config(tmp_path, VERDICT_TESTS, sshd), tmp_path / "remote-results",
                 timeout=900)
    assert remote.code == local.code == 1, remote.stderr
    assert verdicts(remote) == verdicts(local)
    t = remote.tests()
    assert t["passes"]["verdict"] == "pass"
    assert (remote.run_dir / "it" / "passes" / "stdout").read_text().startswith(
        "hello from 6.12")
    assert t["fails"]["verdict"] == "fail"
    assert (remote.run_dir / "it" / "fails" / "stderr").read_text() == "to-stderr\n"
    assert t["hangs"]["verdict"] == "fail" and t["hangs"]["duration"] < 10
    assert t["skips"]["verdict"] == "skip"
    assert t["panics"]["verdict"] == "crash"
    assert "sysrq triggered crash" in t["panics"]["reason"]
    oops = remote.run_dir / "it" / t["panics"]["oopses"][0]["file"]
    assert "sysrq triggered crash" in oops.read_text()
    assert t["never-runs"]["verdict"] == "notrun"
    # The console streamed back over SSH, from the first byte.
    console = (remote.run_dir / "it" / "console.log").read_text(errors="replace")
    assert "Linux version 6.12" in console and "lam-harness: ready" in console
    assert "sysrq triggered crash" in console
    data = remote.run
    assert data["runners"][0]["host"] == f"{sshd.user}@127.0.0.1:{sshd.port}"
    assert data["host"]["qemu"]["found"] is True
    job = data["jobs"][0]
    assert job["timings"]["host_prepare_s"] >= 0
    cmdline = (remote.run_dir / "it" / "qemu.cmdline").read_text()
    assert cmdline.startswith("# on ") and f"-kernel {sshd.workdir}/cas/" in cmdline
    assert "hostfwd=tcp:127.0.0.1:" in cmdline
    suite = remote.junit().find("testsuite")
    assert suite is not None and len(suite.findall("testcase")) == 9
    assert no_remote_qemu_within(sshd, 5), remote_qemus(sshd)
    # A second boot: kernel and the initramfs's common part are hash hits.
    p = cli("boot", str(tmp_path / "it.yaml"), "--cmd", "uname -r; exit 7", timeout=300)
    assert p.returncode == 7, p.stderr
    assert p.stdout.startswith("6.12")
    assert "uploaded kernel" not in p.stderr and "uploaded initramfs" not in p.stderr
    assert no_remote_qemu_within(sshd, 5), remote_qemus(sshd)


def test_unknown_or_changed_host_key_is_refused_before_anything_runs(
        tmp_path: Path, sshd: sshd_mod.Sshd) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    cfg = remote_config(tmp_path, "tests: [{name: t, run: 'true'}]\n", sshd,
                        known_hosts=str(empty), workdir=str(tmp_path / "never"))
    before = sshd.log.read_text().count("Accepted publickey")
    p = cli("run", str(cfg), "--results", str(tmp_path / "results"), timeout=120)
    assert p.returncode == 3, p.stderr
    err = p.stderr.strip().splitlines()[-1]
    assert "unknown host key ssh-ed25519 SHA256:" in err and "refusing" in err
    assert str(empty) in err and "accept_new_host_key" in err
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
    assert not (tmp_path / "never").exists()  # nothing executed on the remote
    assert sshd.log.read_text().count("Accepted publickey") == before  # never authenticated
    assert empty.read_text() == ""

    # A changed key (another server's key recorded for this host:port).
    other = sshd_mod.keygen(tmp_path / "other")
    kind, blob = Path(f"{other}.pub").read_text().split()[:2]
    empty.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    p = cli("run", str(cfg), "--results", str(tmp_path / "results"), timeout=120)
    assert p.returncode == 3, p.stderr
    assert "host key CHANGED" in p.stderr and "ssh-keygen -R" in p.stderr
    assert sshd.log.read_text().count("Accepted publickey") == before

    # accept-new records an unknown key once; later runs check against it.
    fresh = tmp_path / "fresh_known_hosts"
    d = cli("doctor", "--host", f"{sshd.user}@127.0.0.1", "--port", str(sshd.port), "--key",
            str(sshd.client_key), "--known-hosts", str(fresh), "--accept-new-host-key",
            "--workdir", str(sshd.workdir), "--json", timeout=120)
    assert d.returncode == 0, d.stderr
    assert "recorded in" in d.stderr
    assert fresh.read_text().startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
    d = cli("doctor", "--host", f"{sshd.user}@127.0.0.1", "--port", str(sshd.port), "--key",
            str(sshd.client_key), "--known-hosts", str(fresh), "--workdir", str(sshd.workdir),
            "--json", timeout=120)
    assert d.returncode == 0, d.stderr


def test_wrong_user_key_is_an_authentication_error(tmp_path: Path,
                                                   sshd: sshd_mod.Sshd) -> None:
    wrong = sshd_mod.keygen(tmp_path / "wrong")
    cfg = remote_config(tmp_path, "tests: [{name: t, run: 'true'}]\n", sshd, key=str(wrong),
                        workdir=str(tmp_path / "never"))
    p = cli("run", str(cfg), "--results", str(tmp_path / "results"), timeout=120)
    assert p.returncode == 3, p.stderr
    err = p.stderr.strip().splitlines()[-1]
    assert "authentication failed with key" in err and str(wrong) in err
    assert not (tmp_path / "never").exists()


def test_doctor_reads_the_capability_chain_on_the_remote(sshd: sshd_mod.Sshd) -> None:
    d = cli("doctor", "--host", f"{sshd.user}@127.0.0.1", "--port", str(sshd.port), "--key",
            str(sshd.client_key), "--known-hosts", str(sshd.known_hosts), "--workdir",
            str(sshd.workdir), "--json", timeout=120)
    assert d.returncode == 0, d.stderr
    info = json.loads(d.stdout)
    assert info["host"] == f"{sshd.user}@127.0.0.1:{sshd.port}"
    assert info["ssh"]["tcp_forwarding"] == "allowed"
    assert info["cpu_lam"] in (True, False)
    assert {"dev", "usable", "modules", "real"} <= info["kvm"].keys()
    assert re.match(r"\d+\.\d+", info["qemu"]["version"]) and "knows_lam" in info["qemu"]
    assert info["host_kernel"] and info["disk_free_bytes"] > 0
    assert info["tools"]["python3"] and info["tools"]["qemu-system-x86_64"]
    text = cli("doctor", "--host", f"{sshd.user}@127.0.0.1", "--port", str(sshd.port), "--key",
               str(sshd.client_key), "--known-hosts", str(sshd.known_hosts), "--workdir",
               str(sshd.workdir), timeout=120)
    assert text.returncode == 0 and "tcp forwarding  allowed" in text.stdout


def _start_long_run(cfg: Path, results: Path) -> tuple[subprocess.Popen[str], Path]:
    p = subprocess.Popen([sys.executable, "-m", "harness", "run", str(cfg), "--results",
                          str(results)], env=env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        logs = list(results.glob("*/it/console.log"))
        if logs and "lam-harness: start long.1" in logs[0].read_text(errors="replace"):
            return p, logs[0].parent.parent
        assert p.poll() is None, p.communicate()
        time.sleep(0.2)
    p.kill()
    raise AssertionError("test 'long' never started")


def test_dropped_connection_is_an_infra_error_and_leaves_no_qemu(
        debian_kernel: Path, tmp_path: Path, sshd: sshd_mod.Sshd) -> None:
    cfg = remote_config(tmp_path, LONG_TESTS, sshd)
    p, run_dir = _start_long_run(cfg, tmp_path / "results")
    assert remote_qemus(sshd), "QEMU is not running on the remote"
    killed = sshd.drop_connections()
    assert killed
    t0 = time.monotonic()
    assert no_remote_qemu_within(sshd, 5), remote_qemus(sshd)
    gone_s = time.monotonic() - t0
    _, stderr = p.communicate(timeout=60)
    assert p.returncode == 3, stderr
    data = json.loads((run_dir / "run.json").read_text())
    assert data["status"] == "error" and data["exit_code"] == 3
    tests = {t["name"]: t for t in data["jobs"][0]["tests"]}
    assert tests["first"]["verdict"] == "pass"
    assert tests["long"]["verdict"] == "error"
    assert "lost" in tests["long"]["reason"], tests["long"]["reason"]
    assert tests["last"]["verdict"] == "notrun"
    # The results folder is complete.
    job = run_dir / "it"
    for f in ("console.log", "qemu.log", "qemu.cmdline", "long/stdout", "long/stderr"):
        assert (job / f).exists(), f
    assert (run_dir / "junit.xml").exists()
    err = json.dumps(data["jobs"][0])
    assert "lost" in err
    print(f"remote QEMU gone {gone_s:.2f}s after the connection dropped")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_harness_killed_leaves_no_qemu_on_the_remote(debian_kernel: Path, tmp_path: Path,
                                                     sshd: sshd_mod.Sshd,
                                                     sig: signal.Signals) -> None:
    cfg = remote_config(tmp_path, LONG_TESTS, sshd)
    p, run_dir = _start_long_run(cfg, tmp_path / "results")
    assert remote_qemus(sshd)
    p.send_signal(sig)
    p.communicate(timeout=60)
    assert no_remote_qemu_within(sshd, 5), remote_qemus(sshd)
    if sig == signal.SIGTERM:
        assert p.returncode == 130
        data = json.loads((run_dir / "run.json").read_text())
        assert data["status"] == "interrupted"
        verdicts = {t["name"]: t["verdict"] for t in data["jobs"][0]["tests"]}
        assert verdicts == {"first": "pass", "long": "notrun", "last": "notrun"}


def test_two_runners_share_a_runs_tests(debian_kernel: Path, tmp_path: Path,
                                        sshd: sshd_mod.Sshd) -> None:
    second = sshd_mod.Sshd(tmp_path, "second").start()
    try:
        cfg = write_config(tmp_path, f"""
            hosts:
              - {sshd.host_spec()}
              - {second.host_spec()}
            machine: {{boot_timeout: 120}}
            tests:
              - {{name: a, run: "echo a"}}
              - {{name: b, run: "echo b; exit 1"}}
              - {{name: c, run: "echo '# SKIP nope'; exit 4"}}
              - {{name: d, run: "echo d"}}
        """.replace("\n            ", "\n"))
        out = run(cfg, tmp_path / "results", timeout=900)
        assert out.code == 1, out.stderr
        t = out.tests()
        assert [n for n in t] == ["a", "b", "c", "d"]  # config order
        assert {n: v["verdict"] for n, v in t.items()} == {
            "a": "pass", "b": "fail", "c": "skip", "d": "pass"}
        job = out.run["jobs"][0]
        parts = job["parts"]
        assert {p["host"] for p in parts} == {f"{sshd.user}@127.0.0.1:{sshd.port}",
                                              f"{second.user}@127.0.0.1:{second.port}"}
        assert [p["tests"] for p in parts] == [["a", "c"], ["b", "d"]]
        assert all(p["status"] in ("passed", "failed") for p in parts)
        for name, test in t.items():
            assert (out.run_dir / "it" / test["stdout"]).read_text().startswith(
                "# SKIP" if name == "c" else name)
            assert test["console"] in ("part-1/console.log", "part-2/console.log")
            assert f"lam-harness: start {name}.1" in (
                out.run_dir / "it" / test["console"]).read_text(errors="replace")
        suites = out.junit().findall("testsuite")
        assert len(suites) == 1 and len(suites[0].findall("testcase")) == 4
        assert no_remote_qemu_within(sshd, 5) and no_remote_qemu_within(second, 5)
    finally:
        second.stop()


def test_remote_interactive_console(debian_kernel: Path, tmp_path: Path,
                                    sshd: sshd_mod.Sshd) -> None:
    """``boot`` on a runner: the serial console both ways through the relay."""
    import pexpect

    cfg = remote_config(tmp_path, "machine: {boot_timeout: 120}\n", sshd)
    child = pexpect.spawn(sys.executable, ["-m", "harness", "boot", str(cfg)], env=env(),
                          timeout=120, encoding="utf-8")
    try:
        child.expect(r"on [^ ]+@127\.0\.0\.1:\d+, key .*Ctrl-\] to quit")
        child.sendline("")
        child.expect("lam-guest# ", timeout=30)
        child.sendline("echo answer=$((6*7))")
        child.expect("answer=42", timeout=30)
        child.send("\x1d")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert no_remote_qemu_within(sshd, 5), remote_qemus(sshd)


@pytest.mark.parametrize("how", ["symlink", "world-writable", "group-writable-cas",
                                 "other-owner", "cas-entry-symlink"])
def test_untrusted_workdir_or_cas_is_refused(sshd: sshd_mod.Sshd, tmp_path: Path,
                                             how: str) -> None:
    """The workdir and its CAS hold what the runner executes: a symlink, a
    folder others can write, or one of another user is refused (exit 3)."""
    import os

    from harness.errors import InfraError
    from harness.hosts.ssh import SSHHost
    from harness.hosts.ssh_files import AGENT

    work = tmp_path / "work"

    def host() -> SSHHost:
        return SSHHost(f"{sshd.user}@127.0.0.1", port=sshd.port, key=sshd.client_key,
                       known_hosts=sshd.known_hosts, workdir=str(work))

    h = host().connect()  # a fresh workdir is made private and used
    assert h.agent.startswith(f"{work}/cas/")
    h.close()
    says = {"symlink": "is a symlink", "world-writable": "writable by others",
            "group-writable-cas": "writable by its group", "other-owner": "owned by uid",
            "cas-entry-symlink": "is a symlink"}[how]
    if how == "symlink":
        real = tmp_path / "elsewhere"
        work.rename(real)
        work.symlink_to(real)
    elif how == "world-writable":
        work.chmod(0o777)
    elif how == "group-writable-cas":
        (work / "cas").chmod(0o775)
    elif how == "other-owner":
        os.chown(work, 65534, 65534)
    else:
        entry = Path(h.agent)
        planted = tmp_path / "planted.py"
        planted.write_text("print('not the agent')\n")
        entry.unlink()
        entry.symlink_to(planted)
    with pytest.raises(InfraError) as e:
        host().connect()
    assert says in str(e.value) and "refused" in str(e.value)
    assert AGENT.exists()
