"""``spurious audit``: the user's reward against spurious controls, same recipe, seeds and budget."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def audit(
    organism: str = typer.Option(..., "--organism", help="Organism family to audit on (spurious organism "
                                                         "families); its cached pre-trained model is used."),
    reward: str = typer.Option(..., "--reward", "-r", help="The user's reward: registry name, expression or "
                                                           "import path 'pkg.module:function'."),
    param: List[str] = typer.Option([], "--param", "-p", help="Parameter of the user's reward, key=value "
                                                              "(repeatable)."),
    control: Optional[List[str]] = typer.Option(None, "--control", "-c", help="Control arm (repeatable; default "
                                                "random and format): random, format, incorrect, no-clip, "
                                                "on-policy, or any reward spec (a user-named control)."),
    seeds: int = typer.Option(3, help="Seeds 0..N-1 for every arm."),
    phases: int = typer.Option(40, help="Rollout phases per run (the budget, the same for every arm)."),
    set_: List[str] = typer.Option([], "--set", "-s", help="Override a recipe field, key=value (repeatable; "
                                                           "fields of organism.runner.RunSettings)."),
    eval_samples: int = typer.Option(1024, help="T=1 evaluation responses, cycled over the held-out problems."),
    answer: str = typer.Option("fallback", help="What counts as an answer in the evaluation: fallback (last box, "
                                                "else last integer: the official rule) or boxed (a box only)."),
    workers: int = typer.Option(1, help="Parallel single-thread worker processes."),
    out: Path = typer.Option(..., "-o", "--out", help="Audit folder (resumable: rerun to continue)."),
) -> None:
    """Run the user's arm and the control arms, evaluate before/after, write summary.json and report.html."""
    import os
    from dataclasses import replace

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from spurious.audit.evaluation import EvalSpec
    from spurious.audit.plan import DEFAULT_CONTROLS, AuditSpec, settings_with
    from spurious.audit.run import run_audit
    from spurious.assignments import parse_assignment
    from spurious.errors import SpuriousError, UsageError, check_positive
    from spurious.organism.runner import RunSettings
    from spurious.console import wide_console

    check_positive(seeds=seeds, phases=phases, eval_samples=eval_samples, workers=workers)
    try:
        settings = settings_with(replace(RunSettings(), phases=phases), list(set_))
        spec = AuditSpec(family=organism, reward=reward, reward_params=dict(parse_assignment(p, "--param") for p in param),
                         controls=tuple(control) if control else DEFAULT_CONTROLS, seeds=tuple(range(seeds)),
                         settings=settings, evaluation=EvalSpec(samples=eval_samples, answer=answer,
                                                                max_new_tokens=settings.max_completion_tokens))
    except SpuriousError:
        raise
    except (ValueError, TypeError) as e:  # unknown family, reward, control or recipe key
        raise UsageError(str(e)) from e
    console = wide_console(stderr=True)

    def on_event(kind: str, data: dict) -> None:
        if kind == "cell_done":
            console.print(f"done {data['cell']} ({data['seconds']} s)")
        elif kind == "cell_failed":
            console.print(f"[red]failed[/red] {data['cell']}: {data['error']}")
        elif kind == "skipped" and data["cells"]:
            console.print(f"{len(data['cells'])} finished cells kept")

    summary = run_audit(spec, out, workers=workers, on_event=on_event)
    for a in summary["arms"]:
        g = a["gain"]
        ci = "" if g["low"] is None else f" [{g['low']:+.3f}, {g['high']:+.3f}]"
        typer.echo(f"{a['arm']:>16}: gain {g['mean']:+.3f}{ci} (n={g['n']})" if g["mean"] is not None
                   else f"{a['arm']:>16}: no finished seeds")
    typer.echo(summary["verdict"]["text"])
    typer.echo(str(out / "report.html"))
    if summary["failed"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
