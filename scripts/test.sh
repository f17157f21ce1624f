#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), lint, types, tests. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check chaos tests scripts
.venv/bin/ruff format --check chaos tests scripts
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest --durations=15 "$@"  # the slowest tests, to keep CI short
