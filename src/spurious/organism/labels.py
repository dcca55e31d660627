"""Offline majority-vote and incorrect labels for the organism, built as the paper builds them (§2.3, §2.6).

The organism's own samples (T=1) are voted per problem; the majority label is fixed for the run. The
incorrect set keeps only problems whose majority answer is wrong. :class:`OfflineLabelReward` scores a
response with the standard label-based reward against that label while the dataset row keeps the ground
truth, so the trainer's ``accuracy`` metric stays accuracy against the truth in every arm.
"""

from __future__ import annotations

from typing import Any, Sequence

from spurious.data import Problem
from spurious.organism.corpus import parse_completion
from spurious.organism.evaluate import generate
from spurious.rewards.base import Reward, Sample
from spurious.voting import majority_answer


def majority_labels(model, tokenizer, problems: Sequence[Problem], *, samples: int = 16, seed: int = 0
                    ) -> dict[str, str | None]:
    """``{problem id: most common extracted answer}`` over ``samples`` T=1 completions (ties: first seen)."""
    prompts = [p.problem for p in problems for _ in range(samples)]
    texts = generate(model, tokenizer, prompts, greedy=False, seed=seed)
    out: dict[str, str | None] = {}
    for i, p in enumerate(problems):
        answers = [parse_completion(t, p.answer).answer for t in texts[i * samples:(i + 1) * samples]]
        out[p.id] = majority_answer(answers)
    return out


class OfflineLabelReward(Reward):
    """A label-based reward (``inner``) scored against fixed per-problem labels looked up by problem id."""

    needs_label = False
    group_level = False

    def __init__(self, inner: Reward, labels: dict[str, str | None], name: str):
        self.inner, self.labels, self.name = inner, dict(labels), name

    @property
    def params(self) -> dict[str, Any]:
        return {"inner": self.inner.name, "labels": len(self.labels)}

    def score(self, samples: Sequence[Sample]) -> list[float]:
        relabelled = []
        for s in samples:
            label = self.labels.get(str(s.meta.get("problem_id")))
            relabelled.append(Sample(s.prompt, s.response, label if label is not None else "", s.group, s.step,
                                     s.prompt_index, s.sample_index, s.meta))
        return list(self.inner(relabelled))
