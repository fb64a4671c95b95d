"""``lam-harness doctor --host user@host``: the LAM capability chain read on a
remote runner (CPU LAM bit, real KVM, host kernel, QEMU and ``lam``), plus
what the harness needs there: free disk in the workdir, tools, SSH forwarding."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK, UserError
from ..vm import qemu
from .ssh import SSHHost
from .ssh_conn import fingerprint


def remote_doctor(args: argparse.Namespace) -> int:
    try:
        h = SSHHost(args.host, port=args.port, key=Path(args.key).expanduser() if args.key
                    else None,
                    known_hosts=Path(args.known_hosts).expanduser() if args.known_hosts
                    else None, workdir=args.workdir,
                    accept_new_host_key=args.accept_new_host_key)
    except ValueError as e:
        raise UserError(f"--host: {e}") from None
    if args.key and not Path(args.key).expanduser().is_file():
        raise UserError(f"--key {args.key}: no such file")
    h.connect()
    try:
        info = _info(h, args.qemu)
    finally:
        h.close()
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    _print(info)
    return EXIT_OK


def _info(h: SSHHost, qemu_setting: str) -> dict[str, Any]:
    f = h.facts(qemu_setting)
    raw = h._facts or {}
    auto = qemu.choose_accel("auto", f.kvm)
    lam = qemu.choose_lam("auto", auto, f)
    t = h._transport()
    return {
        "host": h.label,
        "ssh": {"server": h.server_version,
                "host_key": fingerprint(t.get_remote_server_key()),
                "tcp_forwarding": h.forwarding()},
        "host_kernel": f.kernel,
        "cpu": f.cpu_model,
        "cpu_vendor": f.cpu_vendor,
        "hypervisor": f.hypervisor,
        "cpu_lam": f.cpu_lam,
        "cpu_lam_cpuid": raw.get("cpu_lam"),
        "cpu_lam_cpuinfo_flag": raw.get("cpu_flags_lam"),
        "kvm": {"dev": f.kvm.dev_present, "usable": f.kvm.dev_usable, "modules": f.kvm.modules,
                "real": f.kvm.real},
        "accel_auto": {"accel": auto.accel, "reason": auto.reason},
        "qemu": {"binary": f.qemu.binary, "found": f.qemu.found, "version": f.qemu.version,
                 "knows_lam": f.qemu.knows_lam, "tcg_lam": f.qemu.tcg_lam},
        "lam": {"status": lam.status, "reasons": list(lam.reasons)},
        "workdir": raw.get("workdir"),
        "disk_free_bytes": raw.get("disk_free_bytes"),
        "python": raw.get("python"),
        "tools": f.tools,
    }


def _print(i: dict[str, Any]) -> None:
    yes = {True: "yes", False: "no", None: "unknown"}
    free = i["disk_free_bytes"]
    print(f"host            {i['host']} ({i['ssh']['server']})")
    print(f"host key        {i['ssh']['host_key']}")
    print(f"tcp forwarding  {i['ssh']['tcp_forwarding']}")
    print(f"host kernel     {i['host_kernel']}")
    under = f", under {i['hypervisor']}" if i["hypervisor"] else ""
    print(f"cpu             {i['cpu']} ({i['cpu_vendor'] or 'vendor unknown'}{under}); "
          f"LAM: {yes[i['cpu_lam']]} (CPUID.7.1:EAX[26]: "
          f"{yes[i['cpu_lam_cpuid']]}, /proc/cpuinfo flag: {yes[i['cpu_lam_cpuinfo_flag']]})")
    k = i["kvm"]
    print(f"/dev/kvm        {'present' if k['dev'] else 'absent'}"
          f"{', usable' if k['usable'] else ''}; modules: {', '.join(k['modules']) or '-'}")
    print(f"accel auto      {i['accel_auto']['accel']}: {i['accel_auto']['reason']}")
    q = i["qemu"]
    print(f"qemu            {q['binary']} {q['version'] or '(not found)'}; "
          f"knows 'lam': {yes[q['knows_lam']]}; TCG emulates LAM: {yes[q['tcg_lam']]}")
    print(f"lam             {i['lam']['status']}: {'; '.join(i['lam']['reasons'])}")
    print(f"workdir         {i['workdir']}: "
          f"{'unknown' if free is None else f'{free / 1e9:.1f} GB'} free")
    tools = i["tools"]
    missing = [t for t, p in tools.items() if p is None]
    print(f"tools           python {i['python']}; found: "
          f"{', '.join(t for t, p in tools.items() if p)}")
    print(f"                missing: {', '.join(missing) or '-'}")
