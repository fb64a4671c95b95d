"""Run configs: YAML into typed dataclasses, every error naming ``file:line``.

The schema is the dataclasses below; the loader walks the YAML node tree
(``yaml.compose``) rather than plain dicts, so that each value keeps the line it
came from.  Unknown keys, wrong types, bad enum values and missing files are
``ConfigError`` (exit 2) with a "did you mean" where one is close.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from .errors import ConfigError as ConfigError
from .errors import describe_exception

Accel = Literal["auto", "kvm", "tcg"]
LamPolicy = Literal["auto", "required", "off"]
TestFormat = Literal["exit-code", "tap"]


@dataclass(frozen=True)
class Loc:
    """Where a value came from: ``file:line`` (1-based)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class KernelSource:
    git: str | None = None
    ref: str | None = None
    tarball: str | None = None
    debian: str | None = None


@dataclass
class KconfigSpec:
    base: str = "tinyconfig"
    fragments: list[str] = field(default_factory=list)


@dataclass
class KernelSpec:
    """Exactly one of ``image``, ``debian``, ``source``."""

    image: str | None = None  # prebuilt bzImage
    modules: str | None = None  # with image: a lib/modules/<version> directory
    vmlinux: str | None = None  # with image: for symbolization
    debian: str | None = None  # package name or glob, e.g. linux-image-6.12.*-cloud-amd64-unsigned
    source: KernelSource | None = None
    patches: list[str] = field(default_factory=list)
    config: KconfigSpec | None = None
    selftests: list[str] = field(default_factory=list)
    # Modules the guest loads at boot (with their dependencies) when the kernel
    # has them as modules; built-in ones are skipped.
    load_modules: list[str] = field(default_factory=lambda: ["virtio_net"])


@dataclass
class QemuSource:
    """A QEMU built from Debian's source package with a patch series."""

    debian: str = "qemu"
    patches: list[str] = field(default_factory=list)


@dataclass
class MachineSpec:
    accel: Accel = "auto"
    cpu: str | None = None  # None: "host" under KVM, "max" under TCG
    lam: LamPolicy = "auto"
    qemu: str | QemuSource = "system"  # "system", a binary path, or {debian, patches}
    # A QEMU whose TCG emulates LAM (same forms as ``qemu``): with ``lam`` auto
    # or required, used under TCG when the host cannot give LAM in hardware.
    lam_emulator: str | QemuSource | None = None
    smp: int = 2
    memory: str = "1G"
    cmdline: str = ""  # extra kernel arguments
    panic_on_oops: bool = True  # adds "panic=-1 oops=panic" (QEMU exits on panic)
    boot_timeout: float = 300.0
    # Guest network: "restricted" (default) gives the guest only the SSH
    # forward from 127.0.0.1; "user" lets it reach the host and beyond through
    # QEMU's user-mode NAT (tests that need the network opt in here).
    network: Literal["restricted", "user"] = "restricted"


@dataclass
class TestSpec:
    __test__ = False  # not a pytest test class
    name: str
    run: str | list[str]  # string: run by the guest's sh -c; list: argv
    format: TestFormat = "exit-code"
    timeout: float = 300.0
    repeat: int = 1
    needs: list[str] = field(default_factory=list)
    loc: Loc | None = field(default=None, metadata={"internal": True})


@dataclass
class HostSpec:
    """A remote runner reached over SSH (docs/hosts.md)."""

    ssh: str  # user@host (user defaults to the local login name)
    port: int = 22
    key: str | None = None  # private key file; default: ssh-agent and ~/.ssh/id_*
    known_hosts: str | None = None  # default ~/.ssh/known_hosts
    workdir: str = ".cache/lam-harness"  # on the remote; relative to the login's home
    accept_new_host_key: bool = False  # record an unknown host key on first use
    concurrency: int = 1  # guests at once on this runner (a pool spreads tests)
    keepalive: float = 5.0  # seconds between SSH keepalives
    python: str = "python3"  # the remote's Python 3 (runs the harness's agent)
    loc: Loc | None = field(default=None, metadata={"internal": True})


@dataclass
class Payload:
    src: str  # host path (file or directory)
    dst: str  # absolute guest path
    loc: Loc | None = field(default=None, metadata={"internal": True})


@dataclass
class Limits:
    """Caps on what a guest can make the harness keep (docs/config.md)."""

    console_log: str = "64M"  # console.log per guest: head + tail kept, marker between
    test_output: str = "64M"  # each of a test's stdout and stderr files, the same way
    max_reports: int = 100  # oops reports kept per guest; the rest are counted
    report_lines: int = 400  # lines kept per report
    report_bytes: str = "64K"  # bytes kept per report

    @property
    def console_log_cap(self) -> int:
        return parse_size(self.console_log)

    @property
    def test_output_cap(self) -> int:
        return parse_size(self.test_output)

    @property
    def report_bytes_cap(self) -> int:
        return parse_size(self.report_bytes)


_SIZE_RE = re.compile(r"([0-9]+)([KMG]?)")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """``64M`` -> 67108864 (K, M, G are powers of 1024; no unit: bytes)."""
    m = _SIZE_RE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a size like 64M, 512K or 1G")
    return int(m.group(1)) * _UNITS[m.group(2)]


@dataclass
class Config:
    name: str
    kernel: KernelSpec
    tests: list[TestSpec] = field(default_factory=list)
    machine: MachineSpec = field(default_factory=MachineSpec)
    host: str | HostSpec = "local"  # "local" or {ssh: user@host, ...}
    hosts: list[str | HostSpec] = field(default_factory=list)  # a pool of runners
    payloads: list[Payload] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    path: Path = field(default=Path("."), metadata={"internal": True})
    locs: dict[str, Loc] = field(default_factory=dict, metadata={"internal": True})

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def where(self, key: str) -> str:
        """``file:line`` of a dotted key (e.g. ``kernel.image``), or the file."""
        loc = self.locs.get(key)
        return str(loc) if loc else str(self.path)

    def resolve_path(self, value: str, key: str, *, must_exist: bool = True) -> Path:
        """A path from the config: absolute, ``~``, or relative to the config's
        folder, else to the current directory (checkouts run from the root)."""
        p = Path(os.path.expanduser(value))
        candidates = [p] if p.is_absolute() else [self.base_dir / p, Path.cwd() / p]
        for c in candidates:
            if c.exists():
                return c.resolve()
        if not must_exist:
            return candidates[0]
        tried = " or ".join(str(c) for c in candidates)
        raise ConfigError(f"{key}: {value!r} does not exist (looked for {tried})",
                          where=self.where(key))


# Always fullmatch()ed: with match() and "$", a trailing newline would pass.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", re.ASCII)
_MEMORY_RE = re.compile(r"([0-9]{1,15})([KMGT]?)", re.ASCII)
_MEMORY_UNIT = {"": 1 << 20, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
# Bounds that keep a typo from asking for the impossible (a run of 10**9
# iterations, a guest of 10**6 CPUs): generous for any real run.
MAX_CONFIG_BYTES = 1 << 20
MAX_REPEAT = 100_000
MAX_SMP = 256
MAX_MEMORY = 1 << 40  # 1 TiB
MAX_SECONDS = 7 * 24 * 3600.0
MAX_CONCURRENCY = 256


def load(path: str | os.PathLike[str]) -> Config:
    """Load and validate a run config."""
    p = Path(path)
    shown = str(path)
    try:
        size = p.stat().st_size if p.is_file() else 0
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config is {size} bytes; a config is at most "
                              f"{MAX_CONFIG_BYTES >> 20} MiB", where=f"{shown}:1")
        data = p.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[:e.start].count(b"\n") + 1
            raise ConfigError(f"not UTF-8 (byte 0x{data[e.start]:02x})",
                              where=f"{shown}:{line}") from None
    except FileNotFoundError:
        raise ConfigError("no such config file", where=shown) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", where=shown) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config: {e}", where=shown) from None
    return loads(text, shown, path=p)


def parse_yaml(text: str, filename: str) -> tuple[yaml.Node | None, yaml.SafeLoader]:
    """The document's node tree (None when empty) and its loader, for a
    :class:`_Builder`; a YAML error is a ConfigError naming ``file:line``."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(f"YAML syntax error: {e.problem or e}",
                          where=f"{filename}:{line}") from None
    except yaml.reader.ReaderError as e:
        line = text[:e.position].count("\n") + 1
        what = chr(e.character) if isinstance(e.character, int) else str(e.character)
        raise ConfigError(f"YAML error: character {what!r} is not allowed in YAML",
                          where=f"{filename}:{line}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML error: {e}", where=f"{filename}:1") from None
    except RecursionError:
        # PyYAML composes nodes recursively: a document nested thousands deep.
        raise ConfigError("YAML nested too deeply", where=f"{filename}:{loader.line + 1}") \
            from None
    return node, loader


def loads(text: str, filename: str = "<config>", *, path: Path | None = None) -> Config:
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config is {len(text)} characters; a config is at most "
                          f"{MAX_CONFIG_BYTES >> 20} MiB", where=f"{filename}:1")
    _check_flow_depth(text, filename)
    node, loader = parse_yaml(text, filename)
    if node is None:
        raise ConfigError("config is empty", where=f"{filename}:1")
    b = _Builder(filename, loader)
    cfg = b.build(Config, node, "")
    assert isinstance(cfg, Config)
    cfg.path = (path or Path(filename)).resolve() if path or filename != "<config>" else Path(".")
    cfg.locs = b.locs
    _validate(cfg)
    return cfg


MAX_FLOW_DEPTH = 64


def _check_flow_depth(text: str, filename: str) -> None:
    """Refuse ``[[[[...`` / ``{a: {a: ...`` nested deeper than MAX_FLOW_DEPTH
    before PyYAML sees it: its scanner is quadratic in the flow depth (2000
    deep: seconds; a 1 MiB file of ``[``: hours) and its composer recursive.
    Brackets in quotes and comments do not count; in plain scalars they may
    (harmless: no real config nests 64 deep)."""
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return
    depth, line, quote, i, n = 0, 1, "", 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'" and (i == 0 or text[i - 1] in " \t\n[{,:-?"):
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n"):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                raise ConfigError(f"YAML nested too deeply (more than {MAX_FLOW_DEPTH} levels "
                                  "of [ ] / { })", where=f"{filename}:{line}")
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1


class _Builder:
    """Turns YAML nodes into dataclasses following their type hints."""

    def __init__(self, filename: str, loader: yaml.SafeLoader) -> None:
        self.filename = filename
        self.loader = loader
        self.locs: dict[str, Loc] = {}

    def loc(self, node: yaml.Node) -> Loc:
        return Loc(self.filename, node.start_mark.line + 1)

    def err(self, node: yaml.Node, msg: str) -> ConfigError:
        return ConfigError(msg, where=str(self.loc(node)))

    def build(self, tp: Any, node: yaml.Node, key: str) -> Any:
        self.locs.setdefault(key, self.loc(node))
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            options = get_args(tp)
            if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
                if type(None) in options:
                    return None
            errors: list[ConfigError] = []
            matching: list[ConfigError] = []  # from the option of the node's own kind
            for opt in options:
                if opt is type(None):
                    continue
                try:
                    return self.build(opt, node, key)
                except ConfigError as e:
                    errors.append(e)
                    is_map = dataclasses.is_dataclass(opt)
                    is_seq = get_origin(opt) is list
                    if (isinstance(node, yaml.MappingNode) and is_map) or (
                            isinstance(node, yaml.SequenceNode) and is_seq):
                        matching.append(e)
            if len(matching) == 1:
                raise matching[0]
            if len(errors) == 1:
                raise errors[0]
            want = " or ".join(_type_name(o) for o in options if o is not type(None))
            raise self.err(node, f"{key or 'config'}: expected {want}, got {_node_kind(node)}")
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return self.build_dataclass(tp, node, key)
        if origin is list:
            (item_tp,) = get_args(tp)
            if not isinstance(node, yaml.SequenceNode):
                raise self.err(node, f"{key}: expected a list, got {_node_kind(node)}")
            return [self.build(item_tp, n, f"{key}[{i}]") for i, n in enumerate(node.value)]
        if origin is Literal:
            allowed = get_args(tp)
            # YAML 1.1 reads a plain `off`/`on`/`yes`/`no` as a bool: take the text.
            if isinstance(node, yaml.ScalarNode) and node.value in allowed:
                return node.value
            value = self.scalar(node, key)
            if value not in allowed:
                hint = _did_you_mean(str(value), [str(a) for a in allowed])
                raise self.err(node, f"{key}: {value!r} is not one of "
                                     f"{', '.join(map(str, allowed))}{hint}")
            return value
        if tp in (str, int, float, bool):
            value = self.scalar(node, key)
            if tp is float and isinstance(value, int) and not isinstance(value, bool):
                if abs(value) > MAX_SECONDS:
                    raise self.err(node, f"{key}: out of range (at most {MAX_SECONDS:g})")
                return float(value)
            if tp is float and isinstance(value, float) and not math.isfinite(value):
                raise self.err(node, f"{key}: expected a finite number, got {value!r}")
            if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)
            if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
                raise self.err(node, f"{key}: expected {_type_name(tp)}, "
                                     f"got {type(value).__name__} {value!r}")
            return value
        raise AssertionError(f"unsupported schema type {tp!r}")  # pragma: no cover

    def scalar(self, node: yaml.Node, key: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.err(node, f"{key}: expected a single value, got {_node_kind(node)}")
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError) as e:
            # e.g. an integer of more than 4300 digits, a bad !!timestamp
            raise self.err(node, f"{key}: cannot read {node.value[:40]!r}: "
                                 f"{describe_exception(e)}") from None

    def build_dataclass(self, tp: type, node: yaml.Node, key: str) -> Any:
        fields = {f.name: f for f in dataclasses.fields(tp) if not f.metadata.get("internal")}
        hints = get_type_hints(tp)
        # A test's "run" may be given as a mapping-less shorthand? No: be strict.
        if not isinstance(node, yaml.MappingNode):
            raise self.err(node, f"{key or 'config'}: expected a mapping, got {_node_kind(node)}")
        kwargs: dict[str, Any] = {}
        seen: dict[str, yaml.Node] = {}
        for knode, vnode in node.value:
            name = self.scalar(knode, key)
            if not isinstance(name, str):
                raise self.err(knode, f"{key or 'config'}: keys must be strings, got {name!r}")
            where = f"{key}.{name}" if key else name
            if name in seen:
                raise self.err(knode, f"{where}: duplicate key")
            seen[name] = knode
            if name not in fields:
                hint = _did_you_mean(name, list(fields))
                section = f"in {key}" if key else "at top level"
                raise self.err(knode, f"unknown key {name!r} {section}{hint}")
            kwargs[name] = self.build(hints[name], vnode, where)
        for name, f in fields.items():
            if (name not in kwargs and f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING):
                where = f"{key}.{name}" if key else name
                raise self.err(node, f"{key or 'config'}: missing required key {name!r}")
        if "loc" in {f.name for f in dataclasses.fields(tp)}:
            kwargs["loc"] = self.loc(node)
        return tp(**kwargs)


def _validate(cfg: Config) -> None:
    k = cfg.kernel
    given = [n for n in ("image", "debian", "source") if getattr(k, n) is not None]
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        raise ConfigError(f"kernel: give exactly one of image, debian, source (got {what})",
                          where=cfg.where("kernel"))
    if k.source is not None:
        srcs = [n for n in ("git", "tarball", "debian") if getattr(k.source, n) is not None]
        if len(srcs) != 1:
            raise ConfigError("kernel.source: give exactly one of git, tarball, debian",
                              where=cfg.where("kernel.source"))
    if not _NAME_RE.fullmatch(cfg.name):
        raise ConfigError(f"name: {cfg.name!r} must be letters, digits, '.', '_', '+', '-'",
                          where=cfg.where("name"))
    m = cfg.machine
    if not 1 <= m.smp <= MAX_SMP:
        raise ConfigError("machine.smp: must be at least 1" if m.smp < 1 else
                          f"machine.smp: must be at most {MAX_SMP}", where=cfg.where("machine.smp"))
    mem = _MEMORY_RE.fullmatch(m.memory)
    if not mem:
        raise ConfigError(f"machine.memory: {m.memory!r} is not a size like 1G or 512M",
                          where=cfg.where("machine.memory"))
    if not 1 << 24 <= int(mem[1]) * _MEMORY_UNIT[mem[2]] <= MAX_MEMORY:
        raise ConfigError(f"machine.memory: {m.memory!r} must be 16M to 1T",
                          where=cfg.where("machine.memory"))
    if not 0 < m.boot_timeout <= MAX_SECONDS:
        raise ConfigError("machine.boot_timeout: must be positive, at most a week",
                          where=cfg.where("machine.boot_timeout"))
    names: set[str] = set()
    for i, t in enumerate(cfg.tests):
        key = f"tests[{i}]"
        if not _NAME_RE.fullmatch(t.name):
            raise ConfigError(f"{key}.name: {t.name!r} must be letters, digits, '.', '_', '+', '-'",
                              where=cfg.where(f"{key}.name"))
        if t.name in names:
            raise ConfigError(f"{key}.name: duplicate test name {t.name!r}",
                              where=cfg.where(f"{key}.name"))
        names.add(t.name)
        if not 0 < t.timeout <= MAX_SECONDS:
            raise ConfigError(f"{key}.timeout: must be positive, at most a week",
                              where=cfg.where(f"{key}.timeout"))
        if not 1 <= t.repeat <= MAX_REPEAT:
            raise ConfigError(f"{key}.repeat: must be at least 1" if t.repeat < 1 else
                              f"{key}.repeat: must be at most {MAX_REPEAT}",
                              where=cfg.where(f"{key}.repeat"))
        if isinstance(t.run, list) and not t.run:
            raise ConfigError(f"{key}.run: empty argv", where=cfg.where(f"{key}.run"))
        for j, need in enumerate(t.needs):
            if need not in KNOWN_NEEDS:
                hint = _did_you_mean(need, sorted(KNOWN_NEEDS))
                raise ConfigError(f"{key}.needs: unknown capability {need!r}{hint}",
                                  where=cfg.where(f"{key}.needs[{j}]"))
    for i, pl in enumerate(cfg.payloads):
        if not pl.dst.startswith("/"):
            raise ConfigError(f"payloads[{i}].dst: {pl.dst!r} must be an absolute guest path",
                              where=cfg.where(f"payloads[{i}].dst"))
    _validate_hosts(cfg)
    _validate_limits(cfg)


# Sizes: at least this much (a cap must hold a head, the marker and a tail),
# at most 1 TiB (a typo like 64000G would be no cap at all).
_SIZE_MIN = {"console_log": 64 << 10, "test_output": 64 << 10, "report_bytes": 1 << 10}
_SIZE_MAX = 1 << 40


def _validate_limits(cfg: Config) -> None:
    lim = cfg.limits
    for name, least in _SIZE_MIN.items():
        key = f"limits.{name}"
        value = getattr(lim, name)
        try:
            n = parse_size(value)
        except ValueError:
            raise ConfigError(f"{key}: {value!r} is not a size like 64M, 512K or 1G",
                              where=cfg.where(key)) from None
        if not least <= n <= _SIZE_MAX:
            raise ConfigError(f"{key}: {value} is out of range ({least >> 10}K to 1024G)",
                              where=cfg.where(key))
    for name in ("max_reports", "report_lines"):
        n = getattr(lim, name)
        if not 1 <= n <= 1_000_000:
            raise ConfigError(f"limits.{name}: {n} is out of range (1 to 1000000)",
                              where=cfg.where(f"limits.{name}"))


def _validate_hosts(cfg: Config) -> None:
    if cfg.hosts and (cfg.host != "local" or "host" in cfg.locs):
        raise ConfigError("give host or hosts, not both", where=cfg.where("hosts"))
    if "hosts" in cfg.locs and not cfg.hosts:
        raise ConfigError("hosts: empty list (leave it out to run here)",
                          where=cfg.where("hosts"))
    entries = [("host", cfg.host)] if not cfg.hosts else [
        (f"hosts[{i}]", h) for i, h in enumerate(cfg.hosts)]
    for key, h in entries:
        if isinstance(h, str):
            if h != "local":
                raise ConfigError(f"{key}: {h!r}: expected local or a mapping "
                                  "{ssh: user@host, port, key, known_hosts, workdir}",
                                  where=cfg.where(key))
            continue
        user, _, name = h.ssh.rpartition("@")
        if not name.strip("[]") or any(c.isspace() for c in h.ssh) or h.ssh.startswith("-"):
            raise ConfigError(f"{key}.ssh: {h.ssh!r} is not user@host", where=cfg.where(
                f"{key}.ssh"))
        if not 1 <= h.port <= 65535:
            raise ConfigError(f"{key}.port: {h.port} is not a TCP port",
                              where=cfg.where(f"{key}.port"))
        if not 1 <= h.concurrency <= MAX_CONCURRENCY:
            raise ConfigError(f"{key}.concurrency: must be at least 1" if h.concurrency < 1 else
                              f"{key}.concurrency: must be at most {MAX_CONCURRENCY}",
                              where=cfg.where(f"{key}.concurrency"))
        if not 0 < h.keepalive <= 3600:
            raise ConfigError(f"{key}.keepalive: must be positive, at most an hour",
                              where=cfg.where(f"{key}.keepalive"))
        if not h.workdir.strip() or not h.python.strip():
            field_ = "workdir" if not h.workdir.strip() else "python"
            raise ConfigError(f"{key}.{field_}: must not be empty",
                              where=cfg.where(f"{key}.{field_}"))
        if h.key is not None:
            cfg.resolve_path(h.key, f"{key}.key")


KNOWN_NEEDS = frozenset({"lam"})


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"{node.tag.rsplit(':', 1)[-1]} {node.value!r}"


def _type_name(tp: Any) -> str:
    if get_origin(tp) is list:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(map(str, get_args(tp)))
    return {str: "a string", int: "an integer", float: "a number", bool: "true/false"}.get(
        tp, getattr(tp, "__name__", str(tp)))


__all__ = ["Config", "KernelSpec", "KernelSource", "KconfigSpec", "MachineSpec", "TestSpec",
           "Payload", "Loc", "QemuSource", "HostSpec", "Limits", "load", "loads",
           "parse_size"]
