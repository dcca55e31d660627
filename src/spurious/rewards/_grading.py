"""The grading functions rewards use, imported on first use (keeps ``import spurious.rewards`` light)."""

from __future__ import annotations

GRADERS = ("default", "official")
EXTRACT_MODES = (None, "boxed", "official", "r1")


def grading():
    """The :mod:`spurious.grading` module."""
    import spurious.grading as g

    return g


def check_grader(grader: str, extract: str | None) -> None:
    """Raise ``ValueError`` for an unknown grader or extraction mode."""
    if grader not in GRADERS:
        raise ValueError(f"unknown grader {grader!r}; choose from {', '.join(GRADERS)}")
    if extract not in EXTRACT_MODES:
        raise ValueError(f"unknown extract mode {extract!r}; choose from None, boxed, official, r1")
