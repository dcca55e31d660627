"""Majority-vote reward (docs/paper.md §2.3; official: key ``math`` on a relabelled dataset).

Two modes:

* ``online=True`` (default, group-level): within each group (the responses to one prompt) the label is the most
  common extracted answer. Answers are bucketed by :func:`spurious.grading.canonical_answer`; ties go to the
  bucket seen first; responses with no (or an empty) answer are dropped before voting, as in the official
  relabelling step. A response scores 1 iff its answer falls in the winning bucket. If no response in the group
  has an answer, every response scores 0. **Difference from the official offline path:** there an answer-less
  group gets the empty label, and the grader then rewards every answer-less response (weakness W4, §6.4).
  This is TTRL-style voting over the G rollouts, not the paper's 64-sample offline labels. If samples carry a
  dataset ``answer``, it is not used for the reward, only for the ``label_accuracy`` statistic (the share of
  voted labels graded equal to it, TTRL's label hit rate) in ``last_stats``.
* ``online=False``: the paper's setting. ``answer`` holds a fixed majority-vote label (``spurious label``
  builds it); the score is the ground-truth reward against it.
"""

from __future__ import annotations

from typing import Any, Hashable, Sequence

from spurious.rewards._grading import check_grader, grading
from spurious.rewards.base import Reward, Sample, group_positions
from spurious.rewards.ground_truth import GroundTruthReward
from spurious.rewards.registry import register_reward
from spurious.voting import majority_answer


@register_reward("majority_vote", "mv")
class MajorityVoteReward(Reward):
    """Majority vote (§2.3): 1 iff the answer equals the group's most common answer (online) or the MV label."""

    def __init__(self, online: bool = True, grader: str = "default", extract: str | None = None,
                 timeout: float = 5.0, workers: int | None = None):
        check_grader(grader, extract)
        self.online, self.grader, self.extract = bool(online), grader, extract
        self.timeout, self.workers = float(timeout), workers
        self.group_level, self.needs_label = self.online, not self.online
        self.last_stats: dict[str, float] = {}

    @property
    def params(self) -> dict[str, Any]:
        return {"online": self.online, "grader": self.grader, "extract": self.extract,
                "timeout": self.timeout, "workers": self.workers}

    def extracted(self, response: str) -> str | None:
        """The response's answer as this reward's grader sees it (None if there is none)."""
        g = grading()
        mode = self.extract or ("official" if self.grader == "official" else "boxed")
        if self.grader == "default":
            return g.extract_answer(response, mode)
        if mode in ("official", "r1"):  # the official parser, normalised; "" means no answer
            return g.official_extract(response, r1_style=mode == "r1") or None
        boxed = g.extract_answer(response, mode)
        return (g.official_normalize(boxed) or None) if boxed is not None else None

    def answer_keys(self, responses: Sequence[str]) -> list[Hashable | None]:
        """Each response's voting bucket: the canonical form of its extracted answer, None if it has none."""
        canonical = grading().canonical_answer
        keys: list[Hashable | None] = []
        for text in responses:
            ans = self.extracted(text)
            keys.append((canonical(ans) or None) if ans is not None and ans.strip() else None)
        return keys

    def score(self, samples: Sequence[Sample]) -> list[float]:
        if not self.online:
            return GroundTruthReward(self.grader, self.extract, self.timeout, self.workers)(samples)
        keys = self.answer_keys([s.response for s in samples])
        out = [0.0] * len(samples)
        groups = group_positions(samples)
        voted: list[int] = []  # per labelled group: the position of one response in the winning bucket
        for positions in groups.values():
            winner = majority_answer([keys[i] for i in positions])
            if winner is None:
                continue  # no answer in the group: all 0 (the official offline path would reward them, W4)
            voted.append(next(i for i in positions if keys[i] == winner))
            for i in positions:
                out[i] = 1.0 if keys[i] == winner else 0.0
        self.last_stats = {"groups_with_label": len(voted) / len(groups) if groups else 0.0}
        with_gold = [i for i in voted if samples[i].answer is not None]
        if with_gold:  # TTRL's label hit rate: is the voted answer graded equal to the dataset answer?
            results = grading().grade_many([samples[i].response for i in with_gold],
                                           [str(samples[i].answer) for i in with_gold], grader=self.grader,
                                           extract=self.extract, timeout=self.timeout, workers=self.workers)
            self.last_stats["label_accuracy"] = sum(r.correct for r in results) / len(results)
        return out
