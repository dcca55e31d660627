"""Evaluate every checkpoint of a training run and build the paper's curves (arXiv 2506.10947; docs/paper.md §5.3).

``runs/<name>/checkpoint-<N>/`` folders (as Hugging Face / TRL save them) are evaluated in step order, with the
base model as step 0, each into ``<out>/step-<N>/`` (resumable, see :mod:`spurious.eval.runner`). Then
``<out>/curve.json`` holds, per benchmark and metric, the raw curve, its smoothed version (trailing 10-point
moving average, step 0 raw) and the reported final value (= smoothed last) with the gain over step 0.

Steps are the checkpoint numbers as the trainer counts them (optimizer steps for TRL); when the run's
``config.yaml`` gives the schedule, ``phases`` (the paper's "steps": rollout phases) are reported beside them.
The paper evaluates after every phase; with sparser checkpoints the 10-point window spans more phases. Note
``spurious train`` keeps only ``save_total_limit`` checkpoints (2 by default): set it to null for curves.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spurious.console import wide_console
from spurious.io import InputError, finite_json, write_json
from spurious.provenance import provenance
from spurious.run_files import list_checkpoints
from spurious.smoothing import smooth_curve

CURVE_METRICS = ("score", "pass_at_k_raw", "pass_at_k_unbiased", "maj_at_k", "code_frequency", "format_rate",
                 "boxed_rate", "parsable_rate", "truncation_rate", "mean_length", "accuracy_with_code",
                 "accuracy_with_language")
_BASE_KEYS = ("base_model", "model", "model_name_or_path", "model_name")


def optimizer_steps_per_phase(run_dir: str | os.PathLike) -> int | None:
    """Optimizer steps per rollout phase from a ``spurious train`` run's ``config.yaml`` (None if unknown)."""
    f = Path(run_dir) / "config.yaml"
    if not f.exists():
        return None
    import yaml

    cfg = yaml.safe_load(f.read_text()) or {}
    try:
        rollouts = int(cfg["prompts_per_phase"]) * int(cfg["group_size"])
        per_step = int(cfg["minibatch_size"])
    except (KeyError, TypeError, ValueError):
        return None
    return rollouts // per_step if per_step > 0 and rollouts % per_step == 0 else None


def find_base_model(run_dir: str | os.PathLike) -> str | None:
    """The run's base model, read from a run config file (``run.json``, ``config.json``, ``config.yaml``...)."""
    run = Path(run_dir)
    for name in ("run.json", "config.json", "train_config.json", "config.yaml", "config.yml", "run.yaml"):
        f = run / name
        if not f.exists():
            continue
        if f.suffix == ".json":
            cfg = json.loads(f.read_text())
        else:
            import yaml

            cfg = yaml.safe_load(f.read_text())
        if not isinstance(cfg, dict):
            continue
        for scope in (cfg, cfg.get("model") if isinstance(cfg.get("model"), dict) else {}):
            for k in _BASE_KEYS:
                if isinstance(scope.get(k), str):
                    return scope[k]
    return None


def curve_from_summaries(steps: Sequence[int], summaries: Sequence[dict[str, Any]], window: int = 10
                         ) -> dict[str, Any]:
    """Per benchmark and metric: ``steps``, ``raw``, ``smoothed``, ``final`` (smoothed last), ``gain``."""
    curves: dict[str, Any] = {}
    benches = list(summaries[0]["benchmarks"]) if summaries else []
    for b in benches:
        curves[b] = {"headline": summaries[0]["benchmarks"][b]["headline"]}
        for m in CURVE_METRICS:
            raw = [math.nan if s["benchmarks"][b][m] is None else float(s["benchmarks"][b][m]) for s in summaries]
            sm = smooth_curve(raw, window)
            curves[b][m] = {"steps": list(steps), "raw": raw, "smoothed": sm, "final": sm[-1],
                            "gain": sm[-1] - raw[0]}
    return curves


def evaluate_run(run_dir: str | os.PathLike, *, evaluate_model: Callable[[str, Path], dict[str, Any]],
                 out_dir: str | os.PathLike | None = None, base_model: str | None = None,
                 include_base: bool = True, window: int = 10, show: bool = True) -> dict[str, Any]:
    """Evaluate the base model and each checkpoint with ``evaluate_model(model_path, step_out_dir)`` (which returns
    the summary dict of :func:`spurious.eval.runner.evaluate`); write and return ``curve.json``'s content."""
    run = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run / "eval"
    checkpoints = list_checkpoints(run)  # a missing run folder fails here, before anything else
    points: list[tuple[int, str]] = []
    if include_base:
        base = base_model or find_base_model(run)
        if base is None:
            raise InputError(run, None, "cannot tell the base model (no run.json/config with a 'model' key); "
                             "give --base-model, or --no-base to skip step 0")
        points.append((0, base))
    points += [(step, str(d)) for step, d in checkpoints if step != 0 or not include_base]
    if len(points) == 0:
        raise InputError(run, None, "no checkpoint-* folders to evaluate")
    summaries = []
    for step, path in points:
        if show:
            wide_console().print(f"[bold]step {step}[/]: {path}")
        summaries.append(evaluate_model(path, out / f"step-{step}"))
    steps = [s for s, _ in points]
    per_phase = optimizer_steps_per_phase(run)
    result = {
        "run": str(run),
        "steps": steps,
        "phases": [s / per_phase for s in steps] if per_phase else None,
        "models": [p for _, p in points],
        "window": window,
        "curves": curve_from_summaries(steps, summaries, window),
        "provenance": provenance(run=str(run), window=window),
    }
    result = finite_json(result)
    write_json(out / "curve.json", result)
    return result
