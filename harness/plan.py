"""A config expands into jobs; a job is plain data.  For now one config is one
job (kernel x machine x tests); the kernel/patch/kconfig matrix comes with
source builds."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config, TestSpec
from .errors import UserError


@dataclass(frozen=True)
class Job:
    name: str
    config: Config
    tests: tuple[TestSpec, ...]


def plan(cfg: Config, only: list[str] | None = None) -> list[Job]:
    tests = cfg.tests
    if only:
        unknown = [o for o in only if o not in {t.name for t in tests}]
        if unknown:
            raise UserError(f"--only: no test named {', '.join(map(repr, unknown))} in "
                            f"{cfg.path} (tests: {', '.join(t.name for t in tests)})")
        tests = [t for t in tests if t.name in only]
    return [Job(cfg.name, cfg, tuple(tests))]
