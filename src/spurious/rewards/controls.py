"""No-signal controls: ``constant`` (no reward signal at all) and ``noise`` (Gaussian values, no content).

Official repo issue #8 asks for a KL-only / noise-only control: the same update schedule with no reward
signal. ``constant`` gives every rollout the same value, so every group has zero variance and every
advantage is 0: with ``beta > 0`` only the KL term acts (the KL-only control, whose gradient is exactly 0
while the policy equals the reference, so the run measures the update machinery alone); with
``entropy_coef`` only the entropy term acts (the entropy-minimisation arm). ``noise`` draws r ~ N(0, 1) per
sample from the random reward's seeded generator (inverse normal CDF of
:func:`spurious.rewards.random_reward.uniform`): advantages of pure noise, through the same clipped schedule.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any, Sequence

from spurious.rewards.base import Reward, Sample
from spurious.rewards.random_reward import uniform
from spurious.rewards.registry import register_reward

_TINY = 2.0 ** -53


@register_reward("constant")
class ConstantReward(Reward):
    """Constant: the same value for every response (no learning signal; the KL-only control with beta > 0)."""

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    @property
    def params(self) -> dict[str, Any]:
        return {"value": self.value}

    def score(self, samples: Sequence[Sample]) -> list[float]:
        return [self.value] * len(samples)


@register_reward("noise")
class NoiseReward(Reward):
    """Noise: r ~ N(mean, std) independent of the response, seeded per draw (the noise-only control)."""

    def __init__(self, mean: float = 0.0, std: float = 1.0, seed: int = 0):
        if float(std) < 0:
            raise ValueError(f"noise reward: std must be >= 0, got {std}")
        self.dist = NormalDist(float(mean), float(std)) if float(std) > 0 else None
        self.mean, self.std, self.seed = float(mean), float(std), int(seed)

    @property
    def params(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "seed": self.seed}

    def with_seed(self, seed: int) -> Reward:
        return self._replace(seed=int(seed))

    def score(self, samples: Sequence[Sample]) -> list[float]:
        if self.dist is None:
            return [self.mean] * len(samples)
        return [self.dist.inv_cdf(max(uniform(self.seed, s.step, s.prompt_index, s.sample_index), _TINY))
                for s in samples]
