"""From TRL's generated batch to our rewards and rollout diagnostics.

* :func:`completion_text` - the response text of a completion (TRL gives message lists for chat prompts).
* :func:`build_samples` - :class:`spurious.rewards.base.Sample` objects keyed by (phase, prompt index,
  sample index), the identity the random reward's RNG is seeded from (paper.md §2.5).
* :func:`score_diagnostics` - per rollout: correct vs ground truth (whatever the training reward), code
  reasoning (paper.md §7.5 rule) and the paper's format check (``box_only_format``, §2.4).

Plain ``trl.GRPOTrainer`` users wrap a reward with :func:`spurious.rewards.trl.trl_reward_func`, which keys
samples the same way.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

AccuracyFn = Callable[[Sequence[str], Sequence[str]], Sequence[bool]]


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a string, or a list of messages (the assistant contents joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content", "") if isinstance(m.get("content"), str) else "" for m in completion)
    return str(completion)


def prompt_text(prompt: Any) -> str:
    """A readable prompt: the raw text, or the chat messages' contents joined by blank lines."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(str(m.get("content", "")) for m in prompt)


def build_samples(prompts: Sequence[Any], completions: Sequence[Any], rows: Sequence[dict], *, phase: int,
                  group_size: int, offset: int = 0):
    """One Sample per rollout; ``offset`` is the global position of the first one (multi-process)."""
    from spurious.rewards.base import Sample

    out = []
    for j, (p, c, row) in enumerate(zip(prompts, completions, rows)):
        g = offset + j
        out.append(Sample(prompt=prompt_text(p), response=completion_text(c), answer=row.get("answer"),
                          group=(phase, g // group_size), step=phase, prompt_index=int(row.get("prompt_index", 0)),
                          sample_index=g % group_size,
                          meta={"problem_id": row.get("problem_id")}))
    return out


def default_accuracy_fn() -> AccuracyFn:
    """The project grader (``spurious.grading.grade_many``); the official extract+grade if it is absent."""
    try:
        from spurious.grading import grade_many  # type: ignore[attr-defined]

        def acc(responses: Sequence[str], answers: Sequence[str]) -> list[bool]:
            res = grade_many(list(responses), list(answers))
            return [bool(getattr(r, "correct", r)) for r in res]

        return acc
    except ImportError:
        from spurious.grading.official import official_extract, official_grade_answer

        def acc(responses: Sequence[str], answers: Sequence[str]) -> list[bool]:
            return [official_grade_answer(official_extract(r), str(a)) for r, a in zip(responses, answers)]

        return acc


def format_fn() -> Callable[[str], bool]:
    from spurious.grading.official import box_only_format

    return box_only_format


def score_diagnostics(responses: Sequence[str], answers: Sequence[Any], *, accuracy_fn: AccuracyFn | None,
                      code_rule: str = "python") -> dict[str, list]:
    """``correct`` (None where not tracked), ``code`` and ``format`` per rollout."""
    from spurious.code_reasoning import is_code_reasoning

    fmt = format_fn()
    correct: list = [None] * len(responses)
    if accuracy_fn is not None:
        labelled = [i for i, a in enumerate(answers) if a is not None]
        if labelled:
            verdicts = accuracy_fn([responses[i] for i in labelled], [str(answers[i]) for i in labelled])
            for i, v in zip(labelled, verdicts):
                correct[i] = bool(v)
    return {"correct": correct, "code": [is_code_reasoning(r, code_rule) for r in responses],
            "format": [bool(fmt(r)) for r in responses]}

