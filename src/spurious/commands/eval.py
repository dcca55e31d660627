"""``spurious eval``: benchmark a model, or every checkpoint of a training run, with the paper's protocol."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer

BACKENDS = ("transformers", "vllm")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name.rstrip("/")).name or name).strip("-") or "model"


def make_backend(model: str, backend: str, *, batch_size: int, dtype: Optional[str], device: Optional[str],
                 seed: int):
    """Load ``model`` into the requested backend (``transformers`` or ``vllm``)."""
    from spurious.models import _resolve_dtype

    _resolve_dtype(dtype)  # an unknown dtype fails here, also for tiny:<preset> models that ignore it
    if backend == "vllm":
        from spurious.eval.backends import VLLMBackend

        return VLLMBackend(model, seed=seed, dtype=dtype or "bfloat16")
    check_backend(backend)
    from spurious.eval.backends import TransformersBackend
    from spurious.models import load_or_build

    m, tok = load_or_build(model, dtype=dtype, device=device)
    return TransformersBackend(m, tok, batch_size=batch_size)


def check_backend(backend: str) -> None:
    """Raise :class:`~spurious.errors.UsageError` unless ``backend`` is transformers or vllm."""
    from spurious.errors import check_choice

    check_choice(backend, BACKENDS, "--backend", "backend")


def eval_command(
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="HF folder, hub id, 'smollm2-135m-instruct' or 'tiny:<preset>'"),
    run: Optional[Path] = typer.Option(None, "--run", help="a training run folder: evaluate base + checkpoint-*"),
    benchmarks: str = typer.Option("math500,amc23,aime24,aime25", "--benchmarks", "-b",
                                   help="comma-separated names or JSONL paths"),
    template: str = typer.Option("qwen-math", help="template name or a custom string with {problem}"),
    limit: Optional[int] = typer.Option(None, help="first N problems of each benchmark"),
    samples: Optional[int] = typer.Option(None, help="samples per problem (default: 8 for AMC/AIME, else 1)"),
    temperature: Optional[float] = typer.Option(None, help="default: 0.6 for AMC/AIME, else 0 (greedy)"),
    top_p: Optional[float] = typer.Option(None, "--top-p", help="default 1.0"),
    max_new_tokens: int = typer.Option(3072, "--max-new-tokens", help="paper: 3072"),
    grader: str = typer.Option("default", help="default (math-verify based) or official (paper parity)"),
    backend: str = typer.Option("transformers", help="transformers or vllm"),
    batch_size: int = typer.Option(16, "--batch-size", help="sequences per generate() call (transformers)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="output folder (default eval/<model>)"),
    seed: int = typer.Option(0, help="sampling seed"),
    dtype: Optional[str] = typer.Option(None, help="float32 (default on CPU), bf16, fp16"),
    device: Optional[str] = typer.Option(None, help="e.g. cuda, cpu"),
    base_model: Optional[str] = typer.Option(None, "--base-model", help="with --run: the step-0 model"),
    no_base: bool = typer.Option(False, "--no-base", help="with --run: skip the base model (step 0)"),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads (default: torch's choice)"),
    baselines: bool = typer.Option(False, "--baselines", help="with --model: evaluate under every shipped "
                                   "template (--template is then ignored); report the strongest baseline "
                                   "and its gap to qwen-math"),
) -> None:
    """Evaluate with the paper's protocol: MATH-500 greedy pass@1; AMC/AIME avg@8 and pass@8 at T=0.6.

    Every option, benchmark and output folder is checked before a model loads; a bad one is a one-line
    error with exit code 2. --limit must be >= 1 (leave it out for every problem)."""
    from spurious.errors import UsageError, check_positive
    from spurious.eval.runner import evaluate, prepare
    from spurious.io import check_output
    from spurious.models import parse_tiny_name
    from spurious.run_files import list_checkpoints

    if (model is None) == (run is None):
        raise UsageError("give exactly one of --model or --run")
    if baselines and run is not None:
        raise UsageError("--baselines evaluates a base model: give --model, not --run")
    check_backend(backend)
    if model is not None:
        parse_tiny_name(model)  # a bad tiny:<preset> fails here, before anything loads
    check_positive(batch_size=batch_size, threads=threads)
    names = [b.strip() for b in benchmarks.split(",") if b.strip()]
    prepare(names, template=template, grader=grader, max_new_tokens=max_new_tokens, limit=limit,
            samples=samples, temperature=temperature, top_p=top_p)
    if run is not None:
        list_checkpoints(run)  # the run folder must exist
    target = out or (Path("eval") / _slug(model) if model is not None else run / "eval")
    check_output(target, "folder")
    if threads is not None:
        import torch

        torch.set_num_threads(threads)

    def run_one(model_path: str, out_dir: Path) -> dict:
        be = make_backend(model_path, backend, batch_size=batch_size, dtype=dtype, device=device, seed=seed)
        return evaluate(be, names, template=template, samples=samples, temperature=temperature, top_p=top_p,
                        max_new_tokens=max_new_tokens, limit=limit, grader=grader, out_dir=out_dir, seed=seed,
                        model_name=model_path)

    if model is not None and baselines:
        from spurious.commands.eval_baselines import print_baselines
        from spurious.eval.baselines import run_baselines

        be = make_backend(model, backend, batch_size=batch_size, dtype=dtype, device=device, seed=seed)
        table = run_baselines(be, names, target, model_name=model, samples=samples, temperature=temperature,
                              top_p=top_p, max_new_tokens=max_new_tokens, limit=limit, grader=grader, seed=seed)
        print_baselines(table, model)
        return
    if model is not None:
        run_one(model, target)
        return
    from spurious.eval.checkpoints import evaluate_run

    result = evaluate_run(run, evaluate_model=run_one, out_dir=target, base_model=base_model,
                          include_base=not no_base)
    from rich.table import Table

    from spurious.console import wide_console

    t = Table(title=f"{run}: final = smoothed last point (window {result['window']})")
    for col in ("benchmark", "metric", "step 0", "final", "gain"):
        t.add_column(col)
    for b, c in result["curves"].items():
        s = c["score"]
        t.add_row(b, c["headline"], f"{100 * s['raw'][0]:.1f}", f"{100 * s['final']:.1f}",
                  f"{100 * s['gain']:+.1f}")
    wide_console().print(t)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
