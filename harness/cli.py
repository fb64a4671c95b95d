"""``lam-harness``: the command line.  Wires arguments to the stages and turns
errors into one line on stderr and a distinct exit code (see errors.py)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from . import __version__, cli_ab, config, hosts, progress
from .dirs import kernels_dir, results_dir
from .errors import (
    EXIT_INFRA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    HarnessError,
    describe_exception,
    save_traceback,
)
from .pipeline import Interrupted, Paths, boot, run
from .report import nightly
from .report.compare import FAIL_ON
from .report.shard import parse_shard
from .results.store import RunStore
from .vm import hostinfo, qemu


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(f"signal {signum}")


def cmd_run(args: argparse.Namespace) -> int:
    cfg = config.load(args.config)
    paths = Paths(kernels_dir(), results_dir(args.results))
    code, root = nightly.run(cfg, paths, args, run, ["lam-harness", *sys.argv[1:]])
    _print_summary(root)
    return nightly.after_run(root, code, args)


def _print_summary(root: Path) -> None:
    from .report.runs import read_run_json
    from .results.schema import job_from_json, lam_label
    from .textsafe import oneline

    for job in map(job_from_json, read_run_json(root)["jobs"]):
        name = oneline(job.name)
        if job.lam.get("status") == "available":
            src = lam_label(job.lam).removeprefix("available (").removesuffix(")")
            print(f"{name}: LAM available, {oneline(src)}")
        if job.error:
            print(f"{name}: ERROR {oneline(job.error)}")
        for t in job.results:
            reason = f"  ({oneline(t.reason)})" if t.reason else ""
            print(f"{name}/{oneline(t.name)}: {t.verdict.value.upper()}{reason}")
    print(f"results: {root}  (junit.xml, run.json, <job>/console.log)")


def cmd_report(args: argparse.Namespace) -> int:
    """Compare a run folder with a baseline / history / known issues; write the report."""
    from .report.write import Inputs, report

    cmp, code = report(Path(args.run_dir), Inputs.load(args.baseline, args.history, args.known,
                                                       args.window), args.fail_on)
    print((cmp.run.dir / "summary.txt").read_text(), end="")
    if args.html:
        print(f"html: {cmp.run.dir / 'summary.html'}")
    return code


def cmd_merge(args: argparse.Namespace) -> int:
    """Join shard run folders into one run folder, with its report."""
    from .report.merge import merge
    from .report.runs import read_run_json
    from .report.write import Inputs, report

    out = merge([Path(d) for d in args.dirs], Path(args.out))
    report(out, Inputs())
    data = read_run_json(out)
    for p in data.get("merge_problems", []):
        print(f"lam-harness: merge: warning: {p}", file=sys.stderr)
    print(f"merged {len(data['merged_from'])} run(s) into {out}: {data['status']} "
          f"(exit_code {data['exit_code']}); summary.html, summary.txt, junit.xml, kcidb.json")
    return EXIT_OK


def _compare_options(p: argparse.ArgumentParser, fail_on_default: str | None) -> None:
    p.add_argument("--baseline", metavar="DIR", help="run folder to compare with (e.g. last "
                                                       "night's): new / fixed / still failing")
    p.add_argument("--history", metavar="DIR", help="folder of past run folders: the window "
                                                      "for flaky tests, 'last passed', shard "
                                                      "durations")
    p.add_argument("--known", metavar="FILE", help="known-issues YAML: matching failures "
                                                     "become XFAIL")
    p.add_argument("--fail-on", choices=FAIL_ON, default=fail_on_default,
                   help="exit 1 on: new failures only, any failure not known, or never "
                        f"(default: {fail_on_default or 'the run exit code; any with --known'})")


def cmd_boot(args: argparse.Namespace) -> int:
    cfg = config.load(args.config)
    paths = Paths(kernels_dir(), results_dir())
    runners = hosts.runners(cfg)
    try:
        return _boot(cfg, paths, runners[0].host, args)
    finally:
        hosts.close(runners)


def _boot(cfg: config.Config, paths: Paths, host: hosts.Host, args: argparse.Namespace) -> int:
    facts = host.facts(cfg.machine.qemu)
    store = RunStore.create(paths.results, f"boot-{cfg.name}", {"config_file": str(cfg.path)})
    rec = store.job(cfg.name)
    with boot(cfg, store.job_dir(cfg.name), paths, facts, rec, shell=args.cmd is None,
              save=store.save, host=host) as b:
        if args.cmd is not None:
            out, err = sys.stdout.buffer, sys.stderr.buffer
            o = b.guest.run(args.cmd, out, err, args.timeout, b.machine.alive)
            out.flush()
            if o.status is None:
                print(f"lam-harness: command did not finish: "
                      f"{'timed out' if o.timed_out else o.lost}", file=sys.stderr)
                return 3
            return o.status
        assert b.machine.console is not None
        where = "" if host.local else f" on {host.label}"
        print(f"lam-harness: console of {cfg.name} (ssh: 127.0.0.1:{b.guest.port}{where}, key "
              f"{b.keys.client_key}); Ctrl-] to quit", file=sys.stderr)
        b.machine.console.interact()
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    from .kernel.build import build

    cfg = config.load(args.config)
    if cfg.kernel.source is None:
        raise config.ConfigError("lam-harness build needs kernel.source (this config's kernel "
                                 "is prebuilt)", where=cfg.where("kernel"))
    b = build(cfg, kernels_dir(), jobs=args.jobs)
    print(f"{'cache hit (no make ran)' if b.hit else 'built'}: {b.describe()}")
    print(f"key        {b.key}")
    for name, path in (("bzImage", b.bzimage), ("vmlinux", b.vmlinux),
                       ("System.map", b.system_map), (".config", b.config),
                       ("modules", b.modules_dir), ("selftests", b.selftests_dir),
                       ("build.log", b.dir / "build.log"), ("build.json", b.dir / "build.json")):
        if path is not None:
            print(f"{name:<10} {path}")
    return EXIT_OK


def cmd_oops(args: argparse.Namespace) -> int:
    """Oops reports in console logs: one JSON object per log per line, or text
    (per report: where, kind, title, guilty frame).  With --vmlinux, each
    report's text is symbolized (file:line, inlined frames) and the guilty
    frame's file:line is given ("guilty_location" in JSON)."""
    from .errors import UserError
    from .parse.oops import scan_bytes
    from .parse.symbolize import Symbolizer, frame_location

    sym = None
    if args.vmlinux is not None:
        if not Path(args.vmlinux).is_file():
            raise UserError(f"--vmlinux {args.vmlinux}: no such file")
        sym = Symbolizer(args.vmlinux)
    found = False
    notes: dict[str, None] = {}
    for name in args.logs:
        try:
            data = Path(name).read_bytes()
        except OSError as e:
            raise UserError(f"cannot read {name}: {e.strerror}") from None
        reports = scan_bytes(data)
        found = found or bool(reports)
        out = []
        for r in reports:
            d = r.to_dict()
            if sym is not None:
                s = sym.symbolize(r.text)
                d["text"], d["symbolized"] = s.text, s.resolved > 0
                d["guilty_location"] = (frame_location(s.text, r.guilty_frame)
                                        if r.guilty_frame else None)
                notes.update(dict.fromkeys(f"{name}:{r.first_line}: {n}" for n in s.notes))
            out.append(d)
        if args.json:
            print(json.dumps({"file": name, "reports": out}))
            continue
        for d in out:
            where = f"{name}:{d['first_line']}-{d['last_line']}"
            extra = f" [guilty: {d['guilty_frame']}]" if d["guilty_frame"] else ""
            print(f"{where}: {d['kind']}: {d['title']}{extra}"
                  f"{' (corrupted)' if d['corrupted'] else ''}")
            if sym is not None:
                if d["guilty_frame"]:
                    print(f"  guilty frame: {d['guilty_frame']} "
                          f"({d['guilty_location'] or 'no location'})")
                print(d["text"])
    for note in notes:
        print(f"lam-harness: note: {note}", file=sys.stderr)
    return 1 if found else EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    if args.host:
        from .hosts.doctor import remote_doctor

        return remote_doctor(args)
    f = hostinfo.probe(args.qemu)
    auto = qemu.choose_accel("auto", f.kvm)
    lam_reasons = qemu.choose_lam("auto", auto, f)
    info = {
        "host_kernel": f.kernel,
        "cpu": f.cpu_model,
        "cpu_vendor": f.cpu_vendor,
        "hypervisor": f.hypervisor,
        "cpu_lam": f.cpu_lam,
        "kvm": {"dev": f.kvm.dev_present, "usable": f.kvm.dev_usable, "modules": f.kvm.modules,
                "real": f.kvm.real},
        "accel_auto": {"accel": auto.accel, "reason": auto.reason},
        "qemu": {"binary": f.qemu.binary, "found": f.qemu.found, "version": f.qemu.version,
                 "knows_lam": f.qemu.knows_lam, "tcg_lam": f.qemu.tcg_lam},
        "lam": {"status": lam_reasons.status, "reasons": list(lam_reasons.reasons)},
        "tools": f.tools,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    yes = {True: "yes", False: "no", None: "unknown"}
    print(f"host kernel     {f.kernel}")
    print(f"cpu             {f.cpu_model} ({f.cpu_vendor or 'vendor unknown'}"
          f"{', under ' + f.hypervisor if f.hypervisor else ''}); "
          f"LAM (CPUID.7.1:EAX[26]): {yes[f.cpu_lam]}")
    print(f"/dev/kvm        {'present' if f.kvm.dev_present else 'absent'}"
          f"{', usable' if f.kvm.dev_usable else ''}; modules: {', '.join(f.kvm.modules) or '-'}")
    print(f"accel auto      {auto.accel}: {auto.reason}")
    print(f"qemu            {f.qemu.binary} {f.qemu.version or '(not found)'}; "
          f"knows 'lam': {yes[f.qemu.knows_lam]}; TCG emulates LAM: {yes[f.qemu.tcg_lam]}")
    print(f"lam             {lam_reasons.status}: {'; '.join(lam_reasons.reasons)}")
    missing = [t for t, p in f.tools.items() if p is None]
    print(f"tools           found: {', '.join(t for t, p in f.tools.items() if p)}")
    print(f"                missing: {', '.join(missing) or '-'}")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lam-harness", description=__doc__)
    p.add_argument("--version", action="version", version=f"lam-harness {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="boot the config's kernel and run its tests")
    r.add_argument("config")
    r.add_argument("--results", help="results folder (default: results/)")
    r.add_argument("--only", action="append", metavar="TEST", help="run only this test")
    r.add_argument("--shard", type=parse_shard, metavar="K/N",
                   help="run shard K of N (a balanced, deterministic slice of the tests)")
    _compare_options(r, None)
    r.set_defaults(func=cmd_run)
    rp = sub.add_parser("report", help="compare a run with a baseline, history and known "
                                       "issues; write compare.json, kcidb.json, summary.*")
    rp.add_argument("run_dir", metavar="RUN_DIR")
    _compare_options(rp, "any")
    rp.add_argument("--window", type=int, default=10, metavar="N",
                    help="newest N runs of --history (default 10)")
    rp.add_argument("--html", action="store_true", help="print the path of summary.html")
    rp.set_defaults(func=cmd_report)
    mg = sub.add_parser("merge", help="join shard run folders into one run")
    mg.add_argument("dirs", nargs="+", metavar="DIR",
                    help="shard run folders (or --results folders holding them)")
    mg.add_argument("--out", required=True, metavar="DIR", help="the merged run folder")
    mg.set_defaults(func=cmd_merge)
    b = sub.add_parser("boot", help="boot and attach to the serial console, or run one command")
    b.add_argument("config")
    b.add_argument("--cmd", help="run this shell command over SSH, print its output, exit "
                                 "with its status")
    b.add_argument("--shell", action="store_true", help="interactive console (the default)")
    b.add_argument("--timeout", type=float, default=600.0)
    b.set_defaults(func=cmd_boot)
    bl = sub.add_parser("build", help="build the config's kernel from source (cached); print "
                                      "the artifact paths")
    bl.add_argument("config")
    bl.add_argument("-j", "--jobs", type=int, help="make -j (default: number of cores)")
    bl.set_defaults(func=cmd_build)
    o = sub.add_parser("oops", help="find kernel oops reports in console logs")
    o.add_argument("logs", nargs="+", metavar="LOG")
    o.add_argument("--json", action="store_true", help="one JSON object per LOG per line")
    o.add_argument("--vmlinux", metavar="F",
                   help="symbolize the reports with this vmlinux (addr2line: file:line, "
                        "inlined frames)")
    o.set_defaults(func=cmd_oops)
    d = sub.add_parser("doctor", help="what this host can do: KVM, LAM, QEMU, tools")
    d.add_argument("--qemu", default="system")
    d.add_argument("--json", action="store_true")
    d.add_argument("--host", metavar="USER@HOST", help="a remote runner, over SSH")
    d.add_argument("--port", type=int, default=22, help="with --host: SSH port")
    d.add_argument("--key", metavar="FILE", help="with --host: private key file")
    d.add_argument("--known-hosts", metavar="FILE", help="with --host: known_hosts "
                                                          "(default ~/.ssh/known_hosts)")
    d.add_argument("--accept-new-host-key", action="store_true",
                   help="with --host: record an unknown host key on first use")
    d.add_argument("--workdir", default=".cache/lam-harness",
                   help="with --host: the remote workdir (free disk is measured there)")
    d.set_defaults(func=cmd_doctor)
    cli_ab.add_commands(sub)  # validate, bisect, bisect-step
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    progress.quiet = args.quiet
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    try:
        code: int = args.func(args)
        return code
    except HarnessError as e:
        print(f"lam-harness: error: {e}", file=sys.stderr)
        return e.exit_code
    except (KeyboardInterrupt, Interrupted):
        print("lam-harness: interrupted; QEMU stopped, results kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug: one line, the traceback in a file, exit 3 (infra)
        import tempfile

        fd, name = tempfile.mkstemp(prefix="lam-harness-traceback-", suffix=".txt")
        os.close(fd)
        tb = save_traceback(e, Path(name))
        print(f"lam-harness: internal error (a bug in lam-harness): {describe_exception(e)}"
              + (f"; traceback in {tb}" if tb else ""), file=sys.stderr)
        return EXIT_INFRA


if __name__ == "__main__":
    sys.exit(main())

