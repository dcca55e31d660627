"""``spurious train``: GRPO with any reward on the paper's update schedule (see docs/training.md)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def train(
    preset: Optional[str] = typer.Option(None, "--preset", "-p",
                                         help="Preset name (paper, paper-1.5b, smollm2-cpu, tiny-cpu) or a YAML file; "
                                              "without one, TrainConfig's defaults (the paper's recipe)."),
    set_: List[str] = typer.Option([], "--set", "-s", help="Override any config key: key=value (repeatable); "
                                                            "reward_params.gamma=0.3 sets one reward parameter."),
    model: Optional[str] = typer.Option(None, help="HF folder, hub id, smollm2-135m-instruct or tiny:<preset>."),
    dataset: Optional[str] = typer.Option(None, help="deepscaler, math500, a .jsonl/.json/.parquet file, hub:<id>."),
    reward: Optional[str] = typer.Option(None, help="Reward spec (spurious reward --list)."),
    template: Optional[str] = typer.Option(None, help="Prompt template (qwen-math, default, r1, ...)."),
    name: Optional[str] = typer.Option(None, help="Run name: the run folder is <output-dir>/<name>."),
    output_dir: Optional[str] = typer.Option(None, "--output-dir", "-o", help="Parent folder of run folders."),
    phases: Optional[int] = typer.Option(None, help="Rollout phases to train."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after this many optimizer steps."),
    seed: Optional[int] = typer.Option(None, help="Run seed (sampler, generation, random rewards)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue runs/<name> from its last checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No live progress display."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Make every check a launch would (reward, dataset, "
                                                           "GRPOConfig, DeepSpeed) without loading a model; print "
                                                           "the resolved config and schedule."),
    num_processes_: Optional[int] = typer.Option(None, "--num-processes", min=1,
                                                 help="With --dry-run: check and show the schedule for this many "
                                                      "processes (default: this launch's WORLD_SIZE)."),
) -> None:
    """Train a causal LM with GRPO; writes runs/<name>/ (config, metrics.jsonl, rollouts, checkpoints)."""
    import json
    import os

    from rich.console import Console

    from spurious.errors import UsageError
    from spurious.rl.config import build_config, read_config
    from spurious.rl.run import num_processes

    console = Console(stderr=True)
    explicit = dict(model=model, dataset=dataset, reward=reward, template=template, name=name,
                    output_dir=output_dir, phases=phases, max_steps=max_steps, seed=seed)
    if resume is not None:
        fixed = {k: v for k, v in explicit.items() if v is not None and k not in ("phases", "max_steps")}
        if preset or set_ or fixed:
            raise UsageError("takes the run's own config.yaml; only --phases / --max-steps (a new end point) "
                             "may be given", option="--resume")
        cfg = read_config(resume)
        cfg = cfg.replace(output_dir=str(resume.parent), name=resume.name)
        if phases is not None or max_steps is not None:
            cfg = cfg.replace(phases=phases or cfg.phases, max_steps=max_steps)
    else:
        cfg = build_config(preset, set_, **explicit)
    if no_progress:
        cfg = cfg.replace(progress=False)
    nproc = num_processes()
    if num_processes_ is not None:
        if not dry_run and num_processes_ != nproc:
            raise UsageError(f"this launch has {nproc} process(es); --num-processes is for --dry-run (start N "
                             f"processes with accelerate launch / torchrun)", option="--num-processes")
        nproc = num_processes_
    cfg.validate(nproc)
    if dry_run:
        import contextlib
        import sys

        from spurious.rl.preflight import dry_run as check

        with contextlib.redirect_stdout(sys.stderr):  # library chatter (DeepSpeed logs to stdout) off the JSON
            report = check(cfg, nproc)
        print(json.dumps(report, indent=2, default=str))
        return
    from spurious.rl.run import train as run_train

    result = run_train(cfg, resume=resume is not None, overwrite=overwrite)  # SpuriousError: one line, exit 2
    last = result.final
    if result.already_complete:
        if int(os.environ.get("RANK", "0")) == 0:
            console.print(f"{result.run_dir}: already complete ({cfg.total_optimizer_steps} optimizer steps); "
                          f"nothing changed. Give a later end point (--phases / --max-steps) to extend it.",
                          soft_wrap=True)
        return
    if last and int(os.environ.get("RANK", "0")) == 0:
        console.print(f"[bold green]done[/] {result.run_dir}: {last['phase'] + 1} phases, reward "
                      f"{last.get('reward/mean', float('nan')):.3f}, accuracy {last.get('accuracy')}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
