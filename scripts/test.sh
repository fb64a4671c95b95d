#!/usr/bin/env bash
# The test suite: lint and types, unit tests, then integration tests that boot
# real kernels in real QEMU. Under CI=true a missing QEMU/kernel/sshd fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export HARNESS_REQUIRE_VM=${HARNESS_REQUIRE_VM:-1}
.venv/bin/ruff check harness tests bench
.venv/bin/mypy
exec .venv/bin/pytest -v -p no:cacheprovider tests "$@"
