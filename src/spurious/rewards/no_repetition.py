"""No-repetition reward (docs/paper.md §2.9; official key ``no_repetition``).

0 iff some substring of 10 to 256 characters occurs at least 10 times back to back (consecutive,
non-overlapping copies); otherwise 1. Repeats that are not adjacent do not count. The paper's prose says
"repeated more than 10 times"; the official code, followed here, counts 10 copies.

The official detector scans all (start, length) pairs by brute force. This one gives the same verdict in
O(247·n) vectorised steps: a block of 10 copies of a length-L unit starting at i is exactly a run of
``9·L`` consecutive positions j with ``s[j] == s[j+L]``, so for each period L it looks for such a run.
A cheap pre-check first skips texts in which no 10-character substring occurs 10 times at all.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from spurious.rewards.base import Reward, Sample, binary
from spurious.rewards.registry import register_reward

MIN_UNIT, MAX_UNIT, MIN_COPIES = 10, 256, 10
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)


def _codes(text: str) -> np.ndarray:
    # surrogatepass: a lone surrogate ("\\ud800", valid in a Python str and in JSON) is one code unit like any other
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _some_gram_repeats(a: np.ndarray, k: int, times: int) -> bool:
    """Whether some length-k window occurs ``times`` times or more (hash collisions only add false positives)."""
    n = len(a) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    a64 = a.astype(np.uint64)
    with np.errstate(over="ignore"):
        for i in range(k):
            h = h * _HASH_MULT + a64[i:i + n] + np.uint64(1)
    _, counts = np.unique(h, return_counts=True)
    return bool(counts.max() >= times)


def has_repetition(text: str, min_unit: int = MIN_UNIT, max_unit: int = MAX_UNIT, copies: int = MIN_COPIES) -> bool:
    """True iff some substring of ``min_unit``..``max_unit`` characters occurs ``copies`` times back to back."""
    n = len(text)
    if n < min_unit * copies:
        return False
    a = _codes(text)
    if not _some_gram_repeats(a, min_unit, copies):
        return False
    for unit in range(min_unit, min(max_unit, n // copies) + 1):
        need = (copies - 1) * unit  # consecutive matches s[j] == s[j+unit]
        eq = a[:-unit] == a[unit:]
        mismatches = np.flatnonzero(~eq)
        if len(mismatches) == 0:
            if len(eq) >= need:
                return True
            continue
        bounds = np.concatenate(([-1], mismatches, [len(eq)]))
        if int(np.diff(bounds).max()) - 1 >= need:
            return True
    return False


def has_repetition_brute_force(text: str, min_unit: int = MIN_UNIT, max_unit: int = MAX_UNIT,
                               copies: int = MIN_COPIES) -> bool:
    """The official detector's rule, scanned naively over every (unit length, start): the reference that
    :func:`has_repetition` is tested and benchmarked against. O(n·units); not for production use."""
    for unit in range(min_unit, max_unit + 1):
        for i in range(len(text) - copies * unit + 1):
            if text[i:i + copies * unit] == text[i:i + unit] * copies:
                return True
    return False


@register_reward("no_repetition")
class NoRepetitionReward(Reward):
    """No repetition (§2.9, key `no_repetition`): 0 iff a 10-256 char substring occurs 10+ times back to back."""

    def score(self, samples: Sequence[Sample]) -> list[float]:
        return binary(not has_repetition(s.response) for s in samples)
