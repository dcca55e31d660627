"""Baseline strength: the base model under every shipped template, the strongest baseline and its gap.

A reported RL gain is only as honest as its starting point: the paper's own prompt-sensitivity table
(docs/paper.md §7.11) moves Qwen2.5-Math-7B from 49.4 to 68.8 on MATH-500 without any training. This module
evaluates a model under each template (:func:`evaluate_templates` around any per-template evaluation;
:func:`run_baselines` with ``spurious.eval.runner.evaluate``) and turns one evaluation summary per template
into a table, the strongest template per benchmark, and the gap between the reference template (the paper's
``qwen-math``, or the recipe's own) and it. ``spurious eval --baselines`` and ``spurious audit --baselines``
both use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from spurious.data.templates import TEMPLATES
from spurious.errors import SpuriousError
from spurious.eval.runner import evaluate
from spurious.io import write_json
from spurious.provenance import provenance

REFERENCE_TEMPLATE = "qwen-math"
BASELINES_FILE = "baselines.json"


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


def evaluate_templates(evaluate_one: Callable[[str], Mapping[str, Any]], templates: Iterable[str] = TEMPLATES,
                       known: Mapping[str, Mapping[str, Any]] | None = None
                       ) -> tuple[dict[str, Any], dict[str, str]]:
    """``(summaries, skipped)``: ``evaluate_one(template)`` for every template not in ``known`` (summaries
    already made under the same settings, used as they are). A template the model cannot take
    (``evaluate_one`` raises a ValueError that is not a :class:`~spurious.errors.SpuriousError`: a chat
    template on a model without one, characters an organism cannot read) is listed in ``skipped`` with the
    reason, never evaluated another way."""
    summaries: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in dict.fromkeys(templates):
        if known and name in known:
            summaries[name] = known[name]
            continue
        try:
            summaries[name] = evaluate_one(name)
        except SpuriousError:  # the user's input (a file, a setting) is wrong: that is not a template's fault
            raise
        except ValueError as e:
            skipped[name] = str(e)
    return summaries, skipped


def run_baselines(backend, benchmarks: Sequence[str], out: Path, *, model_name: str,
                  reference: str = REFERENCE_TEMPLATE, known: Mapping[str, Mapping[str, Any]] | None = None,
                  **eval_kwargs: Any) -> dict[str, Any]:
    """Evaluate ``backend`` under ``reference`` and every template of :data:`TEMPLATES` into ``out/<template>/``
    (``known``: summaries to use as they are); write ``out/baselines.json`` (the :func:`baseline_table` plus
    provenance) and return it."""
    out = Path(out)
    names = list(dict.fromkeys([reference, *TEMPLATES]))

    def one(name: str) -> dict[str, Any]:
        return evaluate(backend, list(benchmarks), template=name, out_dir=out / _folder(name), model_name=model_name,
                        show=False, **eval_kwargs)

    summaries, skipped = evaluate_templates(one, names, known)
    table = baseline_table(summaries, skipped, reference)
    write_json(out / BASELINES_FILE, {**table, "model": model_name, "benchmarks": list(benchmarks),
                                      "provenance": provenance(model=model_name, baselines=names, **eval_kwargs)})
    return table


def _folder(template: str) -> str:
    """A template's evaluation folder: its name, or ``custom`` for a ``{problem}`` string."""
    return template if template in TEMPLATES else "custom"
