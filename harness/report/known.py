"""Known issues: a YAML file of expected failures, loaded the way run configs
are (typed dataclasses, unknown keys and bad values are errors naming
``file:line``).

```yaml
issues:
  - id: sysrq-panic                 # optional; default known-N
    test: "panics"                  # glob over the test path ("t", "t / subtest")
    title: "kernel panic: sysrq*"   # glob over the normalized oops title
    job: "lam-*"                    # optional glob over the job name
    link: https://lore.kernel.org/...
    reason: sysrq-trigger crashes on purpose
    expires: 2026-12-31             # optional; from the next day on it no longer matches
```
A result matches when it failed, crashed or errored and every pattern given
matches; at least one of ``test`` / ``title`` / ``title_regex`` is required.
Titles follow the kernel bots' convention (``kernel BUG in f``, ``kernel
panic: <message>``...); a panic title also matches in the spelling used
before (``Kernel panic - not syncing: <message>``), so older files and runs
keep matching (see :func:`harness.parse.oops.title_aliases`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from ..config import Loc, _Builder, parse_yaml
from ..errors import ConfigError
from ..parse.oops import title_aliases
from .runs import Result


@dataclass
class KnownIssue:
    link: str
    reason: str
    id: str | None = None
    test: str | None = None
    title: str | None = None
    title_regex: str | None = None
    job: str | None = None
    expires: str | None = None  # YYYY-MM-DD
    loc: Loc | None = field(default=None, metadata={"internal": True})

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and dt.date.fromisoformat(self.expires) < today

    def matches(self, r: Result) -> bool:
        if r.verdict not in ("crash", "fail", "error"):
            return False
        if self.job is not None and not fnmatchcase(r.job.name, self.job):
            return False
        if self.test is not None and not fnmatchcase(r.path, self.test):
            return False
        if self.title is None and self.title_regex is None:
            return True
        titles = [a for t in (r.titles or ((r.reason,) if r.verdict == "crash" else ()))
                  for a in title_aliases(t)]
        if self.title is not None and not any(fnmatchcase(t, self.title) for t in titles):
            return False
        if self.title_regex is not None and not any(re.search(self.title_regex, t)
                                                    for t in titles):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("id", "test", "title", "title_regex", "job", "link",
                                           "reason", "expires") if getattr(self, k) is not None}
        if self.loc is not None:
            d["where"] = str(self.loc)
        return d


@dataclass
class KnownFile:
    issues: list[KnownIssue] = field(default_factory=list)
    path: str = field(default="", metadata={"internal": True})


class _KnownBuilder(_Builder):
    """Dates (``expires: 2026-12-31``) arrive as their ISO text."""

    def scalar(self, node: yaml.Node, key: str) -> Any:
        value = super().scalar(node, key)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value


def load(path: Path) -> KnownFile:
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such known-issues file", where=shown) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read known-issues file: {e}", where=shown) from None
    return loads(text, shown)


def loads(text: str, filename: str = "<known-issues>") -> KnownFile:
    node, loader = parse_yaml(text, filename)
    if node is None:
        return KnownFile([], filename)
    b = _KnownBuilder(filename, loader)
    kf = b.build(KnownFile, node, "")
    assert isinstance(kf, KnownFile)
    kf.path = filename
    ids: set[str] = set()
    for i, issue in enumerate(kf.issues):
        key = f"issues[{i}]"
        where = str(issue.loc or b.locs.get(key) or filename)
        if issue.test is None and issue.title is None and issue.title_regex is None:
            raise ConfigError(f"{key}: give test, title or title_regex (what does it match?)",
                              where=where)
        if issue.expires is not None:
            try:
                dt.date.fromisoformat(issue.expires)
            except ValueError:
                raise ConfigError(f"{key}.expires: {issue.expires!r} is not a date "
                                  "(YYYY-MM-DD)", where=str(b.locs.get(f"{key}.expires", where))
                                  ) from None
        if issue.title_regex is not None:
            try:
                re.compile(issue.title_regex)
            except re.error as e:
                raise ConfigError(f"{key}.title_regex: {e}",
                                  where=str(b.locs.get(f"{key}.title_regex", where))) from None
        if issue.id is None:
            issue.id = f"known-{i + 1}"
        if issue.id in ids:
            raise ConfigError(f"{key}.id: duplicate id {issue.id!r}",
                              where=str(b.locs.get(f"{key}.id", where)))
        ids.add(issue.id)
    return kf


@dataclass
class KnownMatch:
    """Known issues applied to one run's results."""

    matched: dict[str, KnownIssue]  # Result.key -> the first issue matching it
    seen: dict[str, list[str]]  # issue id -> result keys it matched
    not_seen: list[tuple[KnownIssue, str]]  # (issue, why it may be closable)
    expired: list[KnownIssue]


def apply(kf: KnownFile, results: list[Result], today: dt.date) -> KnownMatch:
    live = [i for i in kf.issues if not i.expired(today)]
    expired = [i for i in kf.issues if i.expired(today)]
    matched: dict[str, KnownIssue] = {}
    seen: dict[str, list[str]] = {str(i.id): [] for i in live}
    for r in results:
        for issue in live:
            if issue.matches(r):
                matched.setdefault(r.key, issue)
                seen[str(issue.id)].append(r.key)
    # A TAP test that failed only because of known subtests is known too.
    by_key = {r.key: r for r in results}
    for r in results:
        if r.key in matched or r.verdict != "fail":
            continue
        subs = [s for s in results if s.job.key == r.job.key and s.path.startswith(r.path + " / ")]
        bad = [s for s in subs if s.is_bad]
        if bad and all(s.key in matched for s in bad):
            issue = matched[bad[0].key]
            matched[r.key] = issue
            seen[str(issue.id)].append(r.key)
    not_seen: list[tuple[KnownIssue, str]] = []
    for issue in live:
        if seen[str(issue.id)]:
            continue
        ran = [r for r in by_key.values() if issue.test is not None
               and fnmatchcase(r.path, issue.test)
               and (issue.job is None or fnmatchcase(r.job.name, issue.job))]
        if issue.test is not None and not ran:
            why = "no such test in this run"
        elif issue.test is not None and all(r.verdict in ("skip", "notrun") for r in ran):
            why = "the test did not run"
        elif issue.test is not None and issue.title is None and issue.title_regex is None:
            why = "the test passed"
        else:
            why = "no matching crash"
        not_seen.append((issue, why))
    return KnownMatch(matched, seen, not_seen, expired)
