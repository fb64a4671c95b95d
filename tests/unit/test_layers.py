"""The harness's modules import one way: no import circle, and no module
imports a layer above its own.  The layers and the rule are in
docs/architecture.md ("Layers"); LAYERS below is the same table as data.

Every ``import`` / ``from`` statement of harness/**/*.py counts, wherever it
stands: at the top, inside a function (a lazy import hides a circle from
Python, not from the design) or under ``if TYPE_CHECKING``; for circles,
so does the package ``__init__`` that an import runs first."""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "harness"
DOC = ROOT / "docs" / "architecture.md"

# Bottom first.  A module belongs to the layer of the longest prefix that
# names it (``harness.vm.hostinfo`` before ``harness.vm``), and may import
# its own layer and the layers below it, never one above.
LAYERS: list[tuple[str, list[str]]] = [
    ("ground", ["harness", "harness.model", "harness.errors", "harness.bounded",
                "harness.textsafe", "harness.procs", "harness.stats", "harness.progress",
                "harness.dirs"]),
    ("parse", ["harness.parse"]),
    ("config", ["harness.config", "harness.plan"]),
    ("stages", ["harness.guest", "harness.kernel", "harness.results"]),
    ("host", ["harness.hosts", "harness.vm.hostinfo"]),
    ("machine", ["harness.vm", "harness.exec", "harness.hosts.doctor"]),
    ("scheduler", ["harness.hosts.pool"]),
    ("pipeline", ["harness.pipeline"]),
    ("features", ["harness.report", "harness.bisect", "harness.validate"]),
    ("commands", ["harness.cli_ab"]),
    ("entry", ["harness.cli", "harness.__main__"]),
]
# Layers that must stay pure: they may import nothing of the harness but
# the ground layer (and themselves).
PURE = {"parse": {"ground", "parse"}}


@dataclass(frozen=True)
class Import:
    src: str
    dst: str
    line: int


def _modules() -> dict[str, tuple[Path, bool]]:
    out: dict[str, tuple[Path, bool]] = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts.pop()
        out[".".join(parts)] = (p, is_pkg)
    return out


def _imports(mods: dict[str, tuple[Path, bool]]) -> list[Import]:
    """Every import of a harness module by a harness module.  ``from X
    import Y`` counts as an import of ``X.Y`` when that is a module, else of
    ``X``; relative imports are resolved against the importing module."""
    out: list[Import] = []
    for name, (path, is_pkg) in mods.items():
        here = name if is_pkg else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")
                    base = base[:len(base) - node.level + 1]
                    assert base, f"{path}:{node.lineno}: relative import above the package"
                    frm = ".".join(base + ([node.module] if node.module else []))
                else:
                    frm = node.module or ""
                for a in node.names:
                    sub = f"{frm}.{a.name}"
                    targets.append(sub if sub in mods else frm)
            for t in targets:
                # ``import harness.vm.qemu`` binds ``harness`` but loads
                # harness.vm.qemu: the longest known module is the one meant.
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    out.append(Import(name, t, node.lineno))
    return out


def _cycles(mods: list[str], imports: list[Import]) -> list[list[str]]:
    """One circle (a path that returns to its start) per strongly connected
    component of more than one module (Tarjan)."""
    graph: dict[str, list[str]] = {m: [] for m in mods}
    for i in imports:
        graph[i.src].append(i.dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: set[str] = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for m in sorted(graph):
        if m not in index:
            visit(m)

    def circle(comp: set[str]) -> list[str]:
        start = min(comp)
        # shortest way back to start inside the component (BFS)
        prev: dict[str, str] = {}
        todo = [start]
        while todo:
            nxt: list[str] = []
            for v in todo:
                for w in sorted(graph[v]):
                    if w not in comp:
                        continue
                    if w == start:
                        path = [v]
                        while path[-1] != start:
                            path.append(prev[path[-1]])
                        return [start, *reversed(path[:-1]), start]
                    if w not in prev:
                        prev[w] = v
                        nxt.append(w)
            todo = nxt
        raise AssertionError(f"no circle in {comp}")

    return [circle(c) for c in comps]


def layer_of(module: str) -> str | None:
    best: tuple[int, str] | None = None
    for layer, prefixes in LAYERS:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > best[0]):
                best = (len(p), layer)
    return best[1] if best else None


def _violations(imports: list[Import]) -> list[str]:
    rank = {name: i for i, (name, _) in enumerate(LAYERS)}
    out: list[str] = []
    for i in imports:
        a, b = layer_of(i.src), layer_of(i.dst)
        assert a is not None and b is not None
        if rank[b] > rank[a] or (a in PURE and b not in PURE[a]):
            out.append(f"{i.src} (layer {a}) imports {i.dst} (layer {b}), line {i.line}")
    return out


def _with_parents(imports: list[Import]) -> list[Import]:
    """Importing ``harness.a.b`` runs ``harness/a/__init__.py`` first: those
    edges too (but a module's own packages, which Python has already begun,
    do not count).  Used for circles, not layers: an empty ``__init__`` is
    no dependency of the design."""
    out = list(imports)
    for i in imports:
        parts = i.dst.split(".")
        for k in range(1, len(parts)):
            pkg = ".".join(parts[:k])
            if not (i.src == pkg or i.src.startswith(pkg + ".")):
                out.append(Import(i.src, pkg, i.line))
    return out


MODS = _modules()
IMPORTS = _imports(MODS)


def test_the_walk_sees_the_imports() -> None:
    """The graph is read right: a few imports known to exist are found (if
    the walk found nothing, the tests below would pass for nothing)."""
    pairs = {(i.src, i.dst) for i in IMPORTS}
    assert ("harness.pipeline", "harness.exec") in pairs  # from .exec import ...
    assert ("harness.hosts.local", "harness.vm.hostinfo") in pairs  # from ..vm import hostinfo
    assert ("harness.vm.machine", "harness.hosts.local") in pairs  # from ..hosts.local import ...
    assert ("harness.__main__", "harness.cli") in pairs
    # hosts/ssh.py joins its three parts; the parts stand on the connection
    for part in ("ssh_files", "ssh_qemu"):
        assert ("harness.hosts.ssh", f"harness.hosts.{part}") in pairs
    assert ("harness.hosts.ssh_files", "harness.hosts.ssh_conn") in pairs
    assert ("harness.hosts.ssh_qemu", "harness.hosts.ssh_conn") in pairs
    assert ("harness.report.runcheck", "harness.results.schema") in pairs
    assert ("harness.results.store", "harness.results.schema") in pairs
    assert len(MODS) > 60 and len(IMPORTS) > 200


@pytest.mark.parametrize("name", sorted(m for m in MODS if m != "harness.__main__"))
def test_every_module_imports(name: str) -> None:
    """Each module imports on its own (``__main__`` runs the CLI, so it is
    only walked)."""
    importlib.import_module(name)


def test_no_import_circle() -> None:
    cycles = _cycles(list(MODS), _with_parents(IMPORTS))
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_cycle_finder_finds_a_planted_circle() -> None:
    mods = ["a", "b", "c", "d"]
    imps = [Import("a", "b", 1), Import("b", "c", 1), Import("c", "a", 1), Import("d", "a", 1)]
    assert _cycles(mods, imps) == [["a", "b", "c", "a"]]
    assert _cycles(mods, imps[:2] + imps[3:]) == []
    # through a package's __init__: p/__init__ imports m, m imports p.q
    pkg = [Import("p", "m", 1), Import("m", "p.q", 1)]
    assert _cycles(["p", "p.q", "m"], _with_parents(pkg)) == [["m", "p", "m"]]
    assert _with_parents([Import("p.q", "p.r", 1)]) == [Import("p.q", "p.r", 1)]


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODS if layer_of(m) is None] == []


def test_imports_go_down_the_layers() -> None:
    bad = _violations(IMPORTS)
    assert not bad, "imports against the layers (docs/architecture.md, Layers):\n" + "\n".join(bad)


def test_the_rule_catches_an_upward_import() -> None:
    assert _violations([Import("harness.hosts.pool", "harness.pipeline", 1)])
    assert _violations([Import("harness.parse.oops", "harness.config", 1)])  # parse is pure
    assert not _violations([Import("harness.pipeline", "harness.hosts.pool", 1)])


def _doc_name(module: str) -> str:
    """How the doc names a module: ``vm/hostinfo``, a package as ``report/``."""
    if module == "harness":
        return "harness/__init__"
    name = module.removeprefix("harness.").replace(".", "/")
    return name + "/" if MODS.get(module, (None, False))[1] else name


def test_the_doc_has_the_same_layers() -> None:
    """docs/architecture.md's layer table: one row per layer, top first,
    naming the same modules."""
    text = DOC.read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if re.match(r"\| `[a-z]+` \|", r)]
    names = [re.match(r"\| `([a-z]+)` \|", r).group(1) for r in rows]  # type: ignore[union-attr]
    assert names == [n for n, _ in reversed(LAYERS)]
    for row, (_, prefixes) in zip(rows, reversed(LAYERS), strict=True):
        cell = row.split("|")[2]
        shown = set(re.findall(r"`([^`]+)`", cell))
        want = {_doc_name(p) for p in prefixes}
        assert shown == want, row


def test_the_doc_names_every_module() -> None:
    """docs/architecture.md's module table (before "Layers") says the job of
    every module: a new one (a split, say) gets its row."""
    text = DOC.read_text().split("## Layers", 1)[0]
    rows = [r for r in text.splitlines() if r.startswith("| `")]
    named = {n for r in rows for n in re.findall(r"`([\w/]+)\.py`", r.split("|")[1])}
    files = {str(p.relative_to(PKG).with_suffix("")) for p in PKG.rglob("*.py")
             if p.name != "__init__.py"}
    assert sorted(files - named) == []
