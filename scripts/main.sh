#!/usr/bin/env bash
# The main job on the local lab: set-up (idempotent), then `chaos run leader-kill`: a real
# three-manager swarm on this host, a web service on every node IP under open-loop load, the
# raft leader halted and powered back, results and a verdict in reports/.
# Extra arguments go to `chaos run` (e.g. --set phases.observe=10s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
.venv/bin/chaos lab up
exec .venv/bin/chaos run leader-kill "$@"
