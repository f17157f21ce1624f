#!/usr/bin/env bash
# The whole test suite: set-up (idempotent, the VM platform's packages included), lint, types,
# tests. Extra args go to pytest.
#
# The vm tests (three real QEMU guests, tests/vm) run in a second pytest beside the rest, not
# after it: under TCG they are minutes of guest boot and swarm's own waits, while the lab's
# tests mostly wait on swarm too (the host's two cores are far from busy). Every guest, its
# libvirtd and dnsmasq run at nice 19 and the vm pytest at nice 10, so the lab's load
# generator and engines keep first call on the CPU. The vm tests have their own fault journal,
# lock directory and temporary directory; their output is printed when both are done.
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
mkdir -p build
vm_log=build/vm-tests.log
vm_pid=""
if [[ "$vm" == 1 ]]; then
  echo "(the vm tests run beside these: $vm_log, printed at the end)"
  rm -rf build/vm-tmp
  nice -n 10 .venv/bin/python -m pytest -m vm tests/vm --durations=10 \
    --basetemp build/vm-tmp "$@" >"$vm_log" 2>&1 &
  vm_pid=$!
  # a Ctrl-C or a CI timeout of this script ends the vm tests too (their fixture takes the
  # guests down on the way out)
  trap '[ -n "$vm_pid" ] && kill -INT "$vm_pid" 2>/dev/null; wait "$vm_pid" 2>/dev/null' EXIT
fi
status=0
# the slowest tests, to keep CI short
.venv/bin/python -m pytest -m "not vm" --durations=15 "$@" || status=$?
if [[ -n "$vm_pid" ]]; then
  vm_status=0
  wait "$vm_pid" || vm_status=$?
  vm_pid=""
  echo "== pytest, vm tests (beside the above; exit $vm_status)"
  cat "$vm_log"
  if [[ "$status" == 0 ]]; then status=$vm_status; fi
fi
exit "$status"
