"""The audit's evaluation of an organism: per-response records under one fingerprint.

Every arm, seed and the base model are evaluated with the same :class:`EvalSpec` on the same held-out problems
(T=1 samples cycled over the problems, the same sampling seed: common random numbers, so arm differences are
not blurred by evaluation noise). ``answer`` decides what counts as an answer: ``"fallback"`` (the last
``\boxed{}``, else the last integer: the official extractor's rule, under which every organism response is
parsed) or ``"boxed"`` (only a non-empty last ``\boxed{}``, as the default grader of ``spurious eval``; an
unboxed response has no answer, so formatting gains show up as format fixes). The fingerprint is a hash of everything that decides a record: problem ids
and answers, samples, seed, decoding, token budget and the parser; records with another fingerprint are never
compared.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from spurious.audit.decomposition import response_state
from spurious.data import Problem
from spurious.organism.corpus import parse_completion
from spurious.organism.evaluate import generate

PARSER = "spurious.organism.corpus.parse_completion"
ANSWER_RULES = ("fallback", "boxed")


@dataclass(frozen=True)
class EvalSpec:
    samples: int = 1024            # T=1 responses, cycled over the held-out problems
    seed: int = 1000               # the sampling seed, the same for every model evaluated
    max_new_tokens: int = 40
    answer: str = "fallback"       # "fallback" | "boxed"

    def __post_init__(self) -> None:
        if self.answer not in ANSWER_RULES:
            raise ValueError(f"answer rule must be one of {ANSWER_RULES}, got {self.answer!r}")

    def fingerprint(self, problems: Sequence[Problem]) -> str:
        payload = {"problems": [[p.id, p.answer] for p in problems], "spec": asdict(self),
                   "decoding": {"temperature": 1.0, "top_p": 1.0, "top_k": 0}, "parser": PARSER}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def evaluate_organism(model, tokenizer, problems: Sequence[Problem], spec: EvalSpec) -> dict[str, Any]:
    """``{"fingerprint", "records"}``: one record per sampled response (see :mod:`spurious.audit.decomposition`)."""

    cyc = [problems[i % len(problems)] for i in range(spec.samples)]
    texts = generate(model, tokenizer, [p.problem for p in cyc], greedy=False, seed=spec.seed,
                     max_new_tokens=spec.max_new_tokens)
    records = []
    for p, text in zip(cyc, texts):
        parsed = parse_completion(text, p.answer)
        answer, correct = parsed.answer, parsed.correct
        if spec.answer == "boxed" and not parsed.boxed:
            answer, correct = None, False
        records.append({"problem_id": p.id, "state": response_state(answer, correct),
                        "code": parsed.style == "code", "boxed": parsed.boxed, "length": len(text)})
    return {"fingerprint": spec.fingerprint(problems), "records": records}


class OrganismEvaluator:
    """A picklable ``evaluate_after(model, tokenizer)`` for :func:`spurious.organism.runner.run_cell`."""

    def __init__(self, problems: Sequence[Problem], spec: EvalSpec):
        self.problems, self.spec = list(problems), spec

    def __call__(self, model, tokenizer) -> dict[str, Any]:
        return evaluate_organism(model, tokenizer, self.problems, self.spec)
