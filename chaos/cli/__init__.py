"""The ``chaos`` command line: thin commands that parse, call one library function, print.

Errors: only :class:`chaos.errors.ChaosError` is caught here; it becomes one line on stderr
and its ``exit_code``. Ctrl-C exits 130 after the library's own clean-up ran.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any

import click

from chaos import __version__
from chaos.errors import ChaosError
from chaos.experiment.stopping import Interrupted


class _Group(click.Group):
    """Maps the tool's own errors to one-line messages and exit codes, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChaosError as exc:
            click.echo(f"chaos: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("chaos: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("CHAOS_DEBUG"):
                raise
            click.echo(
                f"chaos: internal error: {exc!r} (a bug: rerun with CHAOS_DEBUG=1 for the "
                "traceback and report it)",
                err=True,
            )
            sys.exit(70)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chaos")
def cli() -> None:
    """Chaos experiments and availability benchmarks for Docker Swarm."""


def _register() -> None:
    from chaos.cli.doctor import doctor
    from chaos.cli.experiments import list_cmd, plan, recover_cmd, run, stop_cmd, validate
    from chaos.cli.gate import gate, suite
    from chaos.cli.lab import lab
    from chaos.cli.load import load
    from chaos.cli.report import compare, report

    for command in (
        lab, load, list_cmd, validate, plan, run, stop_cmd, recover_cmd, suite, gate, report,
        compare, doctor,
    ):  # fmt: skip
        cli.add_command(command)


_register()


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    # `chaos stop` between two runs of a sweep or suite (a run installs its own handler)
    raise Interrupted("stopped by `chaos stop`")


def main() -> None:
    signal.signal(signal.SIGUSR1, _stopped)
    cli(prog_name="chaos")
