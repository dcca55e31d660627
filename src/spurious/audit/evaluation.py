"""The audit's evaluations: per-response records under one fingerprint, for an organism or a real model.

A record is one evaluated response (:mod:`spurious.audit.decomposition`), plus the ``benchmark`` it belongs to.

**Organisms** (:class:`EvalSpec`). Every arm, seed and the base model are evaluated on the same held-out problems
(T=1 samples cycled over the problems, the same sampling seed: common random numbers, so arm differences are
not blurred by evaluation noise). ``answer`` decides what counts as an answer: ``"fallback"`` (the last
``\\boxed{}``, else the last integer: the official extractor's rule, under which every organism response is
parsed) or ``"boxed"`` (only a non-empty last ``\\boxed{}``, as the default grader of ``spurious eval``; an
unboxed response has no answer, so formatting gains show up as format fixes). The fingerprint is a hash of
everything that decides a record: problem ids and answers, samples, seed, decoding, token budget and the parser.

**Real models** (:class:`ModelEvalSpec`): ``spurious.eval.runner.evaluate`` on benchmarks (the paper's protocol
per benchmark unless overridden), under the recipe's template; each sample's seed depends only on (seed,
benchmark, problem, sample index), so base and trained models draw alike. The fingerprint hashes the problems,
template, per-benchmark protocol, token budget, grader and seed.

Records with another fingerprint are never compared.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from spurious.audit.decomposition import behaviour, response_state
from spurious.data import Problem, Template
from spurious.eval.runner import PAPER_MAX_NEW_TOKENS, protocol_for, template_description
from spurious.eval.store import SampleStore
from spurious.organism.corpus import parse_completion
from spurious.organism.evaluate import generate
from spurious.organism.tokenizer import CHARS

PARSER = "spurious.organism.corpus.parse_completion"
ANSWER_RULES = ("fallback", "boxed")
ORGANISM_BENCHMARK = "held-out"     # the organism's held-out problems, as a benchmark name in tables


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


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
        return _hash({"problems": [[p.id, p.answer] for p in problems], "spec": asdict(self),
                      "decoding": {"temperature": 1.0, "top_p": 1.0, "top_k": 0}, "parser": PARSER})


def organism_prompt(template: Template, problem: str) -> str:
    """``problem`` under ``template`` as the organism would read it; ValueError saying why when it cannot (the
    organism has no chat template, and its character vocabulary lacks most of the templates' characters)."""
    if template.is_chat:
        raise ValueError(f"template {template.name!r} is a chat template; the organism has none (a character "
                         f"tokenizer pre-trained on raw problem text)")
    text = template.render(problem)
    unknown = sorted(set(text) - set(CHARS))
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:6]) + (", ..." if len(unknown) > 6 else "")
        raise ValueError(f"template {template.name!r} uses characters outside the organism's vocabulary ({shown}); "
                         f"it would read them as <unk>")
    return text


def evaluate_organism(model, tokenizer, problems: Sequence[Problem], spec: EvalSpec,
                      template: Template | None = None) -> dict[str, Any]:
    """``{"fingerprint", "records"}``: one record per sampled response. ``template``: prompts rendered by
    :func:`organism_prompt` (None: the raw problem, the organism's own prompt)."""

    cyc = [problems[i % len(problems)] for i in range(spec.samples)]
    prompts = [p.problem if template is None else organism_prompt(template, p.problem) for p in cyc]
    texts = generate(model, tokenizer, prompts, greedy=False, seed=spec.seed, max_new_tokens=spec.max_new_tokens)
    records = []
    for p, text in zip(cyc, texts):
        parsed = parse_completion(text, p.answer)
        answer, correct = parsed.answer, parsed.correct
        if spec.answer == "boxed" and not parsed.boxed:
            answer, correct = None, False
        records.append({"problem_id": p.id, "benchmark": ORGANISM_BENCHMARK, "state": response_state(answer, correct),
                        "code": parsed.style == "code", "boxed": parsed.boxed, "length": len(text)})
    return {"fingerprint": spec.fingerprint(problems), "records": records}


class OrganismEvaluator:
    """A picklable ``evaluate_after(model, tokenizer)`` for :func:`spurious.organism.runner.run_cell`."""

    def __init__(self, problems: Sequence[Problem], spec: EvalSpec):
        self.problems, self.spec = list(problems), spec

    def __call__(self, model, tokenizer) -> dict[str, Any]:
        return evaluate_organism(model, tokenizer, self.problems, self.spec)


def benchmark_of(record: Mapping[str, Any]) -> str:
    """A record's benchmark (records written before the field existed are the organism's held-out problems)."""
    return record.get("benchmark", ORGANISM_BENCHMARK)


def records_summary(records: Sequence[Mapping[str, Any]], headline: str) -> dict[str, Any]:
    """Records as an evaluation summary (``{"benchmarks": {name: {"score", "headline", "boxed_rate", ...}}}``,
    the shape :func:`spurious.eval.baselines.baseline_table` reads): the accuracy over responses per benchmark."""
    out: dict[str, Any] = {}
    for bench in dict.fromkeys(benchmark_of(r) for r in records):
        b = behaviour([r for r in records if benchmark_of(r) == bench])
        out[bench] = {"score": b["accuracy"], "headline": headline, "boxed_rate": b["boxed_rate"],
                      "format_rate": None, "parsed_rate": b["parsed_rate"]}
    return {"benchmarks": out}


# ------------------------------------------------------------------------------------------------ real models


@dataclass(frozen=True)
class ModelEvalSpec:
    """A benchmark evaluation of a real model (``spurious.eval.runner.evaluate``'s settings)."""

    benchmarks: tuple[str, ...] = ("math500",)
    limit: int | None = None               # first N problems of each benchmark
    samples: int | None = None             # None: the paper's protocol per benchmark
    temperature: float | None = None
    max_new_tokens: int = PAPER_MAX_NEW_TOKENS
    grader: str = "default"
    seed: int = 0
    batch_size: int = 16                   # generation batch (not part of the fingerprint)

    def eval_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``evaluate`` (and of ``run_baselines``) beside model, benchmarks and template."""
        return {"samples": self.samples, "temperature": self.temperature, "max_new_tokens": self.max_new_tokens,
                "limit": self.limit, "grader": self.grader, "seed": self.seed, "batch_size": self.batch_size}

    def fingerprint(self, problems: Mapping[str, Sequence[Problem]], template: Template) -> str:
        protocols = {b: asdict(protocol_for(b, self.samples, self.temperature)) for b in problems}
        return _hash({"problems": {b: [[p.id, p.answer] for p in ps] for b, ps in problems.items()},
                      "template": template_description(template), "protocols": protocols,
                      "max_new_tokens": self.max_new_tokens, "grader": self.grader, "seed": self.seed})


def benchmark_records(eval_dir: str | Path, problems: Mapping[str, Sequence[Problem]], samples: Mapping[str, int]
                      ) -> list[dict[str, Any]]:
    """The audit's records from an evaluation folder's ``samples.jsonl``: the first ``samples[b]`` samples of
    each problem of each benchmark, problem ids prefixed by their benchmark (``math500/<id>``)."""
    store = SampleStore(Path(eval_dir) / "samples.jsonl")
    out = []
    for bench, ps in problems.items():
        rows = {(str(r["problem_id"]), int(r["sample_index"])): r for r in store.for_benchmark(bench)}
        for p in ps:
            for j in range(samples[bench]):
                r = rows[(p.id, j)]
                out.append({"problem_id": f"{bench}/{p.id}", "benchmark": bench,
                            "state": response_state(r["extracted"], bool(r["correct"])),
                            "code": bool(r["code"]), "boxed": bool(r["boxed"]), "length": len(r["response"])})
    return out
