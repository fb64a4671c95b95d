"""A stand-in for qemu-system-x86_64 that the real QemuMachine spawns (through
LocalHost) in unit tests: it reads the chardev socket paths and ``-cpu`` from
its argv, serves the serial console (``server=on,wait=on``: nothing is
written until the harness connects) and a QMP socket, and does what the JSON
in ``$FAKEQEMU`` says:

- ``console``: a file whose bytes go to the serial console (recorded logs);
- ``stderr``: text for QEMU's stderr (qemu.log), e.g. a KVM internal error;
- ``exit``: exit status once the console was written (absent: run until killed);
- ``status``: what QMP ``query-status`` answers (default ``running``);
- ``fail_unless_cpu``: exit 1 with ``fail_stderr`` unless ``-cpu`` contains it;
- ``fail_once``: a flag file: the first start (no file yet) exits 1 with
  ``fail_stderr`` and makes it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _opts(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def _qmp(path: str, status: str) -> None:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=_qmp_client, args=(conn, status), daemon=True).start()


def _qmp_client(conn: socket.socket, status: str) -> None:
    f = conn.makefile("rwb")
    f.write(b'{"QMP": {"version": {}, "capabilities": []}}\n')
    f.flush()
    for line in f:
        cmd = json.loads(line).get("execute")
        ret: Any = {"status": status, "running": status == "running"} \
            if cmd == "query-status" else {}
        f.write(json.dumps({"return": ret}).encode() + b"\n")
        f.flush()


def main() -> int:
    args = sys.argv[1:]
    mode: dict[str, Any] = json.loads(os.environ.get("FAKEQEMU", "{}"))
    socks = {}
    for c in _opts(args, "-chardev"):
        kv = dict(p.split("=", 1) for p in c.split(",")[1:] if "=" in p)
        socks[kv["id"]] = kv["path"]
    cpu = _opts(args, "-cpu")[0]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(socks["con0"])
    srv.listen(1)
    # wait=on: QEMU sets up the machine (and fails there) once the harness is attached
    conn, _ = srv.accept()
    need = mode.get("fail_unless_cpu")
    flag = mode.get("fail_once")
    if (need and need not in cpu) or (flag and not Path(flag).exists()):
        if flag:
            Path(flag).touch()
        sys.stderr.write(mode.get("fail_stderr", "") + "\n")
        return 1
    sys.stderr.write(mode.get("stderr", ""))
    sys.stderr.flush()
    threading.Thread(target=_qmp, args=(socks["qmp0"], mode.get("status", "running")),
                     daemon=True).start()
    if mode.get("console"):
        conn.sendall(Path(mode["console"]).read_bytes())
    if "exit" in mode:
        conn.close()
        return int(mode["exit"])
    while conn.recv(4096):  # the harness may type on the console
        pass
    time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
