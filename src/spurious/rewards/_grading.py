"""The grading package as rewards reach it: through :func:`grading`, the one seam a test replaces with a fake."""

from __future__ import annotations

import spurious.grading as _grading

GRADERS = ("default", "official")
EXTRACT_MODES = (None, "boxed", "official", "r1")


def grading():
    """The :mod:`spurious.grading` module."""
    return _grading


def check_grader(grader: str, extract: str | None) -> None:
    """Raise ``ValueError`` for an unknown grader or extraction mode."""
    if grader not in GRADERS:
        raise ValueError(f"unknown grader {grader!r}; choose from {', '.join(GRADERS)}")
    if extract not in EXTRACT_MODES:
        raise ValueError(f"unknown extract mode {extract!r}; choose from None, boxed, official, r1")
