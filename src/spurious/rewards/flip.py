"""``flip``: any reward with its verdict flipped with probability p, for reward-noise dose-response studies.

arXiv 2505.22653 trains on rewards whose labels are flipped at a fixed rate; ``flip(reward=X, p=P)`` does the
same to any reward X: each sample's value v becomes 1 - v with probability p (for the paper's binary rewards,
the other verdict). The flip draw is the random reward's (:func:`spurious.rewards.random_reward.uniform`,
keyed by seed, phase, prompt and sample): reproducible per sample, and a sample is flipped iff its uniform is
below p, so ``flip(reward=constant, p=P)`` with seed s rewards exactly what ``random(gamma=P, seed=s)`` rewards
(p = 0.5: the random reward). Reseeding reseeds the inner reward with the same seed, so a random inner reward
should be given its own seed (``flip(reward='random(seed=1)', p=0.2)``), or its draws and the flips coincide.
"""

from __future__ import annotations

from typing import Any, Sequence

from spurious.rewards.base import Reward, Sample
from spurious.rewards.random_reward import uniform
from spurious.rewards.registry import get_reward, register_reward


@register_reward("flip")
class FlipReward(Reward):
    """Flip: another reward's verdict (v -> 1 - v) flipped with probability p, seeded per sample."""

    def __init__(self, reward: str | Reward = "ground_truth", p: float = 0.0, seed: int = 0):
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"flip reward: p must be in [0, 1], got {p}")
        self.inner = get_reward(reward)
        self.spec = reward if isinstance(reward, str) else repr(reward)
        self.p, self.seed = p, int(seed)
        self.needs_label, self.group_level = self.inner.needs_label, self.inner.group_level
        self.name = f"flip({self.inner.name},p={p:g})"
        self.last_stats: dict[str, float] = {}

    @property
    def params(self) -> dict[str, Any]:
        return {"reward": self.spec, "p": self.p, "seed": self.seed}

    def with_seed(self, seed: int) -> Reward:
        return self._replace(seed=int(seed), inner=self.inner.with_seed(seed))

    def score(self, samples: Sequence[Sample]) -> list[float]:
        values = self.inner(samples)
        flips = [uniform(self.seed, s.step, s.prompt_index, s.sample_index) < self.p for s in samples]
        inner_stats = getattr(self.inner, "last_stats", None) or {}
        self.last_stats = {**inner_stats, "flipped_frac": sum(flips) / len(flips) if flips else 0.0}
        return [1.0 - v if f else v for v, f in zip(values, flips)]
