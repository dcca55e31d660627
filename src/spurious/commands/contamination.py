"""``spurious contamination``: partial-prompt completion of a benchmark (arXiv 2507.10532's probe)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def contamination(
    model: str = typer.Option(..., "--model", "-m", help="HF folder, hub id, 'smollm2-135m-instruct' or "
                                                         "'tiny:<preset>'"),
    benchmark: str = typer.Option("math500", "--benchmark", "-b", help="benchmark name or JSONL path"),
    limit: Optional[int] = typer.Option(None, help="first N problems"),
    fractions: str = typer.Option("0.4,0.6,0.8", help="prefix fractions of the problem's words"),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="greedy continuation budget"),
    grader: str = typer.Option("default", help="grader of the answers given from the prefix"),
    batch_size: int = typer.Option(16, "--batch-size"),
    dtype: Optional[str] = typer.Option(None, help="float32 (default on CPU), bf16, fp16"),
    device: Optional[str] = typer.Option(None),
    out: Path = typer.Option(..., "--out", "-o", help="output folder: leaks.jsonl + summary.json"),
) -> None:
    """Complete each problem from 40/60/80 % prefixes (greedy, no template): exact match, ROUGE-L, accuracy;
    per-problem leak flags in leaks.jsonl."""
    from spurious.commands.eval import make_backend
    from spurious.data import load_problems
    from spurious.errors import SpuriousError, UsageError, check_positive
    from spurious.eval.contamination import probe, summarize_probe
    from spurious.eval.leaks import CONTAMINATION_DIR, LEAKS_FILE
    from spurious.io import check_output, write_json, write_jsonl
    from spurious.models import parse_tiny_name
    from spurious.provenance import provenance

    check_positive(limit=limit, max_new_tokens=max_new_tokens, batch_size=batch_size)
    try:
        fracs = tuple(float(x) for x in fractions.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"expected comma-separated numbers, got {fractions!r}", option="--fractions") from None
    if not fracs or any(not 0 < f < 1 for f in fracs):
        raise UsageError(f"every fraction must be strictly between 0 and 1, got {fractions!r}", option="--fractions")
    parse_tiny_name(model)
    try:
        problems = load_problems(benchmark, limit=limit)
    except SpuriousError:
        raise
    except (OSError, ValueError) as e:
        raise UsageError(str(e), option="--benchmark") from e
    check_output(out, "folder")
    for taken in ("samples.jsonl", "metrics.jsonl"):
        if (out / taken).exists():
            raise UsageError(f"{out} holds {taken} (an evaluation or a run folder, whose files the probe's would "
                             f"mix with); write into {out / CONTAMINATION_DIR}, where analyze finds the flags",
                             option="--out")
    backend = make_backend(model, "transformers", batch_size=batch_size, dtype=dtype, device=device, seed=0)
    records = probe(backend, problems, fractions=fracs, max_new_tokens=max_new_tokens, grader=grader,
                    benchmark=benchmark)
    summary = summarize_probe(records)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / LEAKS_FILE, records)
    write_json(out / "summary.json", {**summary, "model": model, "benchmark": benchmark,
                                      "provenance": provenance(model=model, benchmark=benchmark, limit=limit,
                                                               fractions=list(fracs), max_new_tokens=max_new_tokens,
                                                               grader=grader, decoding="greedy, no template")})
    for f, s in summary["per_fraction"].items():
        typer.echo(f"prefix {float(f):.0%}: exact match {100 * s['exact_match']:.1f} %, ROUGE-L {s['rouge_l']:.3f}, "
                   f"accuracy from the prefix {100 * s['answer_accuracy']:.1f} %")
    typer.echo(f"leaked ({summary['leak_rule']}): {100 * summary['leaked']:.1f} % of {summary['problems']}")
    typer.echo(str(out / LEAKS_FILE))


def register(app: typer.Typer) -> None:
    app.command("contamination")(contamination)
