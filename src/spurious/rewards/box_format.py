"""Format reward (docs/paper.md §2.4; official key ``box_only_format``).

1 iff the content of the LAST ``boxed`` (brace-balanced, or up to the next ``$`` without a brace) is non-empty
after answer normalisation. So ``\\boxed{18} ... \\boxed{}`` scores 0, ``\\fbox{3}`` scores 0, and plain prose
such as "the boxed answer" scores 1, exactly as the official function does. Not the official ``format`` key
(1 iff any answer can be extracted), nor ``box_only_format_r1_style`` (not a box check at all).
"""

from __future__ import annotations

from typing import Sequence

from spurious.grading.official import box_only_format
from spurious.rewards.base import Reward, Sample, binary
from spurious.rewards.registry import register_reward


@register_reward("format", "box_only_format")
class BoxFormatReward(Reward):
    """Format (§2.4, key `box_only_format`): 1 iff the last `boxed` has non-empty normalised content."""

    def score(self, samples: Sequence[Sample]) -> list[float]:
        return binary(box_only_format(s.response) for s in samples)
