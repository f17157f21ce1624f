#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), lint, types, tests. Extra args go to pytest.
# --vm (first argument) also installs the VM platform's packages and runs the tests on three
# real QEMU guests (marker vm; about 25 min more under TCG), which the default run leaves out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
select=(-m "not vm")
if [[ "${1:-}" == "--vm" ]]; then
  shift
  bash scripts/setup.sh --vm
  select=()
else
  bash scripts/setup.sh
fi
echo "== ruff"
.venv/bin/ruff check chaos tests scripts
.venv/bin/ruff format --check chaos tests scripts
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
# the slowest tests, to keep CI short
.venv/bin/python -m pytest --durations=15 ${select[@]+"${select[@]}"} "$@"
