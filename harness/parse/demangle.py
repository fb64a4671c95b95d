"""Demangling of the C++ and Rust symbols a kernel call trace may print.

Kernel stack dumps print raw symbol names: a Rust kernel's frames are v0
mangled (``_RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt``), an out-of-tree
C++ module's are Itanium mangled (``_Z8fakeNameiii``).  Titles name them as
the source does: ``core::panicking::panic_fmt``, ``fakeName``.  Only the
qualified name is kept (no C++ parameter types, no Rust crate hashes);
whatever this does not understand is returned unchanged.

Pure, stdlib only.
"""

from __future__ import annotations

__all__ = ["demangle", "demangle_cxx", "demangle_rust"]


def demangle(name: str) -> str:
    """``name`` demangled if it is a C++ (``_Z``) or Rust v0 (``_R``) symbol."""
    if name.startswith("_Z"):
        return demangle_cxx(name)
    if name.startswith("_R"):
        return demangle_rust(name)
    return name


def demangle_cxx(name: str) -> str:
    """A C++ symbol's (Itanium ABI) qualified name without its parameter types:
    ``_Z8fakeNameiii`` -> ``fakeName``, ``_ZN3foo3barEv`` -> ``foo::bar``; the
    name itself if it is not one this understands."""
    nested = name.startswith("_ZN")
    i = 3 if nested else 2
    parts: list[str] = []
    while i < len(name) and name[i].isdigit():
        j = i
        while j < len(name) and name[j].isdigit():
            j += 1
        n = int(name[i:j])
        if n == 0 or j + n > len(name):
            return name
        parts.append(name[j:j + n])
        i = j + n
        if not nested:
            break
    if not parts or (nested and name[i:i + 1] != "E"):
        return name
    return "::".join(parts)


class _Unsupported(Exception):
    pass


_BASIC = {
    "a": "i8", "b": "bool", "c": "char", "d": "f64", "e": "str", "f": "f32", "h": "u8",
    "i": "isize", "j": "usize", "l": "i32", "m": "u32", "n": "i128", "o": "u128", "s": "i16",
    "t": "u16", "u": "()", "v": "...", "x": "i64", "y": "u64", "z": "!", "p": "_",
}
_B62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _RustParser:
    """The v0 mangling grammar (rustc's symbol-mangling-version=v0), the parts
    a kernel symbol uses: paths (crate roots, nested names, inherent and trait
    impls, generic arguments, back references) and the common types."""

    def __init__(self, sym: str) -> None:
        self.sym = sym  # after "_R"
        self.i = 0
        self.depth = 0

    def peek(self) -> str:
        return self.sym[self.i] if self.i < len(self.sym) else ""

    def next(self) -> str:
        c = self.peek()
        if not c:
            raise _Unsupported
        self.i += 1
        return c

    def eat(self, c: str) -> bool:
        if self.peek() == c:
            self.i += 1
            return True
        return False

    def base62(self) -> int:
        if self.eat("_"):
            return 0
        n = 0
        while not self.eat("_"):
            c = self.next()
            k = _B62.find(c)
            if k < 0:
                raise _Unsupported
            n = n * 62 + k
        return n + 1

    def decimal(self) -> int:
        j = self.i
        while self.peek().isdigit():
            self.i += 1
        if j == self.i:
            raise _Unsupported
        return int(self.sym[j:self.i])

    def disambiguator(self) -> None:
        if self.eat("s"):
            self.base62()

    def ident(self) -> str:
        self.disambiguator()
        if self.eat("u"):
            raise _Unsupported  # punycode
        n = self.decimal()
        self.eat("_")
        if self.i + n > len(self.sym):
            raise _Unsupported
        s = self.sym[self.i:self.i + n]
        self.i += n
        return s

    def backref(self, parse: str) -> str:
        pos = self.base62()
        if pos >= self.i or self.depth > 32:
            raise _Unsupported
        saved = self.i
        self.i = pos
        self.depth += 1
        try:
            return self.type_() if parse == "type" else self.path()
        finally:
            self.depth -= 1
            self.i = saved

    def path(self) -> str:
        c = self.next()
        if c == "C":
            return self.ident()
        if c == "N":
            ns = self.next()
            prefix = self.path()
            name = self.ident()
            if ns.isupper():
                kind = {"C": "closure", "S": "shim"}.get(ns, ns)
                return f"{prefix}::{{{kind}}}"
            return f"{prefix}::{name}" if name else prefix
        if c == "M":
            self.disambiguator()
            self.path()
            return f"<{self.type_()}>"
        if c == "X":
            self.disambiguator()
            self.path()
            t = self.type_()
            return f"<{t} as {self.path()}>"
        if c == "Y":
            t = self.type_()
            return f"<{t} as {self.path()}>"
        if c == "I":
            p = self.path()
            args = []
            while not self.eat("E"):
                args.append(self.generic_arg())
            return f"{p}::<{', '.join(a for a in args if a)}>"
        if c == "B":
            return self.backref("path")
        raise _Unsupported

    def generic_arg(self) -> str:
        if self.eat("L"):
            self.base62()
            return ""
        if self.eat("K"):
            return self.const()
        return self.type_()

    def const(self) -> str:
        if self.eat("p"):
            return "_"
        if self.eat("B"):
            return self.backref("type")
        self.next()  # the constant's type
        neg = self.eat("n")
        j = self.i
        while self.peek() != "_":
            self.next()
        digits = self.sym[j:self.i]
        self.i += 1
        return ("-" if neg else "") + str(int(digits or "0", 16))

    def type_(self) -> str:
        c = self.peek()
        if c in _BASIC:
            self.i += 1
            return _BASIC[c]
        if c in "RQ":
            self.i += 1
            if self.eat("L"):
                self.base62()
            return ("&" if c == "R" else "&mut ") + self.type_()
        if c in "PO":
            self.i += 1
            return ("*const " if c == "P" else "*mut ") + self.type_()
        if c == "S":
            self.i += 1
            return f"[{self.type_()}]"
        if c == "A":
            self.i += 1
            t = self.type_()
            return f"[{t}; {self.const()}]"
        if c == "T":
            self.i += 1
            ts = []
            while not self.eat("E"):
                ts.append(self.type_())
            return f"({', '.join(ts)}{',' if len(ts) == 1 else ''})"
        if c == "B":
            self.i += 1
            return self.backref("type")
        return self.path()


def demangle_rust(name: str) -> str:
    """A Rust (v0) symbol's path: ``_RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt``
    -> ``core::panicking::panic_fmt``; a trait method by its impl:
    ``<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap``.  The
    name itself if it is not one this understands (legacy ``_ZN..17h<hash>E``
    Rust symbols are C++-mangled: :func:`demangle_cxx` reads them)."""
    if not name.startswith("_R"):
        return name
    p = _RustParser(name[2:])
    try:
        if p.peek().isdigit():
            p.decimal()  # encoding version
        return p.path()
    except (_Unsupported, RecursionError, ValueError):
        return name
