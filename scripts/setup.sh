#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine, run as root:
#   - the Debian packages the lab and the tests need (only those missing are installed),
#   - the project's Python environment in .venv (re-synced only when pyproject.toml changed),
#   - `chaos` on PATH (/usr/local/bin/chaos -> .venv/bin/chaos) and its bash completion
#     (scripts/install-cli.sh).
# Never starts the host's own Docker engine: the lab runs engines of its own.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

extra=()
for arg in "$@"; do
  case "$arg" in
    --bench) extra+=(nginx-light wrk) ;;
    # real VMs for --platform vagrant: Vagrant with vagrant-libvirt, libvirtd and QEMU, and
    # what `chaos lab box` builds the guests' box with (debootstrap, qemu-img)
    --vm) extra+=(qemu-system-x86 qemu-utils debootstrap vagrant vagrant-libvirt
                  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients dnsmasq-base
                  ebtables) ;;
    --browser) ;;  # chromium is always installed now (the report tests need it)
    *) echo "setup.sh: unknown option $arg (use --bench, --browser or --vm)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (the lab creates network namespaces and engines); try: sudo $0" >&2
  exit 2
fi

# package -> a file it installs, so a present package costs no apt call
declare -A probe=(
  [docker.io]=/usr/sbin/dockerd
  [containerd]=/usr/bin/containerd
  [runc]=/usr/sbin/runc
  [busybox-static]=/bin/busybox
  [iptables]=/usr/sbin/iptables
  [iproute2]=/usr/sbin/ip
  [util-linux]=/usr/bin/nsenter
  [procps]=/usr/bin/pgrep
  [python3]=/usr/bin/python3
  [python3-venv]=/usr/lib/python3.11/ensurepip/__init__.py
  [nginx-light]=/usr/sbin/nginx
  [wrk]=/usr/bin/wrk
  [chromium]=/usr/bin/chromium
  [openssh-server]=/usr/sbin/sshd
  [openssh-client]=/usr/bin/ssh
  [conntrack]=/usr/sbin/conntrack
  [qemu-system-x86]=/usr/bin/qemu-system-x86_64
  [qemu-utils]=/usr/bin/qemu-img
  [debootstrap]=/usr/sbin/debootstrap
  [vagrant]=/usr/bin/vagrant
  [libvirt-daemon-system]=/usr/sbin/libvirtd
  [libvirt-daemon-driver-qemu]=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so
  [libvirt-clients]=/usr/bin/virsh
  [dnsmasq-base]=/usr/sbin/dnsmasq
  [ebtables]=/usr/sbin/ebtables
  [gcc]=/usr/bin/gcc
  [python3-dev]=/usr/include/python3.11/Python.h
  [libnetfilter-queue-dev]=/usr/include/libnetfilter_queue/libnetfilter_queue.h
  [bash-completion]=/usr/share/bash-completion/bash_completion
)
want=(docker.io containerd runc busybox-static iptables iproute2 util-linux procps conntrack gcc python3-dev libnetfilter-queue-dev python3 python3-venv chromium openssh-server openssh-client bash-completion "${extra[@]}")
missing=()
for pkg in "${want[@]}"; do
  f="${probe[$pkg]:-}"
  if [ -n "$f" ] && [ -e "$f" ]; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing Debian packages: ${missing[*]}"
  # Keep package scripts from starting the host's docker/nginx services: the lab starts its own.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; made_policy=1
  fi
  trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python environment: the project's venv, built with a Python >= 3.11.
py=""
for cand in python3.11 python3.12 python3.13 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    py="$(command -v "$cand")"; break
  fi
done
if [ -z "$py" ]; then
  echo "setup.sh: no Python >= 3.11 with venv found; install python3 and python3-venv" >&2
  exit 3
fi
stamp=.venv/.synced
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
bash scripts/install-cli.sh
echo "setup.sh: ready (Python $(.venv/bin/python -c 'import platform; print(platform.python_version())'), $(/usr/sbin/dockerd --version 2>/dev/null | cut -d, -f1))"
