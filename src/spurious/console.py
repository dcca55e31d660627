"""Consoles for command output: a terminal keeps its width; a pipe or a file gets lines that are never cut.

Rich lays tables out for 80 columns when the stream is not a terminal, which truncates or folds wide tables in
logs and redirected output. :func:`wide_console` gives such streams a width no table reaches.
"""

from __future__ import annotations

PIPE_WIDTH = 10_000  # columns assumed for a stream that is not a terminal: tables keep their natural width


def wide_console(stderr: bool = False):
    """A ``rich.console.Console`` on stdout (or stderr): the terminal's width on a terminal, else
    :data:`PIPE_WIDTH` columns, so tables and long lines reach a pipe or file whole."""
    from rich.console import Console

    console = Console(stderr=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=PIPE_WIDTH)
