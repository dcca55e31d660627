"""Training-curve figures in the paper's style (docs/paper.md §5.3, §8.6–8.7, §9).

One PNG per quantity, several runs overlaid: the raw curve dashed and semi-transparent, the smoothed
curve (trailing window 10) solid. Runs sharing a ``group`` label (seeds of one arm) are drawn as the
mean over seeds with a shaded 95 % t-interval band (:func:`spurious.analysis.curves.seed_band`).
Figures are built on ``matplotlib.figure.Figure`` (Agg, no pyplot state), so this works headless.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from spurious.analysis.curves import (Curve, clip_bucket_keys, eval_curve, eval_curve_names, extract_curve,
                                      numeric_keys, seed_band, training_eval_benchmarks, training_eval_curve)
from spurious.analysis.loading import RunLog
from spurious.smoothing import WINDOW

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


@dataclass(frozen=True)
class Quantity:
    """A figure: its file stem, title, y label and the metric keys drawn on it."""

    name: str
    title: str
    ylabel: str
    keys: tuple[str, ...]


QUANTITIES: tuple[Quantity, ...] = (
    Quantity("accuracy", "Rollout accuracy (ground-truth grader)", "accuracy", ("accuracy",)),
    Quantity("code_frequency", "Code-reasoning frequency of rollouts", "share of responses", ("code_frequency",)),
    Quantity("reward", "Training reward (mean over rollouts)", "reward", ("reward/mean",)),
    Quantity("clip_fraction", "Clip fractions: low side (Â<0) and high side (Â>0)", "share of tokens",
             ("clip/low_frac", "clip/high_frac")),
    Quantity("clip_fraction_off_policy", "Clip fractions on off-policy optimizer steps (per phase)",
             "share of tokens", ("clip/low_frac/off_policy", "clip/high_frac/off_policy")),
    Quantity("pi_bar", "Mean token probability π̄ (§8.6)", "π̄", ("pi_bar",)),
    Quantity("entropy", "Token entropy", "nats", ("entropy",)),
    Quantity("response_length", "Response length", "tokens", ("response_length/mean",)),
    Quantity("format_rate", "Boxed-answer (format) rate", "share of responses", ("format_rate",)),
    Quantity("ratio", "Importance ratio ρ (mean, min, max)", "ρ", ("ratio/mean", "ratio/min", "ratio/max")),
    Quantity("grad_norm", "Gradient norm", "‖g‖", ("grad_norm",)),
)


# x-axis labels per step key. Figures count rollout phases from 1 (phase 1 = the first phase), as all human-facing
# text does; metrics.jsonl keeps the 0-based index in its "phase" field.
X_LABELS = {"phase": "rollout phase (1 = first)", "optimizer_step": "optimizer step",
            "phases done": "rollout phases done (0 = base model)"}


def display_steps(steps: Sequence[float], step_key: str) -> list[float]:
    """Steps as figures show them: 0-based phase indices become 1-based phase numbers; others unchanged."""
    return [s + 1 for s in steps] if step_key == "phase" else list(steps)


def _short(key: str) -> str:
    return key.split("/", 1)[1] if "/" in key else key


def plot_quantity(runs: Sequence[RunLog], keys: Sequence[str], title: str, ylabel: str,
                  out_path: str | os.PathLike, window: int = WINDOW, level: float = 0.95) -> Path | None:
    """Draw ``keys`` of every run on one axis and save a PNG; None (no file) if no run logged any key."""
    series = [(f" · {_short(k)}" if len(keys) > 1 else "", lambda run, k=k: extract_curve(run, k)) for k in keys]
    return plot_series(runs, series, title, ylabel, out_path, window, level)


def plot_series(runs: Sequence[RunLog], series: Sequence[tuple[str, Callable[[RunLog], Curve | None]]], title: str,
                ylabel: str, out_path: str | os.PathLike, window: int = WINDOW, level: float = 0.95) -> Path | None:
    """Like :func:`plot_quantity` with curve getters: ``series`` is ``[(legend suffix, run -> Curve | None)]``."""
    fig = Figure(figsize=(7.5, 4.2), dpi=100)
    ax = fig.add_subplot()
    groups: dict[str, list[RunLog]] = {}
    singles: list[RunLog] = []
    for run in runs:
        (groups.setdefault(run.group, []) if run.group else singles).append(run)
    drawn, color_i, xlabels = 0, 0, set()

    def next_color() -> str:
        nonlocal color_i
        color_i += 1
        return PALETTE[(color_i - 1) % len(PALETTE)]

    for suffix, get in series:
        for group, members in groups.items():
            curves = [c for c in (get(r) for r in members) if c is not None]
            if not curves:
                continue
            if not set.intersection(*(set(c.steps) for c in curves)):  # no common step: draw seeds one by one
                singles_here = [r for r in members if get(r) is not None]
                for run in singles_here:
                    curve, color = get(run), next_color()
                    xs = display_steps(curve.steps, curve.step_key)
                    ax.plot(xs, curve.values, "--", color=color, alpha=0.35, linewidth=1)
                    ax.plot(xs, curve.smoothed(window), "-", color=color, linewidth=1.8, label=f"{run.name}{suffix}")
                    xlabels.add(curve.step_key)
                    drawn += 1
                continue
            band = seed_band(curves, group, window, level)
            color = next_color()
            xs = display_steps(band.steps, curves[0].step_key)
            ax.plot(xs, band.mean_raw, "--", color=color, alpha=0.35, linewidth=1)
            seeds = f"mean of {band.n} seeds" if band.n > 1 else "1 seed"
            ax.plot(xs, band.mean, "-", color=color, linewidth=1.8, label=f"{group}{suffix} ({seeds})")
            if band.n > 1:
                ax.fill_between(xs, band.low, band.high, color=color, alpha=0.18, linewidth=0)
            xlabels.add(curves[0].step_key)
            drawn += 1
        for run in singles:
            curve = get(run)
            if curve is None:
                continue
            color = next_color()
            xs = display_steps(curve.steps, curve.step_key)
            ax.plot(xs, curve.values, "--", color=color, alpha=0.35, linewidth=1)
            ax.plot(xs, curve.smoothed(window), "-", color=color, linewidth=1.8, label=f"{run.name}{suffix}")
            xlabels.add(curve.step_key)
            drawn += 1
    if drawn == 0:
        return None
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(" / ".join(X_LABELS.get(k, k.replace("_", " ")) for k in sorted(xlabels)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # phases and steps are whole numbers
    ax.ticklabel_format(axis="y", useOffset=False)  # values as they are, never "+6.931e-1" offsets
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best", frameon=False)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", bbox_inches="tight")
    return out


@dataclass
class PlotResult:
    figures: dict[str, Path]  # quantity name -> PNG
    titles: dict[str, str]
    skipped: dict[str, str]  # quantity name -> why no figure


def plot_runs(runs: Sequence[RunLog], out_dir: str | os.PathLike, window: int = WINDOW) -> PlotResult:
    """One PNG each: checkpoint-evaluation curves (accuracy and code frequency per benchmark, from
    ``<run>/eval/curve.json``), accuracy per benchmark evaluated during training, every standard quantity, the clip fraction by π_old bucket, each ``eval/*`` key."""
    out_dir = Path(out_dir)
    quantities = list(QUANTITIES)
    bucket_keys = clip_bucket_keys(runs)
    if bucket_keys:
        quantities.insert(4, Quantity("clip_fraction_by_bucket", "Clip fraction by π_old bucket",
                                      "share of tokens", tuple(bucket_keys)))
    eval_keys = sorted({k for run in runs for k in numeric_keys(run) if k.startswith("eval/")})
    quantities += [Quantity(k.replace("/", "_"), f"Evaluation during training: {k[5:]}", _short(k), (k,))
                   for k in eval_keys]
    result = PlotResult({}, {}, {})
    for bench, metric, headline in eval_curve_names(runs):
        name = f"eval_{bench}_{metric}"
        what = headline if metric == "score" else metric.replace("_", " ")
        path = plot_series(runs, [("", lambda run, b=bench, m=metric: eval_curve(run, b, m))],
                           f"{bench}: {what} of evaluated checkpoints", what, out_dir / f"{name}.png", window)
        if path is not None:
            result.figures[name] = path
            result.titles[name] = f"{bench}: {what} during training (checkpoint evaluations, eval/curve.json)"
    for bench, headline in training_eval_benchmarks(runs):
        name = f"eval_training_{re.sub(r'[^A-Za-z0-9_.-]+', '_', Path(bench).stem)}"
        path = plot_series(runs, [("", lambda run, b=bench: training_eval_curve(run, b))],
                           f"{Path(bench).stem}: {headline} evaluated during training", headline,
                           out_dir / f"{name}.png", window)
        if path is not None:
            result.figures[name] = path
            result.titles[name] = f"{bench}: {headline} during training (evaluation every N phases, metrics.jsonl)"
    for q in quantities:
        path = plot_quantity(runs, q.keys, q.title, q.ylabel, out_dir / f"{q.name}.png", window)
        if path is None:
            result.skipped[q.name] = f"no run logged {', '.join(q.keys)}"
        else:
            result.figures[q.name] = path
            result.titles[q.name] = q.title
    return result
