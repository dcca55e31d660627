"""``spurious audit``: the user's reward against spurious controls, same recipe, seeds and budget."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

ORGANISM_ONLY = ("eval_samples", "answer")
MODEL_ONLY = ("benchmarks", "limit", "eval_max_new_tokens", "grader", "batch_size", "dry_run", "num_processes")


def audit(
    organism: Optional[str] = typer.Option(None, "--organism", help="Organism family to audit on (spurious organism "
                                           "families); its cached pre-trained model is used."),
    preset: Optional[str] = typer.Option(None, "--preset", help="A real-model audit: the training recipe (a preset "
                                         "name such as smollm2-cpu or paper, or a YAML file) for every arm."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="A real-model audit: the model (replaces the "
                                        "preset's; without --preset, TrainConfig's defaults are the recipe)."),
    reward: str = typer.Option(..., "--reward", "-r", help="The user's reward: registry name, expression or "
                                                           "import path 'pkg.module:function'."),
    param: List[str] = typer.Option([], "--param", "-p", help="Parameter of the user's reward, key=value "
                                                              "(repeatable)."),
    control: Optional[List[str]] = typer.Option(None, "--control", "-c", help="Control arm (repeatable; default "
                                                "random and format): random, format, incorrect (organisms), no-clip, "
                                                "on-policy, or any reward spec (a user-named control)."),
    seeds: int = typer.Option(3, help="Seeds 0..N-1 for every arm."),
    phases: Optional[int] = typer.Option(None, help="Rollout phases per run, the same for every arm (default: 40 on "
                                                    "organisms, the recipe's on a model)."),
    set_: List[str] = typer.Option([], "--set", "-s", help="Override a recipe field, key=value (repeatable; organisms: "
                                                           "fields of organism.runner.RunSettings; models: TrainConfig "
                                                           "keys as in spurious train --set)."),
    baselines: bool = typer.Option(False, "--baselines", help="Also evaluate the base model under every shipped "
                                   "template and state each arm's gain against the strongest baseline."),
    eval_samples: Optional[int] = typer.Option(None, help="Organisms: T=1 evaluation responses, cycled over the "
                                                          "held-out problems (default 1024)."),
    answer: Optional[str] = typer.Option(None, help="Organisms: what counts as an answer, fallback (last box, else "
                                                    "last integer: the official rule; default) or boxed (a box only)."),
    benchmarks: Optional[str] = typer.Option(None, "--benchmarks", "-b", help="Models: comma-separated benchmarks to "
                                             "evaluate before and after (default math500), the paper's protocol."),
    limit: Optional[int] = typer.Option(None, help="Models: the first N problems of each benchmark."),
    eval_max_new_tokens: Optional[int] = typer.Option(None, help="Models: evaluation token budget (default: the "
                                                                 "recipe's max_completion_tokens)."),
    grader: Optional[str] = typer.Option(None, help="Models: evaluation grader, default or official."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Models: evaluation generation batch "
                                                                       "(default 16)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Models: make every check (each arm's reward, dataset, "
                                 "GRPOConfig, DeepSpeed; the benchmarks) without loading a model; print the plan."),
    num_processes: Optional[int] = typer.Option(None, "--num-processes", min=1, help="With --dry-run: check the "
                                                "recipe's schedule for this many processes."),
    workers: int = typer.Option(1, help="Organisms: parallel single-thread worker processes."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Audit folder (resumable: rerun to continue)."),
) -> None:
    """Run the user's arm and the control arms, evaluate before/after, write summary.json and report.html."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from spurious.assignments import parse_assignment
    from spurious.console import wide_console
    from spurious.errors import SpuriousError, UsageError, check_positive

    options = {"eval_samples": eval_samples, "answer": answer, "benchmarks": benchmarks, "limit": limit,
               "eval_max_new_tokens": eval_max_new_tokens, "grader": grader, "batch_size": batch_size,
               "dry_run": dry_run, "num_processes": num_processes}
    given = {k for k, v in options.items() if v not in (None, False)}
    is_model = preset is not None or model is not None
    if is_model == (organism is not None):
        raise UsageError("give --organism, or --preset / --model for a real model (not both)")
    wrong = [k for k in (ORGANISM_ONLY if is_model else MODEL_ONLY) if k in given]
    if wrong:
        raise UsageError(f"is for {'organism' if is_model else 'model'} audits",
                         option="--" + wrong[0].replace("_", "-"))
    if out is None and not dry_run:
        raise UsageError("the audit folder is required", option="--out")
    check_positive(seeds=seeds, phases=phases, eval_samples=eval_samples, workers=workers, limit=limit,
                   eval_max_new_tokens=eval_max_new_tokens, batch_size=batch_size)
    reward_params = dict(parse_assignment(p, "--param") for p in param)
    controls = tuple(control) if control else None
    try:
        if is_model:
            spec = _model_spec(preset, model, reward, reward_params, controls, seeds, phases, list(set_), baselines,
                               benchmarks, limit, eval_max_new_tokens, grader, batch_size)
        else:
            spec = _organism_spec(organism, reward, reward_params, controls, seeds, phases, list(set_), baselines,
                                  eval_samples, answer)
    except SpuriousError:
        raise
    except (ValueError, TypeError) as e:  # unknown family, reward, control or recipe key
        raise UsageError(str(e)) from e
    if dry_run:
        import contextlib
        import json
        import sys

        from spurious.audit.run_model import plan_model_audit

        with contextlib.redirect_stdout(sys.stderr):  # library chatter (DeepSpeed logs to stdout) off the JSON
            plan = plan_model_audit(spec, num_processes or 1)
        print(json.dumps(plan, indent=2, default=str))
        return
    if num_processes is not None:
        raise UsageError("is for --dry-run (a model audit runs in one process)", option="--num-processes")
    from spurious.audit.run import run_audit
    from spurious.organism.verdicts import format_ci

    console = wide_console(stderr=True)

    def on_event(kind: str, data: dict) -> None:
        if kind == "cell_done":
            console.print(f"done {data['cell']} ({data['seconds']} s)")
        elif kind == "cell_failed":
            console.print(f"[red]failed[/red] {data['cell']}: {data['error']}")
        elif kind == "skipped" and data["cells"]:
            console.print(f"{len(data['cells'])} finished cells kept")
        elif kind == "baselines":
            for bench, best in data["strongest"].items():
                console.print(f"strongest baseline on {bench}: {best['template']} {best['score']:.3f}")

    summary = run_audit(spec, out, workers=workers, on_event=on_event)
    for a in summary["arms"]:
        typer.echo(f"{a['arm']:>16}: gain {format_ci(a['gain'])}" if a["gain"]["mean"] is not None
                   else f"{a['arm']:>16}: no finished seeds")
        for bench, v in a.get("versus_baselines", {}).items():
            typer.echo(f"{'':>16}  {bench}: after − strongest baseline ({v['strongest_template']}) "
                       f"{format_ci(v['over_strongest'])}")
    typer.echo(summary["verdict"]["text"])
    typer.echo(str(out / "report.html"))
    if summary["failed"]:
        raise typer.Exit(1)


def _organism_spec(organism, reward, reward_params, controls, seeds, phases, set_, baselines, eval_samples, answer):
    from dataclasses import replace

    from spurious.audit.evaluation import EvalSpec
    from spurious.audit.plan import DEFAULT_CONTROLS, AuditSpec, settings_with
    from spurious.organism.runner import RunSettings

    settings = settings_with(replace(RunSettings(), phases=phases or 40), set_)
    return AuditSpec(family=organism, reward=reward, reward_params=reward_params,
                     controls=controls or DEFAULT_CONTROLS, seeds=tuple(range(seeds)), settings=settings,
                     evaluation=EvalSpec(samples=eval_samples or 1024, answer=answer or "fallback",
                                         max_new_tokens=settings.max_completion_tokens),
                     baselines=baselines)


def _model_spec(preset, model, reward, reward_params, controls, seeds, phases, set_, baselines, benchmarks, limit,
                eval_max_new_tokens, grader, batch_size):
    from spurious.audit.evaluation import ModelEvalSpec
    from spurious.audit.plan import CELL_FIELDS, DEFAULT_CONTROLS, ModelAuditSpec
    from spurious.errors import UsageError
    from spurious.rl.config import build_config

    for a in set_:
        key = a.partition("=")[0].strip().split(".")[0]
        if key in CELL_FIELDS:
            raise UsageError(f"{key!r} is set by the audit for each arm and seed (--reward, --param, --seeds)",
                             option="--set")
    cfg = build_config(preset, set_, model=model, phases=phases)
    recipe = {k: v for k, v in cfg.to_dict().items() if k not in CELL_FIELDS}
    names = tuple(b.strip() for b in (benchmarks or "math500").split(",") if b.strip())
    evaluation = ModelEvalSpec(benchmarks=names, limit=limit, grader=grader or "default",
                               max_new_tokens=eval_max_new_tokens or cfg.max_completion_tokens,
                               batch_size=batch_size or 16)
    return ModelAuditSpec(recipe=recipe, reward=reward, reward_params=reward_params,
                          controls=controls or DEFAULT_CONTROLS, seeds=tuple(range(seeds)), evaluation=evaluation,
                          preset=preset, baselines=baselines)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
