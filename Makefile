# The two commands of the README. Both set everything up first (idempotent).
.PHONY: setup quickstart test lint unit integration bench

setup:
	./scripts/setup.sh

quickstart: setup
	.venv/bin/lam-harness run configs/quickstart.yaml

test: setup
	./scripts/test.sh

lint: setup
	.venv/bin/ruff check harness tests bench
	.venv/bin/mypy

# The run path's unit coverage (no VM: tests/unit/fakevm.py, fakeqemu.py).
RUN_PATH = harness.pipeline harness.exec harness.vm.base harness.vm.console harness.vm.machine

unit: setup
	.venv/bin/pytest -q tests/unit $(RUN_PATH:%=--cov=%) --cov-report=term --cov-fail-under=85

integration: setup
	.venv/bin/pytest -v tests/integration

bench: setup
	.venv/bin/python bench/boot.py
	.venv/bin/python bench/build.py
	.venv/bin/python bench/remote.py
	.venv/bin/python bench/bisect_sim.py
	.venv/bin/python bench/oops.py
	.venv/bin/python bench/fail_fast.py
