"""Random reward (docs/paper.md §2.5; official key ``randomP``, e.g. ``random0.5``): r ~ Bernoulli(γ), ignoring content.

Unlike the official code (Python's unseeded global ``random``, so runs cannot be repeated), each draw comes from
a dedicated generator keyed by ``(seed, step, prompt_index, sample_index)``: a response's reward depends on
nothing else, so reruns, reordered batches and any number of processes give identical rewards. With the same
key, a smaller γ rewards a subset of what a larger γ rewards. γ = 0 gives all zeros (no learning signal);
γ = 1 all ones. Two random parts of one expression with the same γ and seed draw identical values; give them
different seeds (``random(seed=1)``) to decorrelate them.

``antithetic=True`` mirrors every draw (u -> 1 - u): still Bernoulli(γ) for each response, but the exact
opposite of the plain reward with the same seed at γ = 0.5 (every group's advantages negated). A run and its
antithetic twin form a variance-reduced pair (the demo's paired arms, docs/organism.md).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, Sequence

from spurious.rewards.base import Reward, Sample
from spurious.rewards.registry import register_reward

_TWO_53 = float(2**53)


def uniform(seed: int, step: int, prompt_index: int, sample_index: int) -> float:
    """A uniform number in [0, 1) that depends only on its four integer keys (BLAKE2b, 53 bits)."""
    key = ":".join(str(int(x)) for x in (seed, step, prompt_index, sample_index)).encode()
    (h,) = struct.unpack("<Q", hashlib.blake2b(key, digest_size=8, person=b"spurious-rand").digest())
    return (h >> 11) / _TWO_53


@register_reward("random")
class RandomReward(Reward):
    """Random (§2.5, key `randomP`): 1 with probability gamma, independent of the response; seeded per draw."""

    def __init__(self, gamma: float = 0.5, seed: int = 0, antithetic: bool = False):
        gamma = float(gamma)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"random reward: gamma must be in [0, 1], got {gamma}")
        self.gamma, self.seed, self.antithetic = gamma, int(seed), bool(antithetic)

    @property
    def params(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "seed": self.seed, **({"antithetic": True} if self.antithetic else {})}

    def with_seed(self, seed: int) -> Reward:
        return self._replace(seed=int(seed))

    def score(self, samples: Sequence[Sample]) -> list[float]:
        out = []
        for s in samples:
            u = uniform(self.seed, s.step, s.prompt_index, s.sample_index)
            out.append(1.0 if (1.0 - u if self.antithetic else u) < self.gamma else 0.0)
        return out
