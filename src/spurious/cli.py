"""The ``spurious`` command line.

Each sub-command lives in ``spurious/commands/<name>.py`` and exposes ``register(app)``. Command
modules import heavy libraries (torch, transformers, trl) inside the command function, never at
module level, so ``spurious --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

# Set before torch is ever imported: idle OpenMP threads must not spin against other processes.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

app = typer.Typer(
    name="spurious",
    help="RLVR with verifiable and spurious rewards: grade, reward, train, evaluate, analyse, demo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Order here is the order in `spurious --help`.
COMMAND_MODULES = ("demo", "grade", "reward", "train", "eval", "label", "analyze", "organism")

for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"spurious.commands.{_name}")
    except ModuleNotFoundError as _e:  # a command not written yet must not break the others
        if _e.name != f"spurious.commands.{_name}":
            raise
        continue
    _mod.register(app)


def main() -> None:
    """Console entry point; turns input errors into a one-line message and exit code 2."""
    from spurious.io import InputError

    try:
        app()
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)  # one line whatever the terminal width; no markup in paths
        sys.exit(2)


if __name__ == "__main__":
    main()
