"""The reward interface: a :class:`Sample` in, one float out, for a whole batch at once.

Rewards are plain callables, as in TRL: ``reward(samples) -> list[float]``. Every reward of the paper
(arXiv 2506.10947; docs/paper.md §2) is binary, so its values are 0.0 or 1.0; weighted sums of rewards are not.

A reward that needs a label reads ``Sample.answer``; a group-level reward (majority vote) reads
``Sample.group`` and scores each group as a whole, whatever the order of the samples in the batch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence


@dataclass
class Sample:
    """One scored response.

    ``prompt``/``response``: the texts (response = completion only). ``answer``: the label the reward compares
    against (ground truth, majority-vote label or wrong label), ``None`` when there is none. ``group``: the key
    shared by the responses to one prompt. ``step``, ``prompt_index``, ``sample_index``: the identity of the
    draw (rollout phase, prompt, which of its G responses), used to key the random reward's RNG.
    ``grades``: gradings already made of this response against ``answer``, keyed by ``(grader, extract)``; a
    ground-truth reward with that grading uses them instead of grading again (the trainer grades each rollout
    once, :func:`spurious.measure.measure_rollouts`).
    """

    prompt: str
    response: str
    answer: str | None = None
    group: Hashable | None = None
    step: int = 0
    prompt_index: int = 0
    sample_index: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    grades: dict[tuple[str, str | None], Any] = field(default_factory=dict)


class Reward:
    """Base class: subclasses set ``name``, ``needs_label``, ``group_level`` and implement :meth:`score`.

    Calling a reward validates the batch (labels present if needed, groups present if group-level), runs
    :meth:`score`, checks one value per sample and returns floats.
    """

    name: str = "reward"
    needs_label: bool = False
    group_level: bool = False

    def score(self, samples: Sequence[Sample]) -> list[float]:
        raise NotImplementedError

    def __call__(self, samples: Sequence[Sample]) -> list[float]:
        samples = list(samples)
        check_samples(self, samples)
        values = self.score(samples)
        if len(values) != len(samples):
            raise ValueError(f"reward {self.name!r} returned {len(values)} values for {len(samples)} samples")
        return [float(v) for v in values]

    # Configuration ---------------------------------------------------------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        """The constructor parameters that define this reward (for provenance)."""
        return {}

    def with_seed(self, seed: int) -> "Reward":
        """This reward with every random part reseeded (rewards without randomness return themselves)."""
        return self

    @classmethod
    def describe(cls) -> str:
        """One line: the first line of the class docstring."""
        doc = (cls.__doc__ or cls.name).strip()
        return doc.splitlines()[0].strip()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})" if args else f"{type(self).__name__}()"

    def _replace(self, **changes: Any) -> "Reward":
        new = copy.copy(self)
        new.__dict__.update(changes)
        return new


def check_samples(reward: Reward, samples: Sequence[Sample]) -> None:
    """Raise ``ValueError`` naming the first sample that lacks what ``reward`` needs."""
    for i, s in enumerate(samples):
        if not isinstance(s.response, str):
            raise ValueError(f"reward {reward.name!r}: sample {i} has a non-string response "
                             f"({type(s.response).__name__})")
        if reward.needs_label and s.answer is None:
            raise ValueError(f"reward {reward.name!r} needs a label: sample {i} has answer=None")
        if reward.group_level and s.group is None:
            raise ValueError(f"reward {reward.name!r} is group-level: sample {i} has group=None")


def group_positions(samples: Sequence[Sample]) -> dict[Hashable, list[int]]:
    """Positions of each group's samples, groups in order of first appearance."""
    groups: dict[Hashable, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(s.group, []).append(i)
    return groups


def score_groups(reward: Callable[[Sequence[Sample]], Sequence[float]], samples: Sequence[Sample]) -> list[float]:
    """Score each group of ``samples`` (by ``Sample.group``) on its own and return values in input order.

    A group-level reward scored this way gives the same values however its batch is ordered or interleaved.
    """
    out: list[float] = [0.0] * len(samples)
    for positions in group_positions(samples).values():
        values = reward([samples[i] for i in positions])
        if len(values) != len(positions):
            raise ValueError(f"reward returned {len(values)} values for a group of {len(positions)}")
        for i, v in zip(positions, values):
            out[i] = float(v)
    return out


def binary(flags) -> list[float]:
    """Booleans to the paper's {0.0, 1.0} rewards."""
    return [1.0 if f else 0.0 for f in flags]
