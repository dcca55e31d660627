"""Curves from training logs: one (step, value) series per metric key, and seed bands.

A metric line may hold any subset of keys (see docs/analysis.md); a key a run never logged gives no
curve. The x-axis is the rollout ``phase`` for per-phase quantities (reward, accuracy, code frequency,
lengths, ``eval/*``) and ``optimizer_step`` for per-update ones (clip fractions, pi_bar, entropy,
ratio, loss); when the preferred step key is missing the other is used, then the line number.
Several lines at the same step (e.g. reward logged on each optimizer step of a phase) are averaged.

The training engine writes two kinds of lines (field ``kind``): ``"step"`` after each optimizer step
and ``"phase"`` after each rollout phase, which repeats per-phase means of the per-step statistics.
A curve against ``optimizer_step`` uses the ``step`` lines and one against ``phase`` the ``phase``
lines whenever those hold the key, so a phase mean is never averaged in with a step value.
Lines of evaluation during training (``"kind": "eval"``, one per benchmark) never enter those curves; they
give one accuracy curve per benchmark (:func:`training_eval_curve`, x = completed phases) and the paper's
reported value, the smoothed last point (:func:`training_eval_rows`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from spurious.analysis.loading import RunLog
from spurious.smoothing import WINDOW, smooth_curve
from spurious.analysis.stats import mean_ci
from spurious.run_files import is_metric_number

PER_UPDATE_PREFIXES = ("clip/", "pi_bar", "entropy", "ratio/", "loss", "grad_norm", "lr")
STEP_KEYS = ("phase", "optimizer_step")
CLIP_BUCKET_KEY = re.compile(r"^clip/(low|high)_frac/(?!off_policy$)(.+)$")
KIND_FOR_STEP_KEY = {"optimizer_step": "step", "phase": "phase"}


@dataclass
class Curve:
    label: str
    key: str
    step_key: str
    steps: list[float]
    values: list[float]
    group: str | None = None

    def smoothed(self, window: int = WINDOW) -> list[float]:
        return smooth_curve(self.values, window)


def numeric_keys(run: RunLog) -> list[str]:
    """Every metric key with at least one finite numeric value, excluding step counters."""
    keys = {k for row in run.rows for k, v in row.items() if is_metric_number(v)}
    return sorted(keys - set(STEP_KEYS))


def step_key_for(key: str, run: RunLog) -> str | None:
    """The step key to plot ``key`` against (see module docstring); None means the line index."""
    preferred = "optimizer_step" if key.startswith(PER_UPDATE_PREFIXES) else "phase"
    order = (preferred,) + tuple(k for k in STEP_KEYS if k != preferred)
    for sk in order:
        if any(is_metric_number(row.get(sk)) for row in run.rows if key in row):
            return sk
    return None


def extract_curve(run: RunLog, key: str, step_key: str | None = None) -> Curve | None:
    """The (step, value) series of ``key`` in ``run``, averaged per step and sorted; None if never logged."""
    sk = step_key if step_key is not None else step_key_for(key, run)
    kind = KIND_FOR_STEP_KEY.get(sk or "")
    only_kind = kind is not None and any(r.get("kind") == kind and is_metric_number(r.get(key)) for r in run.rows)
    by_step: dict[float, list[float]] = {}
    for i, row in enumerate(run.rows):
        if (only_kind and row.get("kind") != kind) or row.get("kind") == TRAINING_EVAL_KIND:
            continue
        v = row.get(key)
        if not is_metric_number(v):
            continue
        step = row.get(sk) if sk else i
        if not is_metric_number(step):
            continue
        by_step.setdefault(float(step), []).append(float(v))
    if not by_step:
        return None
    steps = sorted(by_step)
    return Curve(label=run.name, key=key, step_key=sk or "line", steps=steps,
                 values=[math.fsum(by_step[s]) / len(by_step[s]) for s in steps], group=run.group)


def clip_bucket_keys(runs: Sequence[RunLog]) -> list[str]:
    """Keys ``clip/low_frac/<bucket>`` then ``clip/high_frac/<bucket>`` present in any run, buckets in logged order."""
    seen = dict.fromkeys(k for run in runs for row in run.rows for k, v in row.items()
                         if CLIP_BUCKET_KEY.match(k) and is_metric_number(v))
    return sorted(seen, key=lambda k: CLIP_BUCKET_KEY.match(k).group(1) != "low")  # stable: keeps bucket order


@dataclass
class Band:
    """Mean over seeds with a t interval per step (computed on each seed's smoothed curve)."""

    label: str
    key: str
    steps: list[float]
    mean_raw: list[float]
    mean: list[float]
    low: list[float]
    high: list[float]
    n: int


def seed_band(curves: Sequence[Curve], label: str, window: int = WINDOW, level: float = 0.95) -> Band:
    """Mean ± ``level`` t-interval across ``curves`` (one per seed) at the steps all of them share."""
    if not curves:
        raise ValueError("seed_band needs at least one curve")
    common = sorted(set.intersection(*(set(c.steps) for c in curves)))
    if not common:
        raise ValueError(f"curves of {label!r} share no step")
    raw, smooth = [], []
    for c in curves:
        pos = {s: i for i, s in enumerate(c.steps)}
        sm = c.smoothed(window)
        raw.append([c.values[pos[s]] for s in common])
        smooth.append([sm[pos[s]] for s in common])
    cis = [mean_ci([row[j] for row in smooth], level) for j in range(len(common))]
    return Band(label=label, key=curves[0].key, steps=common,
                mean_raw=[math.fsum(r[j] for r in raw) / len(raw) for j in range(len(common))],
                mean=[ci.mean for ci in cis], low=[ci.low for ci in cis], high=[ci.high for ci in cis],
                n=len(curves))


EVAL_CURVE_METRICS = ("score", "code_frequency")
TRAINING_EVAL_KIND = "eval"  # metrics.jsonl lines of evaluation during training (spurious.rl.eval_during_training)


def training_eval_benchmarks(runs: Sequence[RunLog]) -> list[tuple[str, str]]:
    """``(benchmark, headline)`` of every benchmark evaluated during training in any run, in logged order."""
    out: dict[str, str] = {}
    for run in runs:
        for row in run.rows:
            if row.get("kind") == TRAINING_EVAL_KIND and isinstance(row.get("benchmark"), str):
                out.setdefault(row["benchmark"], str(row.get("headline", "accuracy")))
    return list(out.items())


def training_eval_curve(run: RunLog, benchmark: str, metric: str = "accuracy") -> Curve | None:
    """``metric`` of ``benchmark`` from the run's evaluations during training, against completed phases
    (0 = the base model); None when the run has none."""
    points: dict[float, float] = {}
    for row in run.rows:
        if row.get("kind") != TRAINING_EVAL_KIND or row.get("benchmark") != benchmark:
            continue
        if is_metric_number(row.get("phase")) and is_metric_number(row.get(metric)):
            points[float(row["phase"])] = float(row[metric])  # a repeated phase (resume): the last line wins
    if not points:
        return None
    steps = sorted(points)
    return Curve(label=run.name, key=f"{benchmark}/{metric}", step_key="phase", steps=steps,
                 values=[points[s] for s in steps], group=run.group)


def training_eval_rows(runs: Sequence[RunLog], window: int = WINDOW) -> list[dict]:
    """Per run and benchmark: evaluations, first and last raw accuracy, the paper's reported value (the smoothed
    last point, :mod:`spurious.smoothing`) and its gain over the first point, and the evaluation
    fingerprint(s)."""
    rows = []
    for bench, headline in training_eval_benchmarks(runs):
        for run in runs:
            c = training_eval_curve(run, bench)
            if c is None:
                continue
            fps = sorted({str(r.get("fingerprint")) for r in run.rows
                          if r.get("kind") == TRAINING_EVAL_KIND and r.get("benchmark") == bench})
            sm = c.smoothed(window)
            rows.append({"run": run.name, "benchmark": bench, "headline": headline, "evaluations": len(c.steps),
                         "last_phase": c.steps[-1], "first": c.values[0], "last": c.values[-1], "final": sm[-1],
                         "gain": sm[-1] - c.values[0], "fingerprint": ", ".join(fps)})
    return rows


def eval_curve(run: RunLog, benchmark: str, metric: str) -> Curve | None:
    """A checkpoint-evaluation curve from ``<run>/eval/curve.json`` (raw values; x = rollout phases done, 0 = the
    base model, when the run's schedule is known, else the checkpoint step)."""
    if not run.eval_curves:
        return None
    entry = run.eval_curves.get("curves", {}).get(benchmark, {}).get(metric)
    if not isinstance(entry, dict) or not entry.get("raw"):
        return None
    phases = run.eval_curves.get("phases")
    steps = phases if isinstance(phases, list) and len(phases) == len(entry["raw"]) else entry.get("steps")
    if not isinstance(steps, list) or len(steps) != len(entry["raw"]):
        return None
    return Curve(label=run.name, key=f"{benchmark}/{metric}",
                 step_key="phases done" if steps is phases else "checkpoint step",
                 steps=[float(x) for x in steps], values=[float(v) for v in entry["raw"]], group=run.group)


def eval_curve_names(runs: Sequence[RunLog]) -> list[tuple[str, str, str]]:
    """``(benchmark, metric, headline)`` for every benchmark in any run's curve.json and each plotted metric."""
    out: dict[tuple[str, str], str] = {}
    for run in runs:
        for bench, entry in ((run.eval_curves or {}).get("curves") or {}).items():
            for m in EVAL_CURVE_METRICS:
                if isinstance(entry, dict) and m in entry:
                    out.setdefault((bench, m), str(entry.get("headline", "score")))
    return [(b, m, h) for (b, m), h in out.items()]
