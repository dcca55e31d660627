"""Ground-truth reward (paper §2.2; official key ``math``): grade the response's answer against the label.

``grader="default"`` uses this toolkit's grader; ``grader="official"`` reproduces the paper's parser and
PRM800K-style grader, weaknesses W1–W6 included (paper §6). ``extract`` picks the answer extractor (``None``:
the grader's own default; ``r1``: text after the last ``<answer>``, the official ``_r1_style`` suffix).

Multiple-choice switch [code]: the official reward extracts a letter, not a boxed expression, when the label is
exactly ``A``/``B``/``C``/``D`` (15 DeepScaleR rows). It is off by default; ``multiple_choice=True`` turns it on
(with either grader): such rows score 1 iff the official letter extraction of the whole response (the last
stand-alone A–E of the upper-cased text; ``official_extract(..., multiple_choice=True)``) equals the label.
"""

from __future__ import annotations

from typing import Any, Sequence

from spurious.rewards._grading import check_grader, grading
from spurious.rewards.base import Reward, Sample
from spurious.rewards.registry import register_reward

CHOICE_LABELS = frozenset("ABCD")


def choice_correct(response: str, label: str, r1_style: bool = False) -> bool:
    """The official multiple-choice verdict: the extracted letter equals the bare-letter label."""
    from spurious.grading.official import official_extract

    return official_extract(response, r1_style=r1_style, multiple_choice=True) == label


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
                "workers": self.workers, "multiple_choice": self.multiple_choice}

    def score(self, samples: Sequence[Sample]) -> list[float]:
        results = grading().grade_many([s.response for s in samples], [str(s.answer) for s in samples],
                                       grader=self.grader, extract=self.extract, timeout=self.timeout,
                                       workers=self.workers)
        out = [1.0 if r.correct else 0.0 for r in results]
        n = max(len(results), 1)
        self.last_stats = {status: sum(r.status == status for r in results) / n
                           for status in ("no_answer", "timeout", "error")}
        if self.multiple_choice:
            for i, s in enumerate(samples):
                label = str(s.answer).strip()
                if label in CHOICE_LABELS:
                    out[i] = 1.0 if choice_correct(s.response, label, r1_style=self.extract == "r1") else 0.0
        return out
