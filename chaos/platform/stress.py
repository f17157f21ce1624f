"""CPU and memory pressure on a remote node (vagrant, ssh): POSIX shell run over ssh.

``cpu`` busy loops and a pipeline that holds ``memory`` bytes (``head -c N /dev/zero | tail``:
``tail`` keeps the one endless line it is given), each in a process group of its own whose
id is written to ``PIDS``; undone by killing those groups. The lab does the same in the node's
cgroups (:mod:`chaos.lab.pressure`).
"""

from __future__ import annotations

PIDS = "/run/swarm-chaos-stress.pgids"
_SUDO = 'S=; [ "$(id -u)" = 0 ] || S="sudo -n"'


def stress_script(cpu: int, memory: int) -> str:
    lines = [_SUDO, unstress_body()]
    start = "$S setsid sh -c {cmd} >/dev/null 2>&1 </dev/null & echo $! | $S tee -a " + PIDS
    for _ in range(cpu):
        lines.append(start.format(cmd="'while :; do :; done'") + " >/dev/null")
    if memory:
        hold = f"'head -c {int(memory)} /dev/zero | tail >/dev/null'"
        lines.append(start.format(cmd=hold) + " >/dev/null")
    return "\n".join(lines) + "\n"


def unstress_body() -> str:
    return (
        f'if [ -f {PIDS} ]; then for g in $($S cat {PIDS}); do $S kill -KILL -- "-$g" '
        f"2>/dev/null; done; $S rm -f {PIDS}; fi"
    )


def unstress_script() -> str:
    return f"{_SUDO}\n{unstress_body()}\ntrue\n"


def status_script() -> str:
    return f"{_SUDO}\nif [ -s {PIDS} ]; then echo stressed; else echo calm; fi\n"
