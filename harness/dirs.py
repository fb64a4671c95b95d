"""Where the kernel cache and the results go when the command line does not
say: ``$HARNESS_KERNELS`` / ``$HARNESS_RESULTS``, else ``kernels/`` and
``results/`` next to the code in a checkout, or under the current directory
when installed elsewhere.  Every subcommand module asks here."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_dir(env: str, name: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    # In a checkout, next to the code; installed elsewhere, under the cwd.
    root = PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd()
    return root / name


def kernels_dir() -> Path:
    return default_dir("HARNESS_KERNELS", "kernels")


def results_dir(given: str | None = None) -> Path:
    """``--results`` when given, else the default."""
    return Path(given) if given else default_dir("HARNESS_RESULTS", "results")
