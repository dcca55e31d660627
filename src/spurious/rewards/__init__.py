"""Rewards of "Spurious Rewards" (arXiv 2506.10947; docs/paper.md §2) as plain callables: ``reward(samples) -> list[float]``.

>>> from spurious.rewards import get_reward, Sample
>>> get_reward("format & !python")([Sample(prompt="", response="so \\\\boxed{3}")])
[1.0]

Built-in rewards register themselves on import; :func:`list_rewards` shows them. See ``docs/rewards.md``.

Ours on purpose: TRL calls reward functions but ships none of the paper's rewards, and the official code's rewards
are tied to its trainer; these are small pure functions over :class:`Sample` s that any trainer (ours, plain
TRL through :mod:`spurious.rewards.trl`) or ``spurious reward`` can call.
"""

from spurious.rewards.base import Reward, Sample, binary, score_groups
from spurious.rewards.registry import get_reward, list_rewards, register_reward, reward_names
from spurious.rewards.user import FunctionReward

# Built-ins (import order = registration order; each module registers its reward).
from spurious.rewards import (  # noqa: E402,F401  isort:skip
    ground_truth, incorrect, box_format, random_reward, majority_vote, python, no_repetition, flip, controls,
)
from spurious.rewards.compose import AllOf, AnyOf, Not, Product, WeightedSum  # noqa: E402
from spurious.rewards.ground_truth import GroundTruthReward  # noqa: E402
from spurious.rewards.incorrect import IncorrectLabelReward  # noqa: E402
from spurious.rewards.box_format import BoxFormatReward  # noqa: E402
from spurious.rewards.random_reward import RandomReward  # noqa: E402
from spurious.rewards.majority_vote import MajorityVoteReward  # noqa: E402
from spurious.rewards.python import PythonReward  # noqa: E402
from spurious.rewards.no_repetition import NoRepetitionReward, has_repetition  # noqa: E402
from spurious.rewards.flip import FlipReward  # noqa: E402
from spurious.rewards.controls import ConstantReward, NoiseReward  # noqa: E402

__all__ = [
    "Reward", "Sample", "binary", "score_groups", "get_reward", "list_rewards", "register_reward", "reward_names",
    "FunctionReward", "AllOf", "AnyOf", "Not", "Product", "WeightedSum", "GroundTruthReward", "IncorrectLabelReward",
    "BoxFormatReward", "RandomReward", "MajorityVoteReward", "PythonReward", "NoRepetitionReward", "has_repetition",
    "FlipReward", "ConstantReward", "NoiseReward",
]
