"""``spurious demo``: the clipping-bias mechanism in CPU model organisms, end to end, no downloads."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def demo(
    full: bool = typer.Option(False, "--full", help="The stronger study (= --plan full): 49 runs x 100 phases, "
                                                    "more seeds and pairs, the paper's 0.65 prior."),
    plan: str = typer.Option("default", help="default (89 runs x 15 phases) | full (the claims, 100 phases, more "
                                             "seeds) | conditions (other rewards, no clip, clip range, steps per "
                                             "phase, the 0.90 prior) | mechanism (31 runs: the follow-up "
                                             "literature's claims - clip asymmetry, RLOO/REINFORCE, flip(p), "
                                             "entropy minimisation - and the no-signal controls; "
                                             "docs/mechanism.md)."),
    out: Path = typer.Option(Path("demo"), "-o", "--out", help="Output folder (report.html, runs/, summary.json)."),
    workers: int = typer.Option(2, help="Parallel single-thread worker processes (at most the number of cores)."),
    phases: Optional[int] = typer.Option(None, help="Override the rollout phases per run."),
    seeds: Optional[int] = typer.Option(None, help="Override: run at most N seeds of every arm."),
    first_seed: int = typer.Option(0, "--first-seed", help="Shift every arm's seeds: an arm with n seeds runs "
                                                           "K..K+n-1 (another, disjoint seed set per K step of n)."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Wall-time budget in minutes: no run starts "
                                           "unless it is expected to finish in time; the report says which runs "
                                           "were cut (rerun with the same -o to complete them)."),
    family: Optional[List[str]] = typer.Option(None, "--family", help="Only these families (repeatable)."),
    arm: Optional[List[str]] = typer.Option(None, "--arm", help="Only these arms (repeatable)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Override the SGD step size of every arm that does not "
                                                          "set its own."),
    pretrain_steps: Optional[int] = typer.Option(None, help="Override the organisms' pre-training steps (2000; "
                                                            "another value pre-trains into the cache instead of "
                                                            "using the shipped organisms)."),
    report_only: bool = typer.Option(False, "--report-only", help="Rebuild report.html from finished runs."),
) -> None:
    """Load the shipped organisms (or pre-train other configurations), run the reward x family grid, write
    report.html with verdicts."""
    import json
    import os
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    from spurious.console import wide_console
    from spurious.errors import UsageError, check_positive
    from spurious.io import InputError, check_output
    from spurious.organism.grid import run_grid, summarize
    from spurious.organism.plans import get_plan, with_overrides
    from spurious.organism.report import build_demo_report
    from spurious.organism.verdicts import judge

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    console = wide_console(stderr=True)
    check_positive(workers=workers, phases=phases, seeds=seeds, pretrain_steps=pretrain_steps, budget=budget)
    if first_seed < 0:
        raise UsageError(f"--first-seed must be >= 0, got {first_seed}", option="--first-seed")
    plan = "full" if full else plan
    base_spec = get_plan(plan)  # unknown plan, family or arm: a UsageError
    spec = with_overrides(base_spec, phases=phases, seeds=seeds, first_seed=first_seed,
                          families=tuple(family) if family else None, arms=tuple(arm) if arm else None,
                          pretrain_steps=pretrain_steps, lr=lr)
    unknown = [a for a in (arm or []) if a not in base_spec.all_arms()]
    if unknown:
        raise UsageError(f"{', '.join(map(repr, unknown))} not in plan {plan!r}; its arms: "
                         f"{', '.join(base_spec.all_arms())}", option="--arm")
    if not spec.cells():
        raise UsageError(f"no runs left in plan {plan!r} after --family/--arm/--seeds")
    check_output(out, "folder")
    mode = plan
    t0 = time.time()
    if report_only:
        from spurious.organism.pretrain import organism_dir

        summary = summarize(spec, out / "runs")
        if not summary["groups"]:
            raise InputError(out / "runs", None, f"no finished runs of plan {plan!r} to report on; run "
                             "'spurious demo' with this -o (and the same --plan/--family/--arm) first")
        summary["organisms"] = {f: str(organism_dir(spec.pretrain_config(f))) for f in spec.families
                                if (organism_dir(spec.pretrain_config(f)) / "organism.json").exists()}
        previous = out / "summary.json"  # the grid's own wall time, from the invocation that ran it
        wall = json.loads(previous.read_text()).get("wall_seconds", 0.0) if previous.exists() else 0.0
        mode = f"{plan} (report rebuilt from earlier runs)"
    else:
        cells = spec.cells()
        console.print(f"[bold]spurious demo[/] ({mode}): {len(spec.families)} families, {len(cells)} runs x "
                      f"{spec.settings.phases} phases, {workers} worker(s) -> {out}/")
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                            TextColumn("{task.fields[note]}"), console=console)
        with progress:
            pre = progress.add_task("pre-train / load organisms", total=len(spec.families), note="")
            task = progress.add_task("RL phases", total=None, note="")
            done_cells: list[str] = []

            def on_event(kind: str, data: dict) -> None:
                if kind == "pretrained":
                    progress.advance(pre)
                    progress.update(pre, note=f"{data['family']} ready")
                elif kind == "cell_done":
                    done_cells.append(data["cell"])
                    d = data["delta"]
                    progress.console.print(f"  done {data['cell']}: Δacc {d['accuracy']:+.3f}  "
                                           f"Δcode {d['code_frequency']:+.3f}  ({data['wall_seconds']:.0f} s)")
                elif kind == "cell_failed":
                    progress.console.print(f"  [red]failed[/] {data['cell']}: {data['error']}")
                elif kind == "cut":
                    progress.console.print(f"  [yellow]budget[/]: {len(data['cells'])} run(s) will not start "
                                           f"(they would end after {budget:g} min)")
                elif kind == "tick":
                    progress.update(task, total=data["phases_total"] or 1, completed=data["phases_done"],
                                    note=f"{len(done_cells)} runs done; running {', '.join(data['running'])}")

            summary = run_grid(spec, out, workers=workers, on_event=on_event,
                               budget_s=None if budget is None else 60 * budget)
        wall = time.time() - t0
    if plan == "mechanism":  # its own claims, verdicts and report (spurious.organism.mechanism)
        from spurious.organism.mechanism import write_mechanism_report

        report, judgements = write_mechanism_report(out, spec, summary, wall_seconds=wall, mode=mode)
    else:
        with console.status("building report.html") as status:
            def on_stage(stage: str) -> None:
                status.update(f"building report.html: {stage}")
                if not console.is_terminal:  # a log gets one line per stage instead of a spinner
                    console.print(f"building report.html: {stage}")

            report = build_demo_report(out, spec, summary, wall_seconds=wall, mode=mode, on_stage=on_stage)
        judgements = judge(summary, list(spec.families))
    for j in judgements:
        colour = {"supported": "green", "not supported": "red"}.get(j.verdict, "yellow")
        console.print(f"[{colour}]{j.verdict:>13}[/]  {j.claim}\n               {j.evidence}")
    if summary.get("cut"):
        console.print(f"[yellow]stopped early[/] (--budget {budget:g} min): {len(summary['cut'])} of "
                      f"{len(spec.cells())} runs cut: {', '.join(summary['cut'])}; verdicts above use the runs that "
                      "finished (rerun the same command to complete the plan)")
    if summary.get("failed"):
        console.print(f"[red]{len(summary['failed'])} run(s) failed[/] (rerun the same command to retry them): "
                      + ", ".join(summary["failed"]))
    console.print(f"wall time {wall:.0f} s; report: [bold]{report}[/]")
    typer.echo(str(report))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
