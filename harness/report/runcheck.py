"""A run.json read back from a results folder is untrusted input (a shard
from another runner, an artifact someone handed over): before ``report`` or
``merge`` use it, every field they read has the type they expect, and every
path in it stays inside the folder (no absolute path, no ``..``, no symlink
out).  A violation is one line naming the file (exit 2), never a traceback
nor a read outside the folder."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from ..model import OopsRef, SubResult, TestResult, Verdict
from ..results.schema import (
    JOB_EXTRA,
    SHARD_FIELDS,
    JobRecord,
    RunHeader,
    RunJsonError,
    field_types,
    version,
)

_STR, _INT, _NUM, _DICT, _LIST = str, int, (int, float), dict, list
_VERDICTS = frozenset(v.value for v in Verdict)

# The types come from the records of results/schema.py (what the writer has).
_TOP: dict[str, Any] = field_types(RunHeader)
_JOB: dict[str, Any] = {**field_types(JobRecord), **JOB_EXTRA}
_TEST: dict[str, Any] = field_types(TestResult)
_OOPS: dict[str, Any] = field_types(OopsRef)
_SUB: dict[str, Any] = field_types(SubResult)
_NOT_NULL = frozenset({"jobs", "tests", "verdict"})  # read as .get(k, default)
_PATHS_TEST = ("stdout", "stderr", "console")


def check(data: Any, f: Path) -> None:
    """Raise RunJsonError naming ``f`` unless ``data`` (the parsed ``f``) is
    well-typed and its paths stay inside ``f``'s folder."""
    root = f.parent

    def bad(what: str) -> RunJsonError:
        return RunJsonError(f"{f}: {what}")

    def fields(d: Any, schema: dict[str, Any], where: str) -> None:
        if not isinstance(d, dict):
            raise bad(f"{where}: expected an object, got {type(d).__name__}")
        for k, tp in schema.items():
            v = d.get(k)
            if v is None:
                if k in d and k in _NOT_NULL:
                    raise bad(f"{where}.{k}: expected {_name(tp)}, got null")
                continue
            if (tp is bool) != isinstance(v, bool) or not isinstance(v, tp):
                raise bad(f"{where}.{k}: expected {_name(tp)}, got {type(v).__name__}")
            if isinstance(v, float) and not math.isfinite(v):
                raise bad(f"{where}.{k}: not a finite number")

    def path(job: str, rel: Any, where: str) -> None:
        if not isinstance(rel, str):
            raise bad(f"{where}: expected a path, got {type(rel).__name__}")
        inside(root, job, rel, lambda why: bad(f"{where}: {rel!r} {why}"))

    if not isinstance(data, dict):
        raise bad("run: expected an object")
    version(data, f)  # another layout than ours: nothing below would mean the same
    fields(data, _TOP, "run")
    fields(data.get("shard") or {}, SHARD_FIELDS, "run.shard")
    _config(data.get("config"), "run.config", fields, bad)
    for i, job in enumerate(data.get("jobs") or []):
        w = f"jobs[{i}]"
        fields(job, _JOB, w)
        _config(job.get("config"), f"{w}.config", fields, bad)
        fields(job.get("lam") or {}, {"status": _STR, "source": _STR, "label": _STR},
               f"{w}.lam")
        fields(job.get("kernel") or {}, {"version": _STR, "origin": _STR}, f"{w}.kernel")
        timings = job.get("timings") or {}
        fields(timings, dict.fromkeys(timings, _NUM), f"{w}.timings")
        name = job.get("name")
        if not isinstance(name, str) or not safe_component(name):
            raise bad(f"{w}.name: {name!r} is not a plain folder name")
        for j, c in enumerate(job.get("consoles") or []):
            path(name, c, f"{w}.consoles[{j}]")
        for j, n in enumerate(job.get("notes") or []):
            if not isinstance(n, str):
                raise bad(f"{w}.notes[{j}]: expected a string")
        for j, o in enumerate(job.get("boot_oopses") or []):
            _oops(o, name, f"{w}.boot_oopses[{j}]", fields, path)
        for j, t in enumerate(job.get("tests") or []):
            tw = f"{w}.tests[{j}]"
            fields(t, _TEST, tw)
            if not isinstance(t.get("name"), str):
                raise bad(f"{tw}.name: expected a string")
            if t.get("verdict") is not None and t["verdict"] not in _VERDICTS:
                raise bad(f"{tw}.verdict: {t['verdict']!r} is not one of "
                          f"{', '.join(sorted(_VERDICTS))}")
            for key in _PATHS_TEST:
                if t.get(key):
                    path(name, t[key], f"{tw}.{key}")
            for k, o in enumerate(t.get("oopses") or []):
                _oops(o, name, f"{tw}.oopses[{k}]", fields, path)
            for k, s in enumerate(t.get("subtests") or []):
                fields(s, _SUB, f"{tw}.subtests[{k}]")
                if s.get("verdict") is not None and s["verdict"] not in _VERDICTS:
                    raise bad(f"{tw}.subtests[{k}].verdict: {s['verdict']!r} is not a verdict")


def _config(c: Any, where: str, fields: Any, bad: Any) -> None:
    if c is None:
        return
    fields(c, {"name": _STR, "tests": _LIST, "kernel": _DICT, "machine": _DICT}, where)
    k = c.get("kernel") or {}
    fields(k, {"source": _DICT, "config": _DICT, "patches": _LIST, "image": _STR,
               "debian": _STR}, f"{where}.kernel")
    fields(k.get("source") or {}, {"git": _STR, "tarball": _STR, "debian": _STR, "ref": _STR},
           f"{where}.kernel.source")
    fields(k.get("config") or {}, {"base": _STR, "fragments": _LIST}, f"{where}.kernel.config")
    for key, items in (("patches", k.get("patches")),
                       ("config.fragments", (k.get("config") or {}).get("fragments"))):
        for i, x in enumerate(items or []):
            if not isinstance(x, str):
                raise bad(f"{where}.kernel.{key}[{i}]: expected a string")
    for i, t in enumerate(c.get("tests") or []):
        fields(t, {"name": _STR}, f"{where}.tests[{i}]")


def _oops(o: Any, job: str, where: str, fields: Any, path: Any) -> None:
    fields(o, _OOPS, where)
    for k in ("file", "console"):
        if o.get(k):
            path(job, o[k], f"{where}.{k}")


def _name(tp: Any) -> str:
    return {str: "a string", int: "an integer", dict: "an object", list: "a list",
            bool: "a boolean"}.get(tp, "a number")


def safe_component(name: str) -> bool:
    """One plain path component: no separator, not ``.``/``..``, no control
    characters (a job name becomes a folder)."""
    return (bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name
            and all(c.isprintable() for c in name))


def inside(root: Path, job: str, rel: str, bad: Any) -> None:
    """``rel`` (relative to ``root/job``) names something inside ``root``:
    relative, no ``..`` out, and once symlinks are resolved still inside."""
    if not rel or "\0" in rel:
        raise bad("is not a path")
    if os.path.isabs(rel):
        raise bad("is absolute; paths in run.json are relative to the run folder")
    norm = os.path.normpath(os.path.join(job, rel))
    if norm == ".." or norm.startswith("../"):
        raise bad("leads out of the run folder")
    real_root = root.resolve()
    target = (root / norm).resolve()
    if not target.is_relative_to(real_root):
        raise bad("is a symlink out of the run folder")
