"""``spurious organism``: pre-train and inspect CPU model organisms; the tabular clipping simulator."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

organism_app = typer.Typer(help="CPU model organisms with a controlled pre-training prior (see docs/organism.md).",
                           no_args_is_help=True)


@organism_app.command("families")
def families() -> None:
    """List the organism families and their corpus priors."""
    from rich.table import Table

    from spurious.console import wide_console

    from spurious.organism.corpus import FAMILIES

    t = Table("family", "p(code)", "code acc (error)", "language acc (error)", "p(box)", "description")
    for f in FAMILIES.values():
        t.add_row(f.name, f"{f.p_code:.2f}", f"{f.code.accuracy:.2f} ({f.code.error})",
                  f"{f.language.accuracy:.2f} ({f.language.error})", f"{f.p_box:.2f}", f.description)
    wide_console().print(t)


@organism_app.command("pretrain")
def pretrain(
    family: List[str] = typer.Option(["qwen-like"], "--family", "-f", help="Family to pre-train (repeatable)."),
    size: str = typer.Option("tiny", help="Size preset: tiny (2x64) or small (3x128)."),
    steps: int = typer.Option(2000, help="Optimizer steps (64 fresh demonstrations each)."),
    seed: int = typer.Option(0, help="Initialisation and corpus seed."),
    force: bool = typer.Option(False, help="Retrain even if the cache (or --into) has this configuration."),
    into: Optional[Path] = typer.Option(None, "--into", help="Write <into>/<key>/ instead of the cache (the package's "
                                                             "shipped organisms: src/spurious/organism/pretrained)."),
) -> None:
    """Pre-train organisms and show their calibration.

    Without --into, a configuration the package ships is loaded, not retrained (--force rebuilds it into the
    cache); others are cached under $SPURIOUS_CACHE/organisms (default ~/.cache/spurious)."""
    import os
    import shutil

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from rich.progress import Progress

    from spurious.console import wide_console
    from spurious.errors import UsageError, check_positive
    from spurious.organism.corpus import get_family
    from spurious.organism.model import get_size
    from spurious.organism.pretrain import PretrainConfig, cache_root, ensure_organism, organism_dir, pretrain

    console = wide_console(stderr=True)
    check_positive(steps=steps)
    get_size(size)  # unknown family or size: a UsageError
    configs = [PretrainConfig(family=get_family(f).name, size=size, steps=steps, seed=seed) for f in family]
    for cfg in configs:
        d = (into / cfg.key()) if into else (cache_root() / cfg.key() if force else organism_dir(cfg))
        if force and d.exists():
            shutil.rmtree(d)
        with Progress(console=console) as prog:
            task = prog.add_task(f"pre-train {cfg.family}", total=cfg.steps)

            def on_step(s: int, loss: float) -> None:
                prog.update(task, completed=s + 1, description=f"pre-train {cfg.family} loss {loss:.3f}")

            if into or force:
                path = d if (d / "organism.json").exists() else pretrain(cfg, d, on_step=on_step)
            else:
                path = ensure_organism(cfg, on_step=on_step)
            prog.update(task, completed=cfg.steps)
        _show(path, wide_console())
        typer.echo(str(path))


@organism_app.command("show")
def show(path: Path = typer.Argument(..., help="An organism folder (with organism.json).")) -> None:
    """Print an organism's configuration and calibration table."""
    from spurious.console import wide_console
    from spurious.io import InputError

    if not (path / "organism.json").exists():
        raise InputError(path / "organism.json", None, "not an organism folder (file not found)")
    _show(path, wide_console())


def _show(path: Path, console) -> None:
    import json

    from rich.table import Table

    info = json.loads((Path(path) / "organism.json").read_text())
    t = Table(title=f"{info['key']}  ({info['parameters']:,} parameters, {info['train_seconds']} s)")
    for col in ("", "code freq", "accuracy", "acc code", "acc language", "boxed"):
        t.add_column(col)
    exp = info["expected"]
    t.add_row("corpus", *(f"{exp[k]:.3f}" for k in ("code_frequency", "accuracy", "accuracy_code",
                                                     "accuracy_language", "boxed_rate")))
    for mode in ("sampled", "greedy"):
        c = info["calibration"][mode]
        t.add_row(f"{mode} (n={c['n']})", *("-" if c[k] is None else f"{c[k]:.3f}" for k in (
            "code_frequency", "accuracy", "accuracy_code", "accuracy_language", "boxed_rate")))
    console.print(t)


@organism_app.command("simulate")
def simulate(
    p0: List[float] = typer.Option([0.1, 0.35, 0.5, 0.65, 0.8, 0.9], "--p0", help="Starting P(code) (repeatable)."),
    lr: float = typer.Option(4.0, help="SGD step on the style logit."),
    minibatches: int = typer.Option(8, help="Optimizer steps per phase (K)."),
    eps: float = typer.Option(0.2, help="Clip range."),
    replicas: int = typer.Option(4000, help="Independent replicas per cell (bias = mean, noise = spread)."),
    runs: int = typer.Option(0, help="Also simulate this many whole trainings per cell (0: skip)."),
    phases: int = typer.Option(150, help="Phases per whole training."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the table as JSON here, and the region plot."),
) -> None:
    """Tabular random-reward GRPO on a softmax style choice: clipping bias vs noise (spurious.analysis.clipping)."""
    from dataclasses import replace

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from spurious.analysis.clipping import MODES, SimConfig, phase_drift, plot_regions, simulate_runs
    from spurious.console import wide_console
    from spurious.errors import UsageError, check_positive
    from spurious.io import check_output

    check_positive(replicas=replicas, phases=phases)
    if runs < 0:
        raise UsageError(f"must be >= 0, got {runs}", option="--runs")
    bad = [p for p in p0 if not 0 < p < 1]
    if bad:
        raise UsageError(f"must be strictly between 0 and 1, got {bad[0]}", option="--p0")
    base = SimConfig(lr=lr, minibatches=minibatches, eps_low=eps, eps_high=eps)  # its own checks: UsageError
    if out:
        check_output(out, "folder")
    t = Table("p0", "mode", "logit drift/phase", "± s.e.", "noise s.d.", "style clip %",
              *(["runs ending above p0", "mean p end"] if runs else []))
    rows = []
    progress = Progress(TextColumn("simulate {task.fields[cell]}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=wide_console(stderr=True), transient=True)
    with progress:
        task = progress.add_task("cells", total=len(p0) * len(MODES), cell="")
        for p in p0:
            for m in MODES:
                progress.update(task, cell=f"p0={p:.2f} {m}")
                cfg = replace(base, p0=p, mode=m)
                d = phase_drift(cfg, replicas=replicas)
                row = {"p0": p, "mode": m, **d}
                extra = []
                if runs:
                    r = simulate_runs(cfg, phases=phases, runs=runs)
                    row.update(frac_up=r["frac_up"], mean_p_end=r["mean_p_end"])
                    extra = [f"{r['frac_up']:.2f}", f"{r['mean_p_end']:.3f}"]
                rows.append(row)
                t.add_row(f"{p:.2f}", m, f"{d['drift']:+.4f}", f"{d['se']:.4f}", f"{d['noise']:.3f}",
                          f"{100 * d['clip_frac']:.2f}", *extra)
                progress.advance(task)
    wide_console().print(t)
    if out:
        from spurious.io import write_json
        from spurious.provenance import provenance

        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "simulation.json", {"rows": rows, "base": base.__dict__, "provenance": provenance()})
        plot_regions(out / "clip_regions.png", eps)
        typer.echo(str(out / "simulation.json"))


def register(app: typer.Typer) -> None:
    app.add_typer(organism_app, name="organism")
