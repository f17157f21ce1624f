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
status=0
# The logic tests (neither lab nor guests) in worker processes: they mostly wait on real
# sockets and timers. Those that measure the real load generator's own timing run alone
# after them (beside three busy workers httpx fell seconds behind a 200/s schedule). Then the
# lab's tests, one at a time on the one lab. --durations: the slowest of each, to keep CI
# short.
echo "== pytest, logic tests"
.venv/bin/python -m pytest -m "not lab and not vm and not timing" -n 4 --durations=10 "$@" \
  || status=$?
echo "== pytest, the load generator's timing"
timing_status=0
.venv/bin/python -m pytest -m "timing and not lab and not vm" --durations=5 "$@" \
  || timing_status=$?
if [[ "$status" == 0 ]]; then status=$timing_status; fi
echo "== pytest, lab tests (three dockerd engines in network namespaces)"
lab_status=0
.venv/bin/python -m pytest -m lab --durations=15 "$@" || lab_status=$?
if [[ "$status" == 0 ]]; then status=$lab_status; fi
if [[ "$vm" == 1 ]]; then
  echo "== pytest, vm tests (three real guests)"
  rm -rf build/vm-tmp && mkdir -p build
  vm_status=0
  .venv/bin/python -m pytest -m vm tests/vm --durations=10 --basetemp build/vm-tmp "$@" \
    || vm_status=$?
  if [[ "$status" == 0 ]]; then status=$vm_status; fi
fi
exit "$status"
