"""Baseline strength: the base model under every shipped template, the strongest baseline and its gap.

A reported RL gain is only as honest as its starting point: the paper's own prompt-sensitivity table
(docs/paper.md §7.11) moves Qwen2.5-Math-7B from 49.4 to 68.8 on MATH-500 without any training. This module
turns one evaluation summary per template (``spurious.eval.runner.evaluate``) into a table, the strongest
template per benchmark, and the gap between the reference template (the paper's, ``qwen-math``) and it.
"""

from __future__ import annotations

from typing import Any, Mapping

REFERENCE_TEMPLATE = "qwen-math"


def baseline_table(summaries: Mapping[str, Mapping[str, Any]], skipped: Mapping[str, str] | None = None,
                   reference: str = REFERENCE_TEMPLATE) -> dict[str, Any]:
    """``{"rows", "strongest", "reference", "gap", "skipped"}`` from ``{template: evaluation summary}``.

    ``rows``: one per (template, benchmark) with the headline score and boxed rate; ``strongest[benchmark]``:
    the template with the highest score (ties: the first in ``summaries``' order) and its score;
    ``gap[benchmark]``: strongest score minus the reference template's (None without the reference).
    """
    rows: list[dict[str, Any]] = []
    best: dict[str, dict[str, Any]] = {}
    for template, summary in summaries.items():
        for bench, b in summary["benchmarks"].items():
            score = b.get("score")
            rows.append({"template": template, "benchmark": bench, "headline": b.get("headline"),
                         "score": score, "boxed_rate": b.get("boxed_rate"), "format_rate": b.get("format_rate")})
            if score is not None and (bench not in best or score > best[bench]["score"]):
                best[bench] = {"template": template, "score": score}
    gap: dict[str, float | None] = {}
    for bench, b in best.items():
        ref = summaries.get(reference, {}).get("benchmarks", {}).get(bench, {}).get("score")
        gap[bench] = None if ref is None else b["score"] - ref
    return {"rows": rows, "strongest": best, "reference": reference, "gap": gap, "skipped": dict(skipped or {})}
