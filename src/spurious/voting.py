"""Majority vote over answers: the one implementation behind maj@k, the majority-vote reward, offline labelling
and the organism's labels (arXiv 2506.10947 §2.3, §5.2).

Empty (or whitespace-only) answers and ``None`` do not vote. Answers are bucketed by ``key`` (identity when
None), so ``1/2`` and ``\\frac{1}{2}`` can vote together; the bucket with most votes wins and a tie goes to the
bucket whose first member came first.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence


def majority_vote(answers: Sequence[Hashable | None], key: Callable[[Hashable], Hashable] | None = None,
                  ) -> tuple[int | None, int]:
    """Index of the first answer of the winning bucket and the bucket's size; ``(None, 0)`` when no answer votes."""
    first: dict[Hashable, int] = {}
    count: dict[Hashable, int] = {}
    for i, a in enumerate(answers):
        if a is None or not str(a).strip():
            continue
        b = key(a) if key is not None else a
        if b not in first:
            first[b] = i
            count[b] = 0
        count[b] += 1
    if not count:
        return None, 0
    winner = max(count, key=count.__getitem__)  # max() keeps the first maximum, in first-seen order
    return first[winner], count[winner]


def majority_answer(answers: Sequence[Hashable | None], key: Callable[[Hashable], Hashable] | None = None
                    ) -> Hashable | None:
    """The first-seen member of the winning bucket (None when no answer votes)."""
    idx, _ = majority_vote(answers, key)
    return None if idx is None else answers[idx]
