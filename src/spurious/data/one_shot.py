"""The one-shot RL training example pi_1 (Wang et al. 2025, arXiv 2504.20571), as the dataset ``one-shot-pi1``.

The spurious-rewards paper trains its one-shot baseline on pi_1 for every model (docs/paper.md §2.1, row 6). Here
it is the wind-pressure-on-a-sail problem, DeepScaleR row ``L4-7395``, with the label ``12.8``.

What was checked (against ``shared/data/deepscaler.jsonl``): row ``L4-7395`` exists at level 4, is the only row
whose problem mentions pressure on a sail, its problem is that wind-pressure problem ("The pressure P exerted by
wind on a sail varies jointly as the area A of the sail and the cube of the wind's velocity V ... Find the wind
velocity when the pressure on 4 square feet of sail is 32 pounds."), and its answer is ``12.8``.
Not checked: that this is verbatim the example of arXiv 2504.20571 (confirmed against the data only).

Note: the exact solution of the problem as stated is V = cbrt(2048) = 12.699..., so the label 12.8 is a rounded
(in fact slightly off) value; it is kept as it is in the data, since the one-shot reward compares against it.

No data is copied into the repository: the row is read from the local DeepScaleR file (or the hub copy).
"""

from __future__ import annotations

from spurious.data.problems import Problem, load_benchmark

PI1_ID = "L4-7395"
PI1_ANSWER = "12.8"
PI1_KEYWORDS = ("pressure", "sail", "cube of the wind's velocity")


def load_one_shot_pi1(limit: int | None = None) -> list[Problem]:
    """``[pi_1]``, read from DeepScaleR and checked (id, label, problem text keywords); ValueError if not found."""
    matches = [p for p in load_benchmark("deepscaler") if p.id == PI1_ID]
    if len(matches) != 1:
        raise ValueError(f"one-shot-pi1: expected exactly one DeepScaleR row with id {PI1_ID!r}, "
                         f"found {len(matches)}")
    pi1 = matches[0]
    if pi1.answer != PI1_ANSWER:
        raise ValueError(f"one-shot-pi1: row {PI1_ID} has answer {pi1.answer!r}, expected {PI1_ANSWER!r}")
    missing = [w for w in PI1_KEYWORDS if w not in pi1.problem]
    if missing:
        raise ValueError(f"one-shot-pi1: row {PI1_ID} is not the wind-pressure-on-a-sail problem "
                         f"(missing {missing})")
    return [pi1][: limit if limit is not None else 1]
