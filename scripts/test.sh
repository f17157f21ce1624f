#!/usr/bin/env bash
# The whole test suite: set-up (idempotent, the VM platform's packages included), lint, types,
# tests. Extra args go to pytest.
#
# The vm tests (three real QEMU guests, tests/vm) run after the rest, on a quiet host: beside
# the lab's tests the two cores were never idle, and TCG guests that get only idle CPU (the
# tool's default, so the lab's measurements stay true) stalled for minutes (ssh banners timed
# out, a guest stayed Down for 600 s); at a normal share they pushed the lab's load generator
# late. Only their boot overlaps the lab's tests: `chaos lab up --platform vagrant` starts
# with them at nice 19 (the guests themselves in their idle group), so the guests boot on the
# CPU the lab leaves, and the vm tests' fixture finds them up (its own `up` is idempotent and
# does the whole job if this one failed). The vm tests have their own fault journal, lock
# directory and temporary directory.
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

up_pid=""
vm_env=()
stopped() {
  if [[ -n "$up_pid" ]]; then kill -INT "$up_pid" 2>/dev/null || true; wait "$up_pid" || true; fi
  "${vm_env[@]}" .venv/bin/chaos lab down --platform vagrant || true
  exit 130
}
if [[ "$vm" == 1 ]]; then
  rm -rf build/vm-tmp build/vm-state && mkdir -p build/vm-state
  vm_env=(env CHAOS_VAGRANT_ROOT="$PWD" CHAOS_VAGRANT_PROVIDER=libvirt
          CHAOS_JOURNAL="$PWD/build/vm-state/journal.jsonl"
          CHAOS_LOCK_DIR="$PWD/build/vm-state/locks")
  # whatever ends this script early, the guests it started do not outlive it
  trap 'stopped' INT TERM
  echo "== the guests boot in the background (build/vm-up.log)"
  "${vm_env[@]}" nice -n 19 .venv/bin/chaos lab up --platform vagrant >build/vm-up.log 2>&1 &
  up_pid=$!
fi

echo "== pytest"
status=0
# One process: the logic tests that time a real load generator against real servers (the fake
# platform's runs, the generator's own) fail when worker processes share the two cores with
# them (tried with pytest-xdist: connect timeouts to the test's own servers). The slowest
# tests, to keep CI short.
.venv/bin/python -m pytest -m "not vm" --durations=15 "$@" || status=$?
if [[ "$vm" == 1 ]]; then
  up_status=0
  wait "$up_pid" || up_status=$?
  up_pid=""
  echo "== the background boot: exit $up_status"
  tail -n 5 build/vm-up.log
  echo "== pytest, vm tests (three real guests)"
  vm_status=0
  "${vm_env[@]}" .venv/bin/python -m pytest -m vm tests/vm --durations=10 \
    --basetemp build/vm-tmp "$@" || vm_status=$?
  if [[ "$status" == 0 ]]; then status=$vm_status; fi
fi
exit "$status"
