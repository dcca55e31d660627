"""The project's error base class: bad input or a bad choice that the user can fix.

Every error a user can cause by what they type or give (a bad file, a bad option value, an unknown name, an
unwritable output) is a :class:`SpuriousError`. Its message is one line saying what is wrong and, for files,
where (``file:line: field 'x': ...``). ``spurious.cli.main`` catches the class once and prints
``error: <first line of the message>`` with exit code :attr:`SpuriousError.exit_code` (2); commands raise,
they do not print.
"""

from __future__ import annotations


class SpuriousError(ValueError):
    """A user-fixable error. The first line of its message says it all; later lines (a caret under a column)
    are optional detail that the command line leaves out."""

    exit_code = 2

    def one_line(self) -> str:
        """The message's first non-blank line, as the command line prints it."""
        lines = [line.strip() for line in str(self).splitlines() if line.strip()]
        return lines[0] if lines else type(self).__name__


class UsageError(SpuriousError):
    """An option value or a name that is not accepted (``--grader nosuch``, ``tiny:NOPE``, ``--limit 0``)."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(f"{option}: {message}" if option else message)
        self.option = option


def warn(message: str) -> None:
    """Print ``warning: <message>`` on one line to stderr (for input that is legal but probably a mistake)."""
    import sys

    print(f"warning: {' '.join(message.split())}", file=sys.stderr, flush=True)


def check_choice(value: str, choices, option: str, what: str = "value") -> None:
    """Raise :class:`UsageError` unless ``value`` is one of ``choices``
    (``--grader: unknown grader 'x': choose from default, official``)."""
    if value not in choices:
        raise UsageError(f"unknown {what} {value!r}: choose from {', '.join(choices)}", option=option)


def check_positive(**values: int | float | None) -> None:
    """Raise :class:`UsageError` for the first given value below 1 (None is skipped):
    ``check_positive(batch_size=0)`` -> ``--batch-size: must be >= 1, got 0``."""
    for name, v in values.items():
        if v is not None and not v >= 1:
            raise UsageError(f"must be >= 1, got {v}", option="--" + name.replace("_", "-"))
