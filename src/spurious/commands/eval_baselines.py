"""``spurious eval --baselines``: one evaluation per shipped template, then the baseline table."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence


def run_baselines(backend, benchmarks: Sequence[str], out: Path, *, model_name: str, **eval_kwargs: Any
                  ) -> dict[str, Any]:
    """Evaluate ``backend`` under every template of :data:`spurious.data.templates.TEMPLATES` into
    ``out/<template>/``; write ``out/baselines.json`` (the :func:`spurious.eval.baselines.baseline_table`
    plus provenance) and print it. A template the model cannot render (a chat template on a model without
    one) is listed as skipped with the reason."""
    from rich.table import Table

    from spurious.data.templates import TEMPLATES
    from spurious.eval.baselines import baseline_table
    from spurious.eval.runner import evaluate
    from spurious.io import write_json
    from spurious.provenance import provenance
    from spurious.console import wide_console

    summaries: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in TEMPLATES:
        try:
            summaries[name] = evaluate(backend, list(benchmarks), template=name, out_dir=out / name,
                                       model_name=model_name, show=False, **eval_kwargs)
        except ValueError as e:  # Template.render: this model has no chat template
            skipped[name] = str(e)
    table = baseline_table(summaries, skipped)
    write_json(out / "baselines.json", {**table, "model": model_name, "benchmarks": list(benchmarks),
                                        "provenance": provenance(model=model_name, baselines=list(TEMPLATES),
                                                                 **{k: v for k, v in eval_kwargs.items()})})
    t = Table(title=f"{model_name}: baselines (reference {table['reference']})")
    for col in ("template", "benchmark", "metric", "score %", "boxed %"):
        t.add_column(col)
    for r in table["rows"]:
        strongest = table["strongest"].get(r["benchmark"], {}).get("template") == r["template"]
        t.add_row(r["template"] + (" *" if strongest else ""), r["benchmark"], str(r["headline"]),
                  "-" if r["score"] is None else f"{100 * r['score']:.1f}",
                  "-" if r["boxed_rate"] is None else f"{100 * r['boxed_rate']:.1f}")
    console = wide_console()
    console.print(t)
    for bench, b in table["strongest"].items():
        gap = table["gap"].get(bench)
        console.print(f"{bench}: strongest baseline {b['template']} {100 * b['score']:.1f}"
                      + ("" if gap is None else f", {100 * gap:+.1f} points over {table['reference']}"))
    for name, why in skipped.items():
        console.print(f"skipped {name}: {why}")
    return table
