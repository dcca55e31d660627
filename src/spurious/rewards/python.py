"""Python reward (docs/paper.md §2.7; official key ``contain_python_wo_backticks``): ``"python" in response.lower()``.

The same test is the paper's code-reasoning detector (:func:`spurious.code_reasoning.mentions_python`).
"I will use Python" and "PYTHONIC" both score 1. The stricter official ``contain_python`` (a fenced
```` ```python ```` block) was not used by the paper and is not provided.
"""

from __future__ import annotations

from typing import Sequence

from spurious.code_reasoning import mentions_python
from spurious.rewards.base import Reward, Sample, binary
from spurious.rewards.registry import register_reward


@register_reward("python", "contain_python_wo_backticks")
class PythonReward(Reward):
    """Python (§2.7, key `contain_python_wo_backticks`): 1 iff the lower-cased response contains `python`."""

    def score(self, samples: Sequence[Sample]) -> list[float]:
        return binary(mentions_python(s.response) for s in samples)
