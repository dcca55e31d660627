"""The per-benchmark summary of an evaluation, computed from its records.

One record (a line of ``samples.jsonl``) per generated sample: a :class:`spurious.rollout.Rollout` row (the
schema training rollouts use too; ``phase``, ``reward`` and ``advantage`` are null) plus ``seed``,
``gen_seconds``, ``grader`` and ``fingerprint``. ``code`` is the paper's rule ("python" in the lower-cased
response), ``code_fenced`` a ``` fenced block, ``length`` generated tokens (EOS included).

``format``: the paper's format reward (``box_only_format``: the text after the last ``boxed`` normalises to
something non-empty, docs/paper.md §2.4), reported as the "format rate".
``boxed``: the response's last ``\\boxed`` is followed by a brace group with non-blank content. It is a plain
syntactic check, simpler than the format reward's normalisation (docs/paper.md §2.4), and is reported as the
"boxed rate". ``parsable``: the grader extracted a non-empty answer (the paper's "% parsable" rule is not
stated, docs/paper.md §5.2; with the official last-number fallback this is nearly always true).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from spurious.eval.metrics import avg_at_k, maj_at_k, mean, pass_at_k_raw, pass_at_k_unbiased

def _rate(flags: Sequence[Any]) -> float:
    return mean([1.0 if f else 0.0 for f in flags])


def summarize_records(records: Sequence[dict[str, Any]], problem_ids: Sequence[str], k: int,
                      canonical=None) -> dict[str, Any]:
    """Metrics of one benchmark from its records (exactly ``k`` per problem in ``problem_ids``).

    ``canonical`` buckets extracted answers for maj@k (identity when None).
    """
    by_problem: dict[str, list[dict[str, Any]]] = {pid: [] for pid in problem_ids}
    for r in records:
        if r["problem_id"] in by_problem and r["sample_index"] < k:
            by_problem[r["problem_id"]].append(r)
    missing = [pid for pid, rs in by_problem.items() if len(rs) != k]
    if missing:
        raise ValueError(f"{len(missing)} problems lack their {k} samples (first: {missing[0]!r})")
    groups = [sorted(rs, key=lambda r: r["sample_index"]) for rs in by_problem.values()]
    scores = [[1.0 if r["correct"] else 0.0 for r in g] for g in groups]
    flat = [r for g in groups for r in g]
    code = [r for r in flat if r["code"]]
    lang = [r for r in flat if not r["code"]]
    gen_seconds = math.fsum(r.get("gen_seconds", 0.0) for r in flat)
    tokens = sum(r["length"] for r in flat)
    out = {
        "n_problems": len(groups),
        "samples": k,
        "n_responses": len(flat),
        "avg_at_k": avg_at_k(scores),
        "pass_at_k_raw": pass_at_k_raw(scores),
        "pass_at_k_unbiased": pass_at_k_unbiased(scores, k),
        "maj_at_k": maj_at_k([[r["extracted"] or "" for r in g] for g in groups], scores, key=canonical),
        "code_frequency": _rate([r["code"] for r in flat]),
        "code_frequency_fenced": _rate([r["code_fenced"] for r in flat]),
        "accuracy_with_code": _rate([r["correct"] for r in code]),
        "accuracy_with_language": _rate([r["correct"] for r in lang]),
        "n_code": len(code),
        "format_rate": _rate([r["format"] for r in flat]),
        "boxed_rate": _rate([r["boxed"] for r in flat]),
        "parsable_rate": _rate([bool(r["extracted"]) for r in flat]),
        "truncation_rate": _rate([r["truncated"] for r in flat]),
        "mean_length": mean([r["length"] for r in flat]),
        "generated_tokens": tokens,
        "generation_seconds": gen_seconds,
        "tokens_per_second": tokens / gen_seconds if gen_seconds > 0 else math.nan,
        "grading_status": dict(Counter(r["status"] for r in flat)),
    }
    return out
