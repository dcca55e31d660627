"""One record per sampled response, from the prompt to the analysis: :class:`Rollout`.

Training writes one per rollout (``<run>/rollouts/step_XXXXX.jsonl.gz``), evaluation one per sample
(``samples.jsonl``); both are rows of the same schema (:data:`ROLLOUT_FIELDS`, in that order), so one loader
(:func:`spurious.analysis.loading.load_samples`) reads either, and Table 1 or the transition buckets can be
computed from a training run's own rollouts.

A rollout's identity is ``(phase, prompt_index, sample_index)``: the rollout phase, the prompt, and which of
that prompt's G responses it is. :func:`rollout_keys` is the one function that derives it from a batch; the
trainer (through the TRL reward adapter, :mod:`spurious.rewards.trl`) and ``spurious reward`` both use it. The
random reward's draws are keyed by it (``docs/rewards.md``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Hashable, Sequence


@dataclass
class Rollout:
    """One sampled response and everything measured on it (None: not measured).

    Identity: ``phase`` (training rollout phase; None for an evaluation sample), ``prompt_index`` (the prompt's
    key: its dataset row in training), ``sample_index`` (0..G-1 among the prompt's responses), ``problem_id`` and
    ``benchmark`` (the evaluation benchmark, or ``"train"`` for training rollouts).
    Texts: ``prompt`` (as rendered for the model), ``response`` (the completion only), ``answer`` (the label).
    Grading: ``extracted`` answer, ``correct`` verdict against ``answer``, grader ``status`` (ok, no_answer,
    timeout, error). Behaviour: ``code`` (code reasoning, the paper's ``python`` rule), ``code_fenced`` (a fenced
    code block), ``format`` (the paper's format reward), ``boxed`` (a closed, non-empty last ``\\boxed{}``),
    ``length`` (generated tokens), ``truncated`` (hit the token limit without EOS or stop string). Training:
    ``reward`` and ``advantage``. ``extra``: anything else a producer records (evaluation: seed, gen_seconds,
    grader, fingerprint), written as top-level keys after the schema's.
    """

    prompt: str
    response: str
    answer: str | None = None
    problem_id: str | None = None
    benchmark: str | None = None
    phase: int | None = None
    prompt_index: int = 0
    sample_index: int = 0
    extracted: str | None = None
    correct: bool | None = None
    status: str | None = None
    reward: float | None = None
    advantage: float | None = None
    code: bool | None = None
    code_fenced: bool | None = None
    format: bool | None = None
    boxed: bool | None = None
    length: int | None = None
    truncated: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def code_flag(self, rule: str = "python") -> bool:
        """The code-reasoning flag under ``rule`` (``python``: ``code``; ``fenced``: ``code_fenced``)."""
        value = getattr(self, CODE_FIELDS[rule])
        if value is None:
            raise ValueError(f"rollout {self.problem_id!r}/{self.sample_index} has no {CODE_FIELDS[rule]!r} flag")
        return value

    def to_row(self) -> dict[str, Any]:
        """The JSON row: every schema field in :data:`ROLLOUT_FIELDS` order, then ``extra``'s keys."""
        row = asdict(self)
        extra = row.pop("extra")
        return {**{k: row[k] for k in ROLLOUT_FIELDS}, **extra}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Rollout":
        """The inverse of :meth:`to_row` (unknown keys go to ``extra``; missing fields take their defaults)."""
        known = {k: row[k] for k in ROLLOUT_FIELDS if k in row}
        return cls(**known, extra={k: v for k, v in row.items() if k not in _FIELD_SET})


ROLLOUT_FIELDS: tuple[str, ...] = ("benchmark", "problem_id", "phase", "prompt_index", "sample_index", "prompt",
                                   "response", "answer", "extracted", "correct", "status", "reward", "advantage",
                                   "code", "code_fenced", "format", "boxed", "length", "truncated")
_FIELD_SET = frozenset(ROLLOUT_FIELDS)
CODE_FIELDS = {"python": "code", "fenced": "code_fenced"}  # code-reasoning rule -> the field holding its flag
assert _FIELD_SET == {f.name for f in fields(Rollout)} - {"extra"}


def prompt_index_of(key: Hashable) -> int:
    """A prompt's index: an integer key as it is (a dataset row), else a stable non-negative 63-bit hash of the
    text (or of the JSON of chat messages), equal across processes and runs."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    text = key if isinstance(key, str) else json.dumps(key, sort_keys=True, default=str)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


def rollout_keys(prompt_keys: Sequence[Hashable]) -> list[tuple[int, int]]:
    """``(prompt_index, sample_index)`` of each position of a batch given each position's prompt key.

    ``prompt_index`` is :func:`prompt_index_of` the key; ``sample_index`` counts the earlier positions with the
    same key (TRL's sampler puts a prompt's G responses next to each other, so they get 0..G-1). Pass the whole
    batch (all processes) so that indices do not restart on every process.
    """
    seen: dict[int, int] = {}
    out = []
    for key in prompt_keys:
        p = prompt_index_of(key)
        out.append((p, seen.get(p, 0)))
        seen[p] = out[-1][1] + 1
    return out
