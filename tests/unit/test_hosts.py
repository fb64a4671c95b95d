"""The pure and local parts of harness/hosts: config, the pool's split and
merge, host-key policy, and the remote agent run here as a real process (its
watchdog, relay, prepare and cleanup do not need SSH to be tested)."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import cast
from xml.etree import ElementTree

import paramiko
import pytest

from harness import config
from harness.config import TestSpec
from harness.errors import ConfigError
from harness.hosts import LOCAL, Host, Runner, agent, pool
from harness.hosts.ssh_conn import HostKeyError, _UnknownKeyPolicy, fingerprint, parse_target
from harness.model import OopsRef, TestResult, Verdict
from harness.plan import Job
from harness.results.schema import JobRecord
from harness.results.store import RunStore
from harness.vm.hostinfo import HostFacts

AGENT = [sys.executable, "-I", "-S", agent.__file__]
BASE = "name: x\nkernel: {image: /etc/hostname}\n"


# -- config ----------------------------------------------------------------------
def test_host_mapping_and_pool_parse() -> None:
    c = config.loads(BASE + "host: {ssh: ci@lam-box, port: 2222, concurrency: 2, "
                            "accept_new_host_key: true}\n")
    assert isinstance(c.host, config.HostSpec)
    assert (c.host.ssh, c.host.port, c.host.concurrency, c.host.accept_new_host_key) == (
        "ci@lam-box", 2222, 2, True)
    assert c.host.workdir == ".cache/lam-harness" and c.host.known_hosts is None
    c = config.loads(BASE + "hosts:\n  - local\n  - {ssh: a@b}\n")
    assert c.hosts[0] == "local" and isinstance(c.hosts[1], config.HostSpec)
    assert config.loads(BASE).host == "local"


@pytest.mark.parametrize("body, message, line", [
    ("host: {ssh: a@b, prot: 22}", "unknown key 'prot' in host (did you mean 'port'?)", 3),
    ("host: lab-box", "host: 'lab-box': expected local or a mapping", 3),
    ("host: {port: 22}", "missing required key 'ssh'", 3),
    ("host: {ssh: 'a@b c'}", "host.ssh: 'a@b c' is not user@host", 3),
    ("host: {ssh: a@b, port: 70000}", "host.port: 70000 is not a TCP port", 3),
    ("host: {ssh: a@b, key: /no/such/key}", "host.key: '/no/such/key' does not exist", 3),
    ("hosts: []", "hosts: empty list", 3),
    ("host: {ssh: a@b}\nhosts: [local]", "give host or hosts, not both", 4),
    ("hosts:\n  - local\n  - {ssh: a@b, concurrency: 0}", "hosts[1].concurrency: must be at "
                                                          "least 1", 5),
])
def test_host_errors_name_file_and_line(body: str, message: str, line: int) -> None:
    with pytest.raises(ConfigError) as e:
        config.loads(BASE + body + "\n", "run.yaml")
    assert message in str(e.value)
    assert str(e.value).startswith(f"run.yaml:{line}:")


def test_parse_target() -> None:
    t = parse_target("ci@10.0.0.5", 2222)
    assert (t.user, t.host, t.port, t.label) == ("ci", "10.0.0.5", 2222, "ci@10.0.0.5:2222")
    assert t.known_hosts_name == "[10.0.0.5]:2222"
    assert parse_target("ci@box", 22).known_hosts_name == "box"
    assert parse_target("box", 22).user  # the local login
    with pytest.raises(ValueError):
        parse_target("ci@", 22)


# -- host keys -------------------------------------------------------------------
def test_unknown_host_key_refused_or_recorded(tmp_path: Path) -> None:
    key = paramiko.Ed25519Key.from_private_key_file(_keygen(tmp_path / "hk"))
    kh = tmp_path / "ssh" / "known_hosts"
    target = parse_target("root@127.0.0.1", 2222)
    with pytest.raises(HostKeyError) as e:
        _UnknownKeyPolicy(target, kh, accept_new=False).missing_host_key(
            paramiko.SSHClient(), "[127.0.0.1]:2222", key)
    assert "unknown host key" in str(e.value) and fingerprint(key) in str(e.value)
    assert not kh.exists()
    _UnknownKeyPolicy(target, kh, accept_new=True).missing_host_key(
        paramiko.SSHClient(), "[127.0.0.1]:2222", key)
    assert kh.read_text() == f"[127.0.0.1]:2222 ssh-ed25519 {key.get_base64()}\n"
    assert kh.stat().st_mode & 0o777 == 0o600
    hk = paramiko.HostKeys(str(kh))
    assert hk.lookup("[127.0.0.1]:2222")["ssh-ed25519"] == key  # type: ignore[index]


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return str(path)


# -- pool ------------------------------------------------------------------------
def _tests(*names: str) -> tuple[TestSpec, ...]:
    return tuple(TestSpec(n, "true") for n in names)


def test_split_round_robin_in_config_order() -> None:
    t = _tests("a", "b", "c", "d", "e")
    assert [[x.name for x in p] for p in pool.split(t, 2)] == [["a", "c", "e"], ["b", "d"]]
    assert len(pool.split(t, 9)) == 5  # never an empty part
    assert [[x.name for x in p] for p in pool.split(t, 1)] == [["a", "b", "c", "d", "e"]]


def test_slots_go_round_the_runners_first() -> None:
    rs = [Runner(LOCAL, 2), Runner(LOCAL, 1), Runner(LOCAL, 3)]
    assert pool.slots(rs) == 6
    assert pool.slot_order(rs) == [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (2, 2)]


def _fake_part(calls: list[tuple[str, tuple[str, ...], object]]) -> pool.JobRunner:
    """A job runner that boots nothing: each test passes, and writes its
    stdout in the part's folder as run_job does."""
    def run_part(job: Job, store: RunStore, facts: HostFacts, host: Host) -> JobRecord:
        calls.append((threading.current_thread().name, tuple(t.name for t in job.tests), facts))
        rec = store.job(job.name)
        for t in job.tests:
            (store.job_dir(job.name) / t.name).mkdir()
            (store.job_dir(job.name) / t.name / "stdout").write_text(t.name)
            rec.results.append(TestResult(t.name, t.name, 1, Verdict.PASS,
                                          stdout=f"{t.name}/stdout"))
            store.save()
        rec.status = "passed"
        store.save()
        return rec
    return run_part


def test_pool_runs_each_part_through_the_job_runner_it_is_given(tmp_path: Path) -> None:
    job = Job("j", config.loads(BASE), _tests("a", "b", "c"))
    store = RunStore(tmp_path, {})
    facts = [cast(HostFacts, "facts-1"), cast(HostFacts, "facts-2")]
    calls: list[tuple[str, tuple[str, ...], object]] = []
    rec = pool.run_job(job, store, [Runner(LOCAL, 1), Runner(LOCAL, 1)], facts,
                       _fake_part(calls))
    assert sorted(calls) == [("part-1", ("a", "c"), "facts-1"), ("part-2", ("b",), "facts-2")]
    assert [r.name for r in rec.results] == ["a", "b", "c"]
    assert rec.status == "passed"
    # the parts' test folders were moved up into the job folder
    assert (tmp_path / "j" / "b" / "stdout").read_text() == "b"
    d = json.loads((tmp_path / "run.json").read_text())
    assert [t["stdout"] for t in d["jobs"][0]["tests"]] == ["a/stdout", "b/stdout", "c/stdout"]
    assert [p["status"] for p in d["jobs"][0]["parts"]] == ["passed", "passed"]


def test_pool_re_raises_a_part_s_exception_after_the_others_finish(tmp_path: Path) -> None:
    job = Job("j", config.loads(BASE), _tests("a", "b"))
    store = RunStore(tmp_path, {})
    calls: list[tuple[str, tuple[str, ...], object]] = []
    ok = _fake_part(calls)

    def run_part(job: Job, store: RunStore, facts: HostFacts, host: Host) -> JobRecord:
        if job.tests[0].name == "b":
            store.job(job.name)
            raise RuntimeError("part 2 broke")
        return ok(job, store, facts, host)

    with pytest.raises(RuntimeError, match="part 2 broke"):
        pool.run_job(job, store, [Runner(LOCAL, 2)], [cast(HostFacts, None)], run_part)
    assert [r.name for r in store.jobs[0].results] == ["a"]


def test_pooled_job_merges_parts_in_config_order(tmp_path: Path) -> None:
    job = Job("j", config.loads(BASE), _tests("a", "b", "c"))
    pj = pool.PooledJob("j", job)
    p1 = pool.Part(1, 0, 0, "h1", _tests("a", "c"), rec=JobRecord("j"))
    p2 = pool.Part(2, 1, 0, "h2", _tests("b"), rec=JobRecord("j"))
    assert p1.rec is not None and p2.rec is not None
    p1.rec.accel = {"accel": "tcg"}
    p1.rec.results = [
        TestResult("c", "c", 1, Verdict.CRASH, "boom", stdout="c/stdout", stderr="c/stderr",
                   oopses=[OopsRef("boom", "panic", "c/oops-1.txt", 5, 9)]),
        TestResult("a", "a", 1, Verdict.PASS, stdout="a/stdout", stderr="a/stderr")]
    p2.rec.results = [TestResult("b", "b", 1, Verdict.FAIL, "exit status 1",
                                 stdout="b/stdout")]
    p2.rec.error = None
    pj.parts = [p1, p2]
    pj.sync()
    d = pj.to_json()
    assert [t["name"] for t in d["tests"]] == ["a", "b", "c"]
    # While a part runs, its test folders are still in part-K/.
    assert d["tests"][0]["stdout"] == "part-1/a/stdout"
    assert d["tests"][2]["oopses"][0]["file"] == "part-1/c/oops-1.txt"
    assert d["tests"][1]["console"] == "part-2/console.log"
    assert d["consoles"] == ["part-1/console.log", "part-2/console.log"]
    assert [p["host"] for p in d["parts"]] == ["h1", "h2"]
    assert d["accel"] == {"accel": "tcg"}
    json.dumps(d)
    p1.moved = p2.moved = True
    p1.done = p2.done = True
    pj.finish()
    d = pj.to_json()
    assert d["tests"][0]["stdout"] == "a/stdout" and d["status"] == "failed"
    p2.rec.error = "boot failed: x"
    pj.finish()
    assert pj.status == "error" and pj.error == "part-2 on h2: boot failed: x"


# -- the agent, run here -----------------------------------------------------------
_BUF: dict[int, bytes] = {}  # unread agent output, by pipe fd


@pytest.fixture(autouse=True)
def _agent_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent's temp dir (where its run folders live) is the test's."""
    monkeypatch.setenv("TMPDIR", str(tmp_path.resolve()))


def _run_dir(tmp_path: Path, name: str = "lamh-run") -> Path:
    """A run folder as the agent's ``prepare`` makes it: lamh-* in its temp dir, 0700."""
    d = tmp_path.resolve() / name
    d.mkdir(mode=0o700)
    return d


def _spawn(d: Path, *argv: str, heartbeat: float = 30.0) -> subprocess.Popen[bytes]:
    p = subprocess.Popen([*AGENT, "spawn", "--dir", str(d), "--heartbeat", str(heartbeat),
                          "--", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout is not None
    _BUF.pop(p.stdout.fileno(), None)
    return p


def _line(p: subprocess.Popen[bytes], timeout: float = 10.0) -> dict[str, object]:
    """The agent's next JSON line (raw reads: a buffered readline could hold
    two lines while select() sees an empty pipe)."""
    assert p.stdout is not None
    fd = p.stdout.fileno()
    deadline = time.monotonic() + timeout
    while b"\n" not in _BUF.get(fd, b""):
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert r, "no line from the agent"
        chunk = os.read(fd, 65536)
        assert chunk, "the agent closed its stdout"
        _BUF[fd] = _BUF.get(fd, b"") + chunk
    line, _BUF[fd] = _BUF[fd].split(b"\n", 1)
    out: dict[str, object] = json.loads(line)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_agent_kills_its_process_group_when_stdin_ends(tmp_path: Path) -> None:
    d = _run_dir(tmp_path)
    # The child starts a grandchild in the same group: both must go.
    p = _spawn(d, "sh", "-c", "sleep 300 & echo started >&2; wait")
    pid = int(_line(p)["pid"])  # type: ignore[arg-type]
    assert (d / "qemu.pid").read_text().strip() == str(pid)
    assert os.getpgid(pid) == pid  # a session / process group of its own
    time.sleep(0.3)
    kids = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True,
                          text=True).stdout.split()
    assert len(kids) == 2
    assert p.stdin is not None
    p.stdin.close()  # what a dropped SSH connection looks like to the agent
    msg = _line(p)
    assert msg["exit"] is not None and "EOF" in str(msg["why"])
    assert p.wait(10) == 0
    assert all(_gone_within(int(k), 5) for k in kids)
    assert not d.exists()  # the run folder is removed with it


def test_agent_heartbeat_timeout_and_replies(tmp_path: Path) -> None:
    d = _run_dir(tmp_path)
    p = _spawn(d, "sleep", "300", heartbeat=1.0)
    pid = int(_line(p)["pid"])  # type: ignore[arg-type]
    assert p.stdin is not None
    p.stdin.write(b".")
    p.stdin.flush()
    assert _line(p) == {"hb": 1}
    msg = _line(p, 5)  # then silence: a half-open connection
    assert "no heartbeat" in str(msg["why"])
    assert _gone_within(pid, 5)
    p.wait(5)
    assert not d.exists()


def test_agent_stop_keeps_the_folder_and_reports_an_own_exit(tmp_path: Path) -> None:
    d = _run_dir(tmp_path)
    p = _spawn(d, "sh", "-c", "echo from-qemu >&2; exit 3")
    _line(p)
    assert _line(p) == {"exit": 3, "why": None}  # QEMU ended on its own (a panic)
    assert p.stdin is not None
    p.stdin.write(b"k")  # the harness says stop: it reuses or removes the folder
    p.stdin.flush()
    assert p.wait(5) == 0
    assert d.exists()
    assert p.stderr is not None and b"from-qemu" in p.stderr.read()
    # ``kill DIR`` removes it, and is idempotent.
    for _ in range(2):
        r = subprocess.run([*AGENT, "kill", str(d)], capture_output=True, timeout=30)
        assert r.returncode == 0 and json.loads(r.stdout)["killed"] is None
    assert not d.exists()


def test_agent_kill_reaps_a_leftover_process(tmp_path: Path) -> None:
    d = _run_dir(tmp_path)
    p = _spawn(d, "sh", "-c", "sleep 300", str(d))  # its command line names the folder
    pid = int(_line(p)["pid"])  # type: ignore[arg-type]
    r = subprocess.run([*AGENT, "kill", str(d)], capture_output=True, timeout=30)
    assert json.loads(r.stdout)["killed"] == pid
    assert _gone_within(pid, 5) and not d.exists()
    p.kill()
    p.wait()


def test_agent_prepare_assembles_the_initramfs(tmp_path: Path) -> None:
    base = tmp_path / "common.cpio"
    base.write_bytes(b"A" * 100_000)
    r = subprocess.run([*AGENT, "prepare", "--base", str(base)], input=b"per-run",
                       capture_output=True, timeout=30)
    out = json.loads(r.stdout)
    try:
        assert Path(out["initrd"]).read_bytes() == b"A" * 100_000 + b"per-run"
        assert Path(out["dir"]).stat().st_mode & 0o777 == 0o700
        assert 1024 <= out["port"] <= 65535
    finally:
        shutil.rmtree(out["dir"])


def test_agent_relay_bridges_a_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(path))
    srv.listen(1)
    p = subprocess.Popen([*AGENT, "relay", str(path), "--wait", "5"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conn, _ = srv.accept()
    assert p.stderr is not None and b"relay: connected" in p.stderr.readline()
    conn.sendall(b"from-socket\n")
    assert p.stdout is not None and p.stdout.readline() == b"from-socket\n"
    assert p.stdin is not None
    p.stdin.write(b"to-socket\n")
    p.stdin.flush()
    assert conn.recv(100) == b"to-socket\n"
    conn.close()  # QEMU went away: the relay ends
    assert p.wait(5) == 0
    srv.close()
    # Nothing listening: a clear failure after the wait.
    r = subprocess.run([*AGENT, "relay", str(tmp_path / "none.sock"), "--wait", "0.2"],
                       capture_output=True, timeout=30)
    assert r.returncode == 2 and b"cannot connect" in r.stderr


def test_agent_facts_match_hostinfo() -> None:
    from harness.vm import hostinfo

    r = subprocess.run([*AGENT, "facts", "--qemu", "no-such-qemu", "--workdir", "/"],
                       capture_output=True, timeout=60)
    f = json.loads(r.stdout)
    assert f["cpu_lam"] == hostinfo.cpu_lam()
    assert f["kernel"] == os.uname().release
    k = hostinfo.kvm_facts()
    assert f["kvm"] == {"dev_present": k.dev_present, "dev_usable": k.dev_usable,
                        "modules": k.modules}
    assert f["qemu"]["no-such-qemu"] == {"binary": "no-such-qemu", "found": False}
    assert f["disk_free_bytes"] > 0 and "python3" in f["tools"]


# -- the initramfs's common part ------------------------------------------------------
def test_initramfs_common_part_does_not_depend_on_the_run(tmp_path: Path) -> None:
    from harness.guest import initramfs, keys

    if shutil.which("dropbearkey") is None:
        pytest.fail("dropbearkey not installed (make setup installs dropbear-bin)")
    images = []
    for n in range(2):
        k = keys.generate(tmp_path / f"keys{n}")
        out = tmp_path / f"i{n}.cpio"
        common, total = initramfs.build_split(initramfs.ImageSpec(k, f"nonce{n}"), out)
        images.append((out.read_bytes(), common, total))
    (a, ca, ta), (b, cb, tb) = images
    assert ca == cb and a[:ca] == b[:cb]  # content-addressed once on a remote
    assert a[ca:] != b[cb:] and len(a) == ta
    assert b"nonce0" in a[ca:] and b"nonce0" not in a[:ca]
    assert a[ca:ca + 6] == b"070701"  # a second newc archive follows the first


def test_a_mixed_pool_never_labels_emulated_results_hardware(tmp_path: Path) -> None:
    """One hardware runner and one emulator runner: the job's LAM is the
    weakest of its parts ("mixed: ..."), each test carries the LAM of the part
    that ran it, and JUnit, summary.html and kcidb.json say so."""
    from harness.report.write import Inputs, report
    from harness.results import junit
    from harness.results.store import RunStore

    job = Job("j", config.loads(BASE), _tests("a", "b"))
    store = RunStore.create(tmp_path, "j", {"config": {"name": "j", "tests": []}})
    pj = pool.PooledJob("j", job)
    store.jobs.append(pj)
    hw = {"status": "available", "source": "hardware", "reasons": ["LAM: hardware"]}
    emu = {"status": "available", "source": "emulated (TCG)", "reasons": ["LAM: emulated"]}
    parts = []
    for k, (name, lam, accel) in enumerate((("a", hw, "kvm"), ("b", emu, "tcg")), 1):
        p = pool.Part(k, k - 1, 0, f"h{k}", _tests(name), rec=JobRecord("j"), moved=True,
                      done=True)
        assert p.rec is not None
        p.rec.accel, p.rec.lam = {"accel": accel, "cpu": "max"}, lam
        p.rec.results = [TestResult(name, name, 1, Verdict.PASS, stdout=f"{name}/stdout")]
        (store.job_dir("j") / name).mkdir(parents=True)
        (store.job_dir("j") / name / "stdout").write_text(f"out {name}\n")
        parts.append(p)
    pj.parts = parts
    pj.finish()
    store.save()
    d = json.loads((store.root / "run.json").read_text())["jobs"][0]
    assert d["lam"]["status"] == "available" and d["lam"]["source"] == "mixed"
    assert d["lam"]["label"].startswith("mixed: ")
    assert {t["name"]: t["lam"] for t in d["tests"]} == {
        "a": "available (hardware)", "b": "available (emulated (TCG))"}
    assert d["accel"]["accel"] == "mixed (kvm, tcg)"
    assert [p["lam"]["label"] for p in d["parts"]] == [
        "available (hardware)", "available (emulated (TCG))"]
    junit.write(store.jobs, store.root)  # as the run writes it, from the records
    first = (store.root / "junit.xml").read_text()
    report(store.root, Inputs())  # as `report` writes it again, from run.json
    for xml in first, (store.root / "junit.xml").read_text():
        cases = {c.get("name"): c for c in ElementTree.fromstring(xml).iter("testcase")}
        out_b = cases["b"].findtext("system-out") or ""
        assert "emulated (TCG)" in out_b and "hardware" not in out_b
        assert "hardware" in (cases["a"].findtext("system-out") or "")
        props = {p.get("name"): p.get("value")
                 for p in ElementTree.fromstring(xml).iter("property")}
        assert props["lam"].startswith("mixed: ")
    kc = json.loads((store.root / "kcidb.json").read_text())
    env = {t["misc"]["name"]: t["environment"] for t in kc["tests"]}
    assert env["b"]["misc"]["lam"] == "available (emulated (TCG))"
    assert "mixed" in env["b"]["comment"] and "hardware" not in env["b"]["misc"]["lam"]
    html = (store.root / "summary.html").read_text()
    row_b = next(r for r in html.split("<tr") if ">b<" in r)
    assert "emulated (TCG)" in row_b and "hardware" not in row_b


def _kill(d: Path) -> dict[str, object]:
    r = subprocess.run([*AGENT, "kill", str(d)], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out: dict[str, object] = json.loads(r.stdout)
    return out


def test_agent_removes_only_its_own_run_folders(tmp_path: Path) -> None:
    """``kill DIR`` (and spawn's cleanup) take any path from the other end:
    only a private lamh-* folder straight in the agent's temp dir is removed."""
    precious = tmp_path / "precious"
    precious.mkdir(mode=0o700)
    (precious / "data").write_text("keep me")
    link = tmp_path.resolve() / "lamh-link"
    link.symlink_to(precious)
    shared = _run_dir(tmp_path, "lamh-shared")
    shared.chmod(0o777)
    nested = _run_dir(tmp_path, "lamh-ok") / "lamh-nested"
    nested.mkdir(mode=0o700)
    for d, why in ((precious, "is not a lamh-* folder"), (link, "symlink"),
                   (shared, "not a private folder"), (nested, "is not a lamh-* folder"),
                   (tmp_path.resolve() / "lamh-ok" / ".." / "precious", "not a lamh-*"),
                   (Path("/"), "not a lamh-*")):
        got = _kill(d)
        assert got["killed"] is None and why in str(got["refused"]), (d, got)
    assert (precious / "data").read_text() == "keep me"
    assert shared.is_dir() and nested.is_dir() and link.is_symlink()
    p = _spawn(precious, "true")
    assert "refused" in str(_line(p)["why"])
    p.wait(10)
    assert (precious / "data").exists() and not (precious / "qemu.pid").exists()
    ok = tmp_path.resolve() / "lamh-ok"
    assert _kill(ok) == {"killed": None} and not ok.exists()
