"""Incorrect-label reward (docs/paper.md §2.6): the ground-truth reward, scored against a WRONG label.

The labels are the model's own majority-vote answers, kept only where they are graded not equivalent to the
ground truth; ``spurious label --incorrect-only`` builds that data and stores the wrong label in ``answer``.
Officially this is key ``math`` on an ``_incorrect`` dataset. It is not ``inverse_math`` (1 − ground truth),
which the official code has but the paper did not use.
"""

from __future__ import annotations

from spurious.rewards.ground_truth import GroundTruthReward
from spurious.rewards.registry import register_reward


@register_reward("incorrect", "incorrect_label")
class IncorrectLabelReward(GroundTruthReward):
    """Incorrect label (§2.6, key `math` on wrong MV labels): 1 iff the answer matches the wrong label in `answer`."""
