#!/usr/bin/env bash
# `chaos` on PATH and its bash completion, touching nothing else of the host's Python:
#   - a symlink $CHAOS_BIN_DIR/chaos (default /usr/local/bin) -> this checkout's .venv/bin/chaos
#     (the venv's own entry point, which runs the venv's python: no package goes anywhere else);
#   - $CHAOS_COMPLETION_DIR/chaos (default /etc/bash_completion.d), click's bash completion
#     script, loaded by the bash-completion package in interactive shells.
# Idempotent: rewrites only what changed. A file there that is not ours (not a symlink to a
# swarm-chaos checkout's venv, not a completion file with our first line) is left alone, with
# one line on stderr saying so. Called by scripts/setup.sh; the variables are for tests.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${CHAOS_BIN_DIR:-/usr/local/bin}"
completion_dir="${CHAOS_COMPLETION_DIR:-/etc/bash_completion.d}"
target="$here/.venv/bin/chaos"
link="$bin_dir/chaos"
completion="$completion_dir/chaos"
marker="# bash completion for chaos (swarm-chaos), written by scripts/install-cli.sh"

if [ ! -x "$target" ]; then
  echo "install-cli: $target is missing: run scripts/setup.sh first" >&2
  exit 3
fi

# A symlink of ours points at some checkout's .venv/bin/chaos: this one, another clone that
# still has this script, or one that is gone (a dangling link, e.g. a CI clone removed since).
ours() {
  [ -L "$1" ] || return 1
  local to
  to="$(readlink "$1")"
  case "$to" in */.venv/bin/chaos) ;; *) return 1 ;; esac
  local checkout="${to%/.venv/bin/chaos}"
  [ ! -e "$to" ] || [ -f "$checkout/scripts/install-cli.sh" ]
}

# Replace atomically (a new name, then rename over): a shell looking `chaos` up meanwhile
# finds the old entry or the new one, never none.
mkdir -p "$bin_dir"
if [ -L "$link" ] && [ "$(readlink "$link")" = "$target" ]; then
  :
elif { [ ! -e "$link" ] && [ ! -L "$link" ]; } || ours "$link"; then
  ln -s "$target" "$link.new.$$"
  mv -fT "$link.new.$$" "$link"
  echo "install-cli: $link -> $target"
else
  echo "install-cli: $link exists and is not swarm-chaos's: left as it is (run $target)" >&2
fi

script="$(printf '%s\n' "$marker"; _CHAOS_COMPLETE=bash_source "$target")"
mkdir -p "$completion_dir"
if [ -e "$completion" ] && [ "$(head -n 1 "$completion")" != "$marker" ]; then
  echo "install-cli: $completion exists and is not swarm-chaos's: left as it is" >&2
elif [ ! -f "$completion" ] || [ "$(cat "$completion")" != "$script" ]; then
  printf '%s\n' "$script" >"$completion.new.$$"
  mv -f "$completion.new.$$" "$completion"
  echo "install-cli: bash completion in $completion (new shells)"
fi
