"""Sampling from an organism and the statistics that matter: style frequency, per-style accuracy, boxed rate.

Two decodings: T=1 sampling (the metric that carries the effect: greedy accuracy is uninformative unless
errors are systematic) and greedy. Parsing is :func:`corpus.parse_completion`.
"""

from __future__ import annotations

from typing import Sequence

from spurious.data import Problem
from spurious.organism.corpus import parse_completion

MAX_NEW_TOKENS = 40


def generate(model, tokenizer, prompts: Sequence[str], *, greedy: bool, seed: int = 0, batch_size: int = 512,
             max_new_tokens: int = MAX_NEW_TOKENS) -> list[str]:
    """Completions (text without the prompt, special tokens removed) for ``prompts``; T=1, no top-k/top-p."""
    import torch

    out: list[str] = []
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(prompts), batch_size):
            chunk = list(prompts[i:i + batch_size])
            enc = tokenizer(chunk, return_tensors="pt", padding=True)
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            with torch.no_grad():
                ids = model.generate(**enc, do_sample=not greedy, temperature=1.0 if not greedy else None,
                                     top_k=0 if not greedy else None, top_p=1.0 if not greedy else None,
                                     max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                     eos_token_id=tokenizer.eos_token_id)
            out.extend(tokenizer.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True))
    finally:
        model.train(was_training)
    return out


def summarize(completions: Sequence[str], answers: Sequence[str]) -> dict[str, float]:
    """Style frequency, accuracy overall and per style, boxed rate, for parallel completions/answers."""
    parsed = [parse_completion(t, a) for t, a in zip(completions, answers)]
    n = len(parsed)
    code = [p for p in parsed if p.style == "code"]
    lang = [p for p in parsed if p.style != "code"]

    def acc(ps) -> float | None:
        return sum(p.correct for p in ps) / len(ps) if ps else None

    return {"n": n, "code_frequency": len(code) / n if n else 0.0, "accuracy": acc(parsed) or 0.0,
            "accuracy_code": acc(code), "accuracy_language": acc(lang),
            "boxed_rate": sum(p.boxed for p in parsed) / n if n else 0.0}


def accuracy_fn(responses: Sequence[str], answers: Sequence[str]) -> list[bool]:
    """Correctness by :func:`corpus.parse_completion` - the standard extraction (last ``\\boxed{}``, else the
    last number) specialised to integer answers, microseconds per response. Passed to the trainer as its
    ``accuracy_fn`` so the per-phase ``accuracy`` metric costs nothing next to generation."""
    return [parse_completion(r, str(a)).correct for r, a in zip(responses, answers)]


def calibration(model, tokenizer, problems: Sequence[Problem], *, n_samples: int = 1024, seed: int = 0
                ) -> dict[str, dict[str, float]]:
    """``{"sampled": stats of n_samples T=1 completions over problems (cycled), "greedy": one per problem,
    "greedy_per_problem": [{"id", "code", "correct"}] (for transition buckets, docs/paper.md §7.7)}``."""
    cyc = [problems[i % len(problems)] for i in range(n_samples)]
    sampled = generate(model, tokenizer, [p.problem for p in cyc], greedy=False, seed=seed)
    greedy = generate(model, tokenizer, [p.problem for p in problems], greedy=True)
    per_problem = [{"id": p.id, "code": parse.style == "code", "correct": parse.correct}
                   for p, parse in ((p, parse_completion(t, p.answer)) for p, t in zip(problems, greedy))]
    return {"sampled": summarize(sampled, [p.answer for p in cyc]),
            "greedy": summarize(greedy, [p.answer for p in problems]), "greedy_per_problem": per_problem}
