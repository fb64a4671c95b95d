#!/usr/bin/env python3
"""Remote runner overheads, as JSON on stdout.

The "remote" is a real OpenSSH server on 127.0.0.1 (tests/sshd.py: its own
sshd_config, host key and authorized key), so the figures are the harness's
own costs (SSH, SFTP, the agent, relays, the nested guest SSH), without a
network's latency or bandwidth.
  upload_cold_s   kernel + the initramfs's common part staged into an empty
                  workdir (sha256 of both, SFTP upload, atomic rename)
  upload_warm_s   the same from a new connection (what a new run does):
                  sha256 again, then both hashes found, nothing sent
  boot            for --runs boots each, alternately on this host and through
                  the remote, kernel staged already: pipeline.boot() entry to
                  the guest's SSH up (initramfs build, staging, QEMU start,
                  readiness marker, SSH), and QEMU start to readiness and to
                  SSH as the run records them
  exec_ms         a trivial command in the booted guest (`true`), --execs times
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import config, progress  # noqa: E402
from harness.guest import initramfs, keys  # noqa: E402
from harness.hosts import LOCAL, Host  # noqa: E402
from harness.hosts.ssh import SSHHost  # noqa: E402
from harness.kernel import prebuilt  # noqa: E402
from harness.pipeline import Paths, boot  # noqa: E402
from harness.results.schema import JobRecord  # noqa: E402
from tests.sshd import Sshd  # noqa: E402

CONFIG = """\
name: bench-remote
kernel: {debian: "linux-image-6.12.*-cloud-amd64-unsigned"}
machine: {accel: auto, lam: "off", smp: 2, memory: 1G, boot_timeout: 120}
"""


def stats(xs: list[float], scale: float = 1.0) -> dict[str, float]:
    return {"median": round(statistics.median(xs) * scale, 4),
            "min": round(min(xs) * scale, 4), "max": round(max(xs) * scale, 4), "n": len(xs)}


def ssh_host(server: Sshd, workdir: Path) -> SSHHost:
    return SSHHost(f"{server.user}@127.0.0.1", port=server.port, key=server.client_key,
                   known_hosts=server.known_hosts, workdir=str(workdir)).connect()


def one_boot(cfg: config.Config, work: Path, paths: Paths, host: Host,
             execs: int) -> dict[str, Any]:
    facts = host.facts(cfg.machine.qemu)
    rec = JobRecord("bench")
    t0 = time.monotonic()
    with boot(cfg, work, paths, facts, rec, host=host) as b:
        up = time.monotonic() - t0
        times = []
        for _ in range(execs):
            t = time.perf_counter()
            o = b.guest.run("true", io.BytesIO(), io.BytesIO(), 30, b.machine.alive)
            times.append(time.perf_counter() - t)
            assert o.status == 0, o
        accel = b.machine.inv.accel.accel
    return {"boot_to_ssh_s": up, "qemu_start_to_ready_s": rec.timings["qemu_start_to_ready_s"],
            "qemu_start_to_ssh_s": rec.timings["qemu_start_to_ssh_s"],
            "host_prepare_s": rec.timings.get("host_prepare_s", 0.0), "exec": times,
            "accel": accel}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3, help="boots on each side")
    ap.add_argument("--uploads", type=int, default=3, help="cold and warm uploads")
    ap.add_argument("--execs", type=int, default=20)
    args = ap.parse_args()
    progress.quiet = True
    work = Path(tempfile.mkdtemp(prefix="lamh-bench-remote-"))
    (work / "bench.yaml").write_text(CONFIG)
    cfg = config.load(work / "bench.yaml")
    paths = Paths(Path(os.environ.get("HARNESS_KERNELS", ROOT / "kernels")), work / "results")
    server = Sshd(work, "sshd").start()
    try:
        kernel = prebuilt.resolve(cfg, paths.kernels)
        initrd = work / "initramfs.cpio"
        common, total = initramfs.build_split(
            initramfs.ImageSpec(keys.generate(work / "keys"), "bench"), initrd)
        cold, warm = [], []
        for i in range(args.uploads):
            wd = work / f"upload-{i}"
            h = ssh_host(server, wd)  # connected, agent staged: not timed
            t = time.monotonic()
            h.stage(kernel.bzimage)
            h.stage(initrd, length=common, name="initramfs-common.cpio")
            cold.append(time.monotonic() - t)
            assert h.stats["uploads"] == 3, h.stats  # agent, kernel, initramfs
            h.close()
            h = ssh_host(server, wd)
            t = time.monotonic()
            h.stage(kernel.bzimage)
            h.stage(initrd, length=common, name="initramfs-common.cpio")
            warm.append(time.monotonic() - t)
            assert h.stats["uploads"] == 0 and h.stats["hits"] >= 2, h.stats
            h.close()
        remote = ssh_host(server, work / "remote-work")
        remote.stage(kernel.bzimage)  # boots measure a warm cache, as a nightly sees it
        sides: dict[str, list[dict[str, Any]]] = {"local": [], "remote": []}
        for r in range(args.runs):
            for side, host in (("local", LOCAL), ("remote", remote)):
                sides[side].append(one_boot(cfg, work / f"{side}-{r}", paths, host, args.execs))
        remote.close()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    out: dict[str, Any] = {
        "kernel_mb": round(kernel.bzimage.stat().st_size / 1e6, 2),
        "initramfs_common_mb": round(common / 1e6, 2),
        "initramfs_per_run_bytes": total - common,
        "upload_cold_s": stats(cold),
        "upload_warm_s": stats(warm),
        "upload_cold_mb_per_s": round((kernel.bzimage.stat().st_size + common) / 1e6
                                      / statistics.median(cold), 1),
        "accel": sides["local"][0]["accel"],
        "runs": args.runs,
    }
    for side, boots in sides.items():
        out[side] = {k: stats([b[k] for b in boots]) for k in (
            "boot_to_ssh_s", "qemu_start_to_ready_s", "qemu_start_to_ssh_s", "host_prepare_s")}
        out[side]["exec_ms"] = stats([x for b in boots for x in b["exec"]], 1000)
    out["remote_minus_local_s"] = {
        k: round(out["remote"][k]["median"] - out["local"][k]["median"], 3)
        for k in ("boot_to_ssh_s", "qemu_start_to_ssh_s")}
    out["note"] = ("remote = OpenSSH on 127.0.0.1 with its own config: the harness's costs "
                   "without network latency; boots alternate local/remote")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
