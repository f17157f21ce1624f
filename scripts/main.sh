#!/usr/bin/env bash
# The main job on the local lab: set-up (idempotent), a three-manager swarm, the demo
# web service answering on every node IP, and the lab's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
.venv/bin/chaos lab up
.venv/bin/chaos lab web --replicas 2
.venv/bin/chaos lab status
