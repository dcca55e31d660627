"""``spurious eval --baselines``: the table of :func:`spurious.eval.baselines.run_baselines`, printed."""

from __future__ import annotations

from typing import Any


def print_baselines(table: dict[str, Any], model_name: str) -> None:
    """The baseline table (the strongest template starred), the strongest baseline per benchmark and its gap
    to the reference template, and the skipped templates with their reasons."""
    from rich.table import Table

    from spurious.console import wide_console

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
    for name, why in table["skipped"].items():
        console.print(f"skipped {name}: {why}")
