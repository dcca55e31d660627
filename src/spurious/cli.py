"""The ``spurious`` command line.

Each sub-command lives in ``spurious/commands/<name>.py``: the command is a module-level function and
``register(app)`` adds it (``app.command("<name>")(function)``; ``organism`` adds its sub-command group).
Command modules import heavy libraries (torch, transformers, trl) inside the command function, never at
module level, so ``spurious --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
from typer.core import TyperGroup

from spurious.errors import SpuriousError

# Set before torch is ever imported: idle OpenMP threads must not spin against other processes.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class SpuriousGroup(TyperGroup):
    """The top-level command group: the one place where a :class:`SpuriousError` becomes ``error: <one line>``
    on stderr and its exit code (2), for every command and sub-command (also under ``typer.testing.CliRunner``)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SpuriousError as e:
            print(f"error: {e.one_line()}", file=sys.stderr, flush=True)  # plain print: never wrapped or styled
            ctx.exit(e.exit_code)


app = typer.Typer(
    name="spurious",
    cls=SpuriousGroup,
    help="RLVR with verifiable and spurious rewards: grade, reward, train, evaluate, analyse, demo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Order here is the order in `spurious --help`.
COMMAND_MODULES = ("demo", "grade", "reward", "train", "eval", "label", "analyze", "organism", "audit", "contamination")

for _name in COMMAND_MODULES:
    importlib.import_module(f"spurious.commands.{_name}").register(app)


def main() -> None:
    """Console entry point (errors are handled by :class:`SpuriousGroup`)."""
    app()


if __name__ == "__main__":
    main()
