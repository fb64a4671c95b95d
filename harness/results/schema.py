"""The run.json schema, in one place: what ``results/store.py`` writes and
what every reader (``report/``, ``merge``, ``bisect``, ``validate``, the CLI
summary) takes back.

The records are the writer's own dataclasses: :class:`JobRecord` (one
``jobs[]`` entry) and ``model.TestResult`` / ``model.OopsRef`` /
``model.SubResult`` (``tests[]``, ``oopses[]`` and ``boot_oopses[]``,
``subtests[]``); :class:`RunHeader` declares the top level.  Readers get the
records back with :func:`job_from_json`, :func:`result_from_json` and
:func:`oops_from_json`; the types ``report/runcheck.py`` enforces on an
untrusted run.json are :func:`field_types` of these same classes, plus the
few fields a pool or a merge adds (``*_EXTRA``).

``schema`` is the version of that layout.  This harness writes
:data:`SCHEMA` and reads the versions in :data:`READABLE`; a run.json
without ``schema`` counts as version 1 (the layout has not changed since the
first one, which wrote it too).  Any other value is refused with one line
naming the file (:class:`RunJsonError`, exit 2).  The version goes up when a
field changes meaning or type, or a reader comes to need a field older files
lack; a field added that readers may do without keeps it."""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..model import OopsRef, SubResult, TestResult, Verdict

SCHEMA = 1  # the version this harness writes
READABLE = frozenset({1})  # the versions it reads


class RunJsonError(UserError):
    """run.json is not one ``report``/``merge`` can trust (exit 2)."""


def version(data: Mapping[str, Any], f: Path) -> int:
    """The schema version of ``data`` (the parsed ``f``): 1 when absent (a
    file of an earlier harness), else it must be one this harness reads."""
    if "schema" not in data:
        return 1
    v = data["schema"]
    if isinstance(v, bool) or not isinstance(v, int):
        raise RunJsonError(f"{f}: run.schema: expected an integer, got {type(v).__name__}")
    if v not in READABLE:
        newer = "a newer" if v > max(READABLE) else "another"
        raise RunJsonError(
            f"{f}: run.json schema {v} is not one this lam-harness reads (it reads "
            f"{', '.join(map(str, sorted(READABLE)))}): written by {newer} lam-harness; "
            "read it with that one")
    return v


def lam_label(lam: Mapping[str, Any]) -> str:
    """One line for the LAM a guest (or a job) had: ``available (hardware)``,
    ``available (emulated (TCG))``, ``absent``, ``off``, or a pool's
    ``mixed: ...``.  An available LAM without a recorded source is never
    taken for hardware."""
    if lam.get("label"):
        return str(lam["label"])
    status = str(lam.get("status") or "unknown")
    if status == "available":
        return f"available ({lam.get('source') or 'source unknown'})"
    return status


@dataclass
class RunHeader:
    """run.json's top level (besides ``jobs``), as far as readers rely on it.
    Writers may add keys (``validate``, ``commit``, ``runners``...)."""

    schema: int = SCHEMA
    run_id: str = ""
    status: str = ""  # running | passed | failed | error | interrupted
    started: str = ""
    finished: str = ""
    error: str = ""
    exit_code: int | None = None
    elapsed_s: float = 0.0
    config_file: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    reproducer: str = ""
    host: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    shard: dict[str, Any] = field(default_factory=dict)  # run --shard K/N
    merged_from: list[Any] = field(default_factory=list)  # merge
    merge_problems: list[Any] = field(default_factory=list)
    merge_missing: list[Any] = field(default_factory=list)
    oops_titles: list[Any] = field(default_factory=list)
    jobs: list[Any] = field(default_factory=list)


@dataclass
class JobRecord:
    """One ``jobs[]`` entry (its ``tests`` are ``results``)."""

    name: str
    status: str = "pending"  # pending | booting | running | passed | failed | error | interrupted
    error: str | None = None
    qemu_pid: int | None = None
    accel: dict[str, Any] = field(default_factory=dict)
    lam: dict[str, Any] = field(default_factory=dict)
    kernel: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    boot_oopses: list[dict[str, Any]] = field(default_factory=list)
    results: list[TestResult] = field(default_factory=list)

    def result_lam(self, r: TestResult) -> str:
        """The LAM label of the guest that ran ``r`` (its own, in a pool)."""
        return r.lam or (lam_label(self.lam) if self.lam else "")

    def to_json(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "results"}
        d["tests"] = [{**r.to_json(), "lam": self.result_lam(r)} for r in self.results]
        return d


# Fields a pool (hosts/pool.py) or a merge (report/merge.py) adds.
JOB_EXTRA: dict[str, Any] = {"consoles": list, "shards": list, "parts": list, "config": dict}
SHARD_FIELDS: dict[str, Any] = {"index": int, "count": int, "digest": str, "tests": list,
                                "all_tests": list}


def _plain(tp: Any) -> Any:
    """The JSON type of a field's type hint: ``X | None`` is ``X``, an enum
    of strings is ``str``, ``list[...]`` is ``list``, a float any number."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _plain(args[0]) if len(args) == 1 else object
    if origin is not None:
        return origin
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return str
    if tp is float:
        return (int, float)
    return tp


@cache
def field_types(cls: type) -> dict[str, Any]:
    """A record's JSON fields and their types (``JobRecord.results`` is
    written as ``tests``)."""
    hints = typing.get_type_hints(cls)
    out = {f.name: _plain(hints[f.name]) for f in dataclasses.fields(cls)}
    if cls is JobRecord:
        out["tests"] = out.pop("results")
    return out


def _str(d: Mapping[str, Any], k: str) -> str:
    v = d.get(k)
    return "" if v is None else str(v)


def oops_from_json(o: Mapping[str, Any]) -> OopsRef:
    """A ``tests[].oopses[]`` or ``boot_oopses[]`` entry."""
    return OopsRef(_str(o, "title"), _str(o, "kind"), _str(o, "file"),
                   int(o.get("first_line") or 0), int(o.get("last_line") or 0),
                   bool(o.get("corrupted")), o.get("guilty_frame") or None,
                   bool(o.get("symbolized")), _str(o, "console"))


def result_from_json(t: Mapping[str, Any]) -> TestResult:
    """A ``tests[]`` entry (a missing verdict is an error, as the writer
    never leaves one out; a missing ``test`` is the name without ``#N``)."""
    name = _str(t, "name")
    return TestResult(
        name, _str(t, "test") or re.sub(r"#\d+$", "", name), int(t.get("iteration") or 1),
        Verdict(t.get("verdict") or "error"), _str(t, "reason"), t.get("exit_status"),
        float(t.get("duration") or 0.0), _str(t, "stdout"), _str(t, "stderr"),
        [oops_from_json(o) for o in t.get("oopses") or []],
        [SubResult(_str(s, "name"), Verdict(s.get("verdict") or "error"), _str(s, "reason"))
         for s in t.get("subtests") or []],
        list(t.get("notes") or []), lam=_str(t, "lam"), console=_str(t, "console"))


def job_from_json(j: Mapping[str, Any]) -> JobRecord:
    """A ``jobs[]`` entry back as the record the writer had."""
    rec = JobRecord(_str(j, "name"), _str(j, "status"), j.get("error") or None,
                    j.get("qemu_pid"), dict(j.get("accel") or {}), dict(j.get("lam") or {}),
                    dict(j.get("kernel") or {}), dict(j.get("timings") or {}),
                    list(j.get("notes") or []), list(j.get("boot_oopses") or []))
    rec.results = [result_from_json(t) for t in j.get("tests") or []]
    return rec


def header_from_json(data: Mapping[str, Any]) -> RunHeader:
    """run.json's top level as a :class:`RunHeader` (fields already checked)."""
    kw = {k: data[k] for k in field_types(RunHeader) if data.get(k) is not None}
    kw.setdefault("schema", 1)
    return RunHeader(**kw)
