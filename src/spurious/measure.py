"""What is measured on every response, in training and in evaluation alike: :func:`measure_rollouts`.

It fills a :class:`spurious.rollout.Rollout`'s grading fields (``extracted``, ``correct``, ``status``: one call of
:func:`spurious.grading.grade_many` for the whole batch) and its behaviour flags (``code`` by the paper's rule,
``code_fenced``, ``format`` = the paper's format reward, ``boxed``). The trainer measures each rollout once, before
the reward scores it, and hands the grades to the reward (a ground-truth reward with the same grader reuses them
instead of grading again); evaluation measures its samples the same way.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from spurious.code_reasoning import is_code_reasoning
from spurious.grading import GradeResult, box_only_format, grade_many
from spurious.rollout import Rollout

AccuracyFn = Callable[[Sequence[str], Sequence[str]], Sequence[bool]]
GradingSpec = tuple[str, "str | None"]  # (grader, extract mode), the key of Sample.grades

_BOXED = re.compile(r"\\boxed\s*\{")


def last_boxed_content(text: str) -> str | None:
    """Brace-balanced content of the last ``\\boxed{...}``; None when there is none or it is unclosed.

    Not the graders' :func:`spurious.grading.last_boxed` on purpose: the boxed rate reports the literal
    ``\\boxed{...}`` form the paper's prompt asks for, where the graders' finder also accepts ``\\fbox`` and the
    brace-less ``\\boxed 5`` so as to grade whatever the model wrote."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    i, depth = starts[-1], 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
    return None


def has_boxed_answer(text: str) -> bool:
    """True iff the last ``\\boxed{...}`` exists, is closed and holds non-blank content (the "boxed rate")."""
    content = last_boxed_content(text)
    return content is not None and content.strip() != ""


def flag_behaviour(rollouts: Sequence[Rollout]) -> None:
    """Set ``code``, ``code_fenced``, ``format`` and ``boxed`` of each rollout from its response."""
    for r in rollouts:
        r.code = is_code_reasoning(r.response, "python")
        r.code_fenced = is_code_reasoning(r.response, "fenced")
        r.format = bool(box_only_format(r.response))
        r.boxed = has_boxed_answer(r.response)


def grade_rollouts(rollouts: Sequence[Rollout], *, grader: str = "default", extract: str | None = None,
                   timeout: float = 5.0, workers: int | None = None) -> None:
    """Set ``extracted``, ``correct`` and ``status`` of each labelled rollout (one ``grade_many`` call)."""
    labelled = [r for r in rollouts if r.answer is not None]
    if not labelled:
        return
    results = grade_many([r.response for r in labelled], [str(r.answer) for r in labelled], grader=grader,
                         extract=extract, timeout=timeout, workers=workers)
    for r, g in zip(labelled, results):
        r.extracted, r.correct, r.status = g.extracted, bool(g.correct), g.status


def measure_rollouts(rollouts: Sequence[Rollout], *, grader: str = "default", extract: str | None = None,
                     accuracy_fn: AccuracyFn | None = None, grade: bool = True, timeout: float = 5.0,
                     workers: int | None = None) -> GradingSpec | None:
    """Flag behaviour and grade ``rollouts`` in place; returns the ``(grader, extract)`` the grades were made with
    (None when not graded by the project grader: ``grade=False``, or ``accuracy_fn`` gave the verdicts)."""
    flag_behaviour(rollouts)
    if not grade:
        return None
    if accuracy_fn is not None:
        labelled = [r for r in rollouts if r.answer is not None]
        if labelled:
            for r, ok in zip(labelled, accuracy_fn([r.response for r in labelled], [str(r.answer) for r in labelled])):
                r.correct = bool(ok)
        return None
    grade_rollouts(rollouts, grader=grader, extract=extract, timeout=timeout, workers=workers)
    return grader, extract


def grade_of(rollout: Rollout) -> GradeResult | None:
    """The rollout's grading as a :class:`GradeResult` (None when it was not graded)."""
    if rollout.correct is None or rollout.status is None:
        return None
    return GradeResult(rollout.extracted, rollout.correct, rollout.status)
