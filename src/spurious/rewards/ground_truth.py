"""Ground-truth reward (docs/paper.md §2.2; official key ``math``): grade the response's answer against the label.

``grader="default"`` uses this toolkit's grader; ``grader="official"`` reproduces the official reward: its
parser and PRM800K-style grader, weaknesses W1–W6 included (docs/paper.md §6), and its multiple-choice switch.
``extract`` picks the answer extractor (``None``: the grader's own default; ``r1``: text after the last
``<answer>``, the official ``_r1_style`` suffix).

Multiple-choice switch [code]: when the label is exactly ``A``/``B``/``C``/``D`` (15 DeepScaleR rows) the
official reward extracts a letter instead of an answer: the last stand-alone A–D of the upper-cased whole
response (``official_extract(..., label=label)``), graded against the label. ``grader="official"`` always does
this. With ``grader="default"`` it is off unless ``multiple_choice=True``, which grades such rows exactly as the
official reward does and leaves every other row to the default grader.
"""

from __future__ import annotations

from typing import Any, Sequence

from spurious.rewards._grading import check_grader, grading
from spurious.rewards.base import Reward, Sample
from spurious.rewards.registry import register_reward

CHOICE_LABELS = frozenset("ABCD")


@register_reward("ground_truth", "gt", "math")
class GroundTruthReward(Reward):
    """Ground truth (§2.2, key `math`): 1 iff the extracted answer is graded equivalent to the label."""

    needs_label = True

    def __init__(self, grader: str = "default", extract: str | None = None, timeout: float = 5.0,
                 workers: int | None = None, multiple_choice: bool = False):
        check_grader(grader, extract)
        self.grader, self.extract, self.timeout = grader, extract, float(timeout)
        self.workers, self.multiple_choice = workers, bool(multiple_choice)
        self.last_stats: dict[str, float] = {}  # share of the last batch per non-"ok" grading status

    @property
    def params(self) -> dict[str, Any]:
        return {"grader": self.grader, "extract": self.extract, "timeout": self.timeout,
                "workers": self.workers, "multiple_choice": self.multiple_choice or self.grader == "official"}

    def score(self, samples: Sequence[Sample]) -> list[float]:
        g = grading()
        labels = [str(s.answer) for s in samples]
        spec = (self.grader, self.extract)
        results = [s.grades.get(spec) for s in samples]
        todo = [i for i, r in enumerate(results) if r is None]
        if todo:
            for i, r in zip(todo, g.grade_many([samples[i].response for i in todo], [labels[i] for i in todo],
                                               grader=self.grader, extract=self.extract, timeout=self.timeout,
                                               workers=self.workers)):
                results[i] = r
        if self.multiple_choice and self.grader != "official":
            choice = [i for i, label in enumerate(labels) if label in CHOICE_LABELS]
            if choice:  # the official reward's letter mode for these rows (the official grader applies it itself)
                official = g.grade_many([samples[i].response for i in choice], [labels[i] for i in choice],
                                        grader="official", timeout=self.timeout, workers=self.workers)
                for i, r in zip(choice, official):
                    results[i] = r
        n = max(len(results), 1)
        self.last_stats = {status: sum(r.status == status for r in results) / n
                           for status in ("no_answer", "timeout", "error")}
        return [1.0 if r.correct else 0.0 for r in results]
