"""Contamination probe: can the model complete a benchmark problem from a prefix of it?

The measurement of arXiv 2507.10532 (partial-prompt completion): give the model the first 40 / 60 / 80 % of a
problem's words as a raw prompt (no template), decode greedily, and compare the continuation with the rest of
the problem: **exact match** (the continuation's first words equal the remaining words, whitespace-normalised)
and **ROUGE-L** F1 (longest common subsequence of words). The same continuation is also graded as an answer
(the model may go on to solve the problem it recalled): the **accuracy from the partial prompt**. A problem is
flagged **leaked** when its continuation matches exactly at ``LEAK_FRACTION`` (60 %, the prefix at which the
paper reports 54.6 % exact completions of MATH-500 for Qwen2.5-Math-7B).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence
from spurious.eval.backends import SamplingSettings
from spurious.grading import grade_many

FRACTIONS = (0.4, 0.6, 0.8)
LEAK_FRACTION = 0.6


def split_words(text: str, fraction: float) -> tuple[str, list[str]]:
    """The first ``fraction`` of ``text``'s whitespace-separated words (as a string) and the remaining words;
    at least one word on each side when there are two or more."""
    if not 0 < fraction < 1:
        raise ValueError(f"prefix fraction must be in (0, 1), got {fraction}")
    words = text.split()
    if len(words) < 2:
        return text, []
    k = min(max(1, round(len(words) * fraction)), len(words) - 1)
    return " ".join(words[:k]), words[k:]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two word sequences (O(len(a) * len(b)))."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(candidate: Sequence[str], reference: Sequence[str]) -> float:
    """ROUGE-L F1 of two word sequences (0.0 when either is empty)."""
    lcs = lcs_length(candidate, reference)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(candidate), lcs / len(reference)
    return 2 * p * r / (p + r)


@dataclass(frozen=True)
class PrefixResult:
    fraction: float
    exact_match: bool
    rouge_l: float
    answer_correct: bool


def score_continuation(continuation: str, rest: Sequence[str]) -> tuple[bool, float]:
    """Exact match and ROUGE-L of ``continuation``'s first ``len(rest)`` words against the remaining words."""
    got = continuation.split()[:len(rest)]
    return (bool(rest) and got == list(rest)), rouge_l(got, rest)


def probe(backend, problems, *, fractions: Sequence[float] = FRACTIONS, max_new_tokens: int = 256,
          grader: str = "default", benchmark: str | None = None) -> list[dict[str, Any]]:
    """One record per problem: per-fraction exact match, ROUGE-L, accuracy from the prefix, and the leak flag
    (the ``leaks.jsonl`` records that :func:`spurious.eval.leaks.load_leak_flags` reads); ``benchmark``, when
    given, is recorded in each so the flags match that benchmark's samples only."""

    settings = SamplingSettings(temperature=0.0, max_new_tokens=max_new_tokens)
    jobs = [(p, f, *split_words(p.problem, f)) for p in problems for f in fractions]
    gens = backend.generate([prefix for _, _, prefix, _ in jobs], settings, add_special_tokens=True)
    graded = grade_many([g.text for g in gens], [p.answer for p, *_ in jobs], grader=grader)
    by_problem: dict[str, dict[str, Any]] = {}
    for (p, f, prefix, rest), g, gr in zip(jobs, gens, graded):
        em, rl = score_continuation(g.text, rest)
        row = by_problem.setdefault(p.id, {**({"benchmark": benchmark} if benchmark is not None else {}),
                                           "problem_id": p.id, "prefixes": []})
        row["prefixes"].append({"fraction": f, "prefix_words": len(prefix.split()), "rest_words": len(rest),
                                "exact_match": em, "rouge_l": rl, "answer_correct": gr.correct,
                                "continuation": g.text})
    for row in by_problem.values():
        row["leaked"] = any(x["exact_match"] for x in row["prefixes"] if x["fraction"] == LEAK_FRACTION)
    return list(by_problem.values())


def summarize_probe(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per fraction: exact-match rate, mean ROUGE-L, accuracy from the prefix; and the leaked share."""
    out: dict[str, Any] = {"problems": len(records), "per_fraction": {}}
    fracs = sorted({x["fraction"] for r in records for x in r["prefixes"]})
    for f in fracs:
        xs = [x for r in records for x in r["prefixes"] if x["fraction"] == f]
        out["per_fraction"][f"{f:g}"] = {
            "exact_match": sum(x["exact_match"] for x in xs) / len(xs),
            "rouge_l": sum(x["rouge_l"] for x in xs) / len(xs),
            "answer_accuracy": sum(x["answer_correct"] for x in xs) / len(xs)}
    out["leaked"] = sum(r["leaked"] for r in records) / len(records) if records else None
    out["leak_rule"] = f"exact match of the continuation at the {LEAK_FRACTION:.0%} prefix"
    return out
