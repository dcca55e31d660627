"""``spurious label``: majority-vote labels (and the incorrect-label set) for a training dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def label_command(
    model: str = typer.Option(..., "--model", "-m",
                              help="the model to be trained: HF folder, hub id, smollm2-135m-instruct, tiny:.."),
    dataset: str = typer.Option("deepscaler", "--dataset", "-d", help="registered name or JSONL path"),
    out: Path = typer.Option(..., "--out", "-o", help="labelled JSONL to write (plus .votes.jsonl, .meta.json)"),
    level: Optional[int] = typer.Option(None, help="only this DeepScaleR difficulty level (docs/paper.md §2.3)"),
    limit: Optional[int] = typer.Option(None, help="first N problems (after --level)"),
    samples: int = typer.Option(64, help="responses per problem (paper: 64)"),
    temperature: float = typer.Option(1.0, help="paper's code: 1.0"),
    top_p: float = typer.Option(1.0, "--top-p"),
    max_new_tokens: int = typer.Option(3072, "--max-new-tokens", help="paper's code: 3072"),
    template: str = typer.Option("none", help="'none' = raw problem text, as the official pipeline"),
    grader: str = typer.Option("default", help="default or official (extractor and equivalence)"),
    incorrect_only: bool = typer.Option(False, "--incorrect-only",
                                        help="keep only problems whose MV label is wrong (the incorrect reward)"),
    drop_empty: bool = typer.Option(False, "--drop-empty", help="drop problems with an empty label (W4)"),
    backend: str = typer.Option("transformers", help="transformers or vllm"),
    batch_size: int = typer.Option(16, "--batch-size"),
    seed: int = typer.Option(0),
    dtype: Optional[str] = typer.Option(None),
    device: Optional[str] = typer.Option(None),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads"),
) -> None:
    """Sample k responses per problem, label each problem with the majority answer (docs/paper.md §2.3, §2.6)."""
    from spurious.commands.eval import check_backend, make_backend
    from spurious.console import wide_console
    from spurious.data import get_template
    from spurious.errors import check_choice, check_positive
    from spurious.eval.labeling import label_problems, select_problems
    from spurious.grading import GRADERS
    from spurious.io import InputError, check_output
    from spurious.models import parse_tiny_name

    check_backend(backend)
    check_positive(limit=limit, samples=samples, max_new_tokens=max_new_tokens, batch_size=batch_size,
                   threads=threads)
    check_choice(grader, GRADERS, "--grader", "grader")
    get_template(template)
    parse_tiny_name(model)
    check_output(out)
    problems = select_problems(dataset, level=level, limit=limit)
    if not problems:
        raise InputError(dataset, None, "no problems to label")
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    be = make_backend(model, backend, batch_size=batch_size, dtype=dtype, device=device, seed=seed)
    s = label_problems(
        be, problems, out, dataset=dataset, samples=samples, temperature=temperature, top_p=top_p,
        max_new_tokens=max_new_tokens, template=template, grader=grader, incorrect_only=incorrect_only,
        drop_empty=drop_empty, seed=seed, model_name=model)
    wide_console().print(
        f"labelled {s['n_problems']} problems: agreement with ground truth "
        f"{100 * s['agreement_with_ground_truth']:.1f}%, "
        f"{s['n_empty_labels']} empty labels, mean vote share {s['mean_vote_share']:.2f}; "
        f"wrote {s['n_written']} rows to {out}"
    )


def register(app: typer.Typer) -> None:
    app.command("label")(label_command)
