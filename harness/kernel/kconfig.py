"""Kconfig: merge a base and fragments with the kernel's own tools, then
verify that every option a fragment sets has that value in the final
``.config``.  A dropped option is an error naming the option, the fragment
line that asked for it and the ``depends on`` line that blocked it, with the
values of the symbols in it.  Parsing and verification are pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


@dataclass(frozen=True)
class Setting:
    symbol: str  # without CONFIG_
    value: str  # "y", "m", "n", a number or a quoted string
    file: str
    line: int


def parse_config(text: str) -> dict[str, str]:
    """``.config`` text -> {SYMBOL: value}; "is not set" is "n"."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if m := _SET.match(line):
            out[m.group(1)[7:]] = m.group(2)
        elif m := _UNSET.match(line):
            out[m.group(1)[7:]] = "n"
    return out


def parse_fragment(text: str, name: str) -> list[Setting]:
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if m := _SET.match(s):
            out.append(Setting(m.group(1)[7:], m.group(2), name, i))
        elif m := _UNSET.match(s):
            out.append(Setting(m.group(1)[7:], "n", name, i))
    return out


# -- Kconfig definitions: "config X" blocks and their "depends on" lines -------

@dataclass
class Definition:
    symbol: str
    file: str
    line: int
    depends: list[tuple[str, int]] = field(default_factory=list)  # (expr, line)
    inside_if: list[tuple[str, int]] = field(default_factory=list)  # enclosing "if" blocks


_BLOCK = re.compile(r"^\s*(menu)?config\s+([A-Za-z0-9_]+)\s*$")
_DEPENDS = re.compile(r"^\s*depends\s+on\s+(.*?)\s*(?:#.*)?$")
_ENDS_BLOCK = re.compile(r"^\s*(config|menuconfig|choice|endchoice|menu|endmenu|if|endif|"
                         r"source|comment|mainmenu)\b")
_HELP = re.compile(r"^\s*(-*help-*)\s*$")
_IF = re.compile(r"^\s*if\s+(.*?)\s*(?:#.*)?$")
_ENDIF = re.compile(r"^\s*endif\b")


def parse_kconfig(text: str, name: str) -> list[Definition]:
    """The ``config`` blocks of one Kconfig file, with their ``depends on``
    lines and the conditions of enclosing ``if`` blocks."""
    defs: list[Definition] = []
    cur: Definition | None = None
    ifs: list[tuple[str, int]] = []
    lines = text.splitlines()
    i = 0
    help_indent: int | None = None  # inside help text: its indentation
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        if help_indent is not None:
            stripped = line.strip()
            indent = len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())
            if not stripped or (help_indent < 0 or indent >= help_indent):
                if stripped and help_indent < 0:
                    help_indent = indent
                i += 1
                continue
            help_indent = None
        if _HELP.match(line):
            help_indent = -1  # set by the first non-empty line of the text
            i += 1
            continue
        while line.endswith("\\") and i + 1 < len(lines):  # continuation lines
            i += 1
            line = line[:-1] + " " + lines[i].strip()
        i += 1
        if m := _BLOCK.match(line):
            cur = Definition(m.group(2), name, lineno, [], list(ifs))
            defs.append(cur)
            continue
        if _ENDIF.match(line):
            if ifs:
                ifs.pop()
            cur = None
            continue
        if m := _IF.match(line):
            ifs.append((m.group(1), lineno))
            cur = None
            continue
        if _ENDS_BLOCK.match(line):
            cur = None
            continue
        if cur is not None and (m := _DEPENDS.match(line)):
            cur.depends.append((m.group(1), lineno))
    return defs


def index_tree(tree: Path, symbols: set[str]) -> dict[str, list[Definition]]:
    """Definitions of ``symbols`` in every Kconfig file of the tree."""
    found: dict[str, list[Definition]] = {}
    needle = re.compile(r"^\s*(?:menu)?config\s+(" + "|".join(map(re.escape, symbols)) + r")\s*$",
                        re.M)
    for path in tree.rglob("Kconfig*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if not needle.search(text):
            continue
        rel = str(path.relative_to(tree))
        for d in parse_kconfig(text, rel):
            if d.symbol in symbols:
                found.setdefault(d.symbol, []).append(d)
    return found


# -- expression evaluation (tristate) -------------------------------------------

_TOKEN = re.compile(r"\s*(\|\||&&|!=|=|!|\(|\)|\"[^\"]*\"|[A-Za-z0-9_]+)")
_TRI = {"n": 0, "m": 1, "y": 2}


def symbols_in(expr: str) -> list[str]:
    return [t for t in (m.group(1) for m in _TOKEN.finditer(expr))
            if re.fullmatch(r"[A-Za-z0-9_]+", t) and not t.isdigit()
            and t not in ("y", "m", "n")]


def evaluate(expr: str, values: dict[str, str]) -> int:
    """Kconfig tristate value of ``expr`` (0 n, 1 m, 2 y) for ``values``."""
    toks = [m.group(1) for m in _TOKEN.finditer(expr)]
    pos = 0

    def val(sym: str) -> str:
        if sym in ("y", "m", "n"):
            return sym
        if sym.startswith('"'):
            return sym.strip('"')
        return values.get(sym, "n")

    def primary() -> int:
        nonlocal pos
        t = toks[pos]
        pos += 1
        if t == "!":
            return 2 - primary()
        if t == "(":
            v = disj()
            pos += 1  # ")"
            return v
        if pos < len(toks) and toks[pos] in ("=", "!="):
            op = toks[pos]
            rhs = toks[pos + 1]
            pos += 2
            eq = val(t).strip('"') == val(rhs).strip('"')
            return 2 if eq == (op == "=") else 0
        return _TRI.get(val(t), 0)

    def conj() -> int:
        nonlocal pos
        v = primary()
        while pos < len(toks) and toks[pos] == "&&":
            pos += 1
            v = min(v, primary())
        return v

    def disj() -> int:
        nonlocal pos
        v = conj()
        while pos < len(toks) and toks[pos] == "||":
            pos += 1
            v = max(v, conj())
        return v

    try:
        return disj()
    except IndexError:
        return 2  # unparsable: do not claim it blocks


@dataclass(frozen=True)
class Dropped:
    setting: Setting
    actual: str  # value in the final .config ("n" when absent)
    blockers: tuple[str, ...]  # human lines: "arch/x86/Kconfig:2264: depends on ... [A=y, B=n]"

    def __str__(self) -> str:
        want = "not set" if self.setting.value == "n" else f"={self.setting.value}"
        got = "is not set" if self.actual == "n" else f"is {self.actual}"
        head = (f"CONFIG_{self.setting.symbol}{'' if want == 'not set' else want}"
                f"{' (not set)' if want == 'not set' else ''} asked by "
                f"{self.setting.file}:{self.setting.line} but {got} in the final .config")
        return head + "".join(f"\n    blocked by {b}" for b in self.blockers)


def _norm(v: str) -> str:
    return v.strip('"')


def verify(requested: list[Setting], final: dict[str, str],
           defs: dict[str, list[Definition]]) -> list[Dropped]:
    """Each requested setting whose final value differs, with its blockers."""
    dropped = []
    last: dict[str, Setting] = {}
    for s in requested:  # a later fragment overrides an earlier one
        last[s.symbol] = s
    for s in last.values():
        actual = final.get(s.symbol, "n")
        if _norm(actual) == _norm(s.value):
            continue
        blockers: list[str] = []
        for d in defs.get(s.symbol, []):
            conds = [("if", e, n) for e, n in d.inside_if] + [("depends on", e, n)
                                                              for e, n in d.depends]
            for what, expr, line in conds:
                if s.value != "n" and evaluate(expr, final) < _TRI.get(s.value, 2):
                    vals = ", ".join(f"{x}={final.get(x, 'n')}" for x in dict.fromkeys(
                        symbols_in(expr)))
                    blockers.append(f"{d.file}:{line}: {what} {expr}  [{vals}]")
        if not defs.get(s.symbol):
            blockers.append(f"no 'config {s.symbol}' in this tree's Kconfig files "
                            "(misspelt, or not in this kernel version)")
        elif not blockers and s.value == "n":
            blockers.append("it is selected by another option, or has no prompt")
        elif not blockers:
            blockers.append("no prompt, a 'select', a choice or a range decided it "
                            f"(defined at {defs[s.symbol][0].file}:{defs[s.symbol][0].line})")
        dropped.append(Dropped(s, actual, tuple(blockers)))
    return dropped
