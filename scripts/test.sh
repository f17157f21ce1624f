#!/usr/bin/env bash
# The whole test suite: set-up (idempotent, the VM platform's packages included), lint, types,
# tests. Extra args go to pytest.
#
# The vm tests (three real QEMU guests, tests/vm) run after the rest, on a quiet host: beside
# the lab's tests the two cores were never idle, and TCG guests that get only idle CPU (the
# tool's default, so the lab's measurements stay true) stalled for minutes (ssh banners timed
# out, a guest stayed Down for 600 s); at a normal share they pushed the lab's load generator
# late. The vm tests have their own fault journal, lock directory and temporary directory.
#   --no-vm   leave the vm tests out (a quicker local run; CI runs everything)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
vm=1
if [[ "${1:-}" == "--no-vm" ]]; then
  shift
  vm=0
fi
if [[ "$vm" == 1 ]]; then
  bash scripts/setup.sh --vm
else
  bash scripts/setup.sh
fi
echo "== ruff"
.venv/bin/ruff check chaos tests scripts
.venv/bin/ruff format --check chaos tests scripts
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
status=0
# One process: the logic tests that time a real load generator against real servers (the fake
# platform's runs, the generator's own) fail when worker processes share the two cores with
# them (tried with pytest-xdist: connect timeouts to the test's own servers). The slowest
# tests, to keep CI short.
.venv/bin/python -m pytest -m "not vm" --durations=15 "$@" || status=$?
if [[ "$vm" == 1 ]]; then
  echo "== pytest, vm tests (three real guests)"
  rm -rf build/vm-tmp && mkdir -p build
  vm_status=0
  .venv/bin/python -m pytest -m vm tests/vm --durations=10 --basetemp build/vm-tmp "$@" \
    || vm_status=$?
  if [[ "$status" == 0 ]]; then status=$vm_status; fi
fi
exit "$status"
