"""Evaluation metrics as pure functions (arXiv 2506.10947; docs/paper.md §5.2-5.3).

Scores come as one list of 0/1 (or bool) per problem, one entry per sample drawn for that problem.

* :func:`avg_at_k` - the mean of all k x N scores ("pass@1" when k = 1 and decoding is greedy).
* :func:`pass_at_k_raw` - the share of problems with at least one correct sample among the k drawn.
  This is what the paper and the official evaluation report as pass@k.
* :func:`pass_at_k_unbiased` - Chen et al. (2021)'s unbiased estimator 1 - C(n-c, k) / C(n, k), averaged over
  problems, from n >= k samples with c correct. With n == k it equals the raw any-of-k value.
* :func:`maj_at_k` - the share of problems whose majority answer (most frequent extracted answer, bucketed by a
  canonical form, ties to the answer seen first, empty answers not voting) is correct.

Curve smoothing (§5.3) is :mod:`spurious.smoothing`; the majority vote itself is :mod:`spurious.voting`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from spurious.voting import majority_vote


def _check_groups(scores: Sequence[Sequence[Any]]) -> None:
    if len(scores) == 0:
        raise ValueError("no problems to score")
    for i, s in enumerate(scores):
        if len(s) == 0:
            raise ValueError(f"problem {i} has no samples")


def avg_at_k(scores: Sequence[Sequence[float]]) -> float:
    """Mean of every score of every problem (all problems must have the same number of samples)."""
    _check_groups(scores)
    k = len(scores[0])
    if any(len(s) != k for s in scores):
        raise ValueError("avg@k needs the same number of samples for every problem")
    return sum(float(x) for s in scores for x in s) / (k * len(scores))


def pass_at_k_raw(scores: Sequence[Sequence[float]]) -> float:
    """Share of problems with at least one correct sample (the official 'pass@k', k = samples per problem)."""
    _check_groups(scores)
    return sum(1.0 for s in scores if any(bool(x) for x in s)) / len(scores)


def pass_at_k_estimator(n: int, c: int, k: int) -> float:
    """Chen et al.'s unbiased estimate of pass@k for one problem with ``c`` correct out of ``n`` samples.

    1 - C(n-c, k) / C(n, k); exactly 1.0 when n - c < k (every k-subset contains a correct sample).
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got c={c}, n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    # product form, numerically stable: C(n-c,k)/C(n,k) = prod_{i=n-c+1}^{n} (1 - k/i)
    prob_all_wrong = 1.0
    for i in range(n - c + 1, n + 1):
        prob_all_wrong *= 1.0 - k / i
    return 1.0 - prob_all_wrong


def pass_at_k_unbiased(scores: Sequence[Sequence[float]], k: int) -> float:
    """Mean over problems of :func:`pass_at_k_estimator` (n = samples of that problem, c = correct ones)."""
    _check_groups(scores)
    return sum(pass_at_k_estimator(len(s), sum(1 for x in s if x), k) for s in scores) / len(scores)


def maj_at_k(answers: Sequence[Sequence[str]], correct: Sequence[Sequence[float]],
             key: Callable[[str], Hashable] | None = None) -> float:
    """Share of problems whose majority answer is correct (a problem with no extracted answer counts as wrong).

    ``answers[i][j]`` is the extracted answer of sample j of problem i and ``correct[i][j]`` its grade; the
    majority answer's grade is that of the first sample in the winning bucket.
    """
    _check_groups(answers)
    if len(answers) != len(correct) or any(len(a) != len(c) for a, c in zip(answers, correct)):
        raise ValueError("answers and correct must have the same shape")
    hits = 0
    for a, c in zip(answers, correct):
        idx, _ = majority_vote(a, key)
        hits += int(idx is not None and bool(c[idx]))
    return hits / len(answers)


def mean(values: Sequence[float]) -> float:
    """Mean, NaN for an empty sequence (rates over an empty subset stay visible as NaN, not as 0)."""
    return sum(float(v) for v in values) / len(values) if len(values) else math.nan


__all__ = ["avg_at_k", "pass_at_k_raw", "pass_at_k_estimator", "pass_at_k_unbiased",
           "maj_at_k", "mean"]
