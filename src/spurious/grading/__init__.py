"""Answer extraction and grading for math rewards and evaluation.

- :func:`extract_answer` -- modes ``"boxed"``, ``"r1"``, ``"official"`` (None when there is no answer).
- :func:`grade` / :func:`grade_many` -- ``grader="default"`` (exact fast paths, then math-verify in a
  deadline-bounded process pool) or ``grader="official"`` (the paper's parser + PRM800K grader, quirks included).
- :func:`answers_equivalent` and :func:`canonical_answer` -- for majority-vote labelling.
- :func:`grader_stats` -- counts by status, timeouts, cache hits, items/s; :func:`grader_metrics` -- the counts
  between two snapshots as flat ``grader/...`` metrics for a training log.
- :mod:`spurious.grading.official` -- ``official_extract``, ``official_normalize``, ``official_grade_answer``,
  ``box_only_format``.

See ``docs/grading.md`` for where the two graders disagree and why.
"""

from spurious.grading.extract import EXTRACT_MODES, all_boxed, extract_answer, last_boxed
from spurious.grading.grader import (
    GRADERS,
    STATUSES,
    GradeResult,
    GraderStats,
    answers_equivalent,
    clear_cache,
    grade,
    grade_many,
    grader_metrics,
    grader_stats,
    reset_grader_stats,
    shutdown_pool,
)
from spurious.grading.normalize import canonical_answer
from spurious.grading.official import box_only_format, official_extract, official_grade_answer, official_normalize

__all__ = [
    "EXTRACT_MODES",
    "GRADERS",
    "STATUSES",
    "all_boxed",
    "GradeResult",
    "GraderStats",
    "answers_equivalent",
    "box_only_format",
    "canonical_answer",
    "clear_cache",
    "extract_answer",
    "grade",
    "grade_many",
    "grader_metrics",
    "grader_stats",
    "last_boxed",
    "official_extract",
    "official_grade_answer",
    "official_normalize",
    "reset_grader_stats",
    "shutdown_pool",
]
