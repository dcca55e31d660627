"""A model audit: every arm x seed one :func:`spurious.rl.train` run of the recipe, evaluated by
``spurious.eval.runner.evaluate`` before and after under one fingerprint (:class:`~spurious.audit.evaluation.
ModelEvalSpec`), in this process, one cell after another.

Before anything loads, every arm's TrainConfig goes through :func:`spurious.rl.preflight.dry_run` (reward,
dataset, TRL's GRPOConfig, DeepSpeed) and the benchmarks through :func:`spurious.eval.runner.prepare`;
:func:`plan_model_audit` is that check alone (``spurious audit --dry-run``), for any number of processes, and
writes nothing. Resuming: a finished cell (its ``result.json`` has the audit's fingerprint) is kept; an
interrupted one resumes from its last complete checkpoint (``spurious.rl.train(resume=True)``), or, without one,
starts again; an evaluation cut short keeps its finished samples (the evaluation store is resumable).
Launching an audit on several processes (accelerate, torchrun) is refused: the evaluations run on one.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from spurious.audit.evaluation import benchmark_records
from spurious.audit.folder import (BEFORE_FILE, cached_before, check_plan, finished, write_outputs,
                                   write_plan)
from spurious.audit.plan import ModelAuditSpec
from spurious.audit.summary import summarize
from spurious.errors import UsageError
from spurious.eval.baselines import BASELINES_FILE, run_baselines
from spurious.eval.leaks import find_leak_files, load_all_leak_flags
from spurious.eval.runner import as_backend, evaluate, prepare, protocol_for
from spurious.io import InputError, write_json
from spurious.models import load_or_build
from spurious.organism.runner import Arm, Cell, load_result
from spurious.provenance import provenance
from spurious.rl import train
from spurious.rl.config import ConfigError, TrainConfig
from spurious.rl.preflight import deepspeed_installed, dry_run
from spurious.rl.run import find_checkpoint, num_processes
from spurious.run_files import list_checkpoints

BEFORE_DIR, BASELINES_DIR, EVAL_DIR = "before", "baselines", "evaluation"


def _evaluation(spec: ModelAuditSpec):
    """``(template, {benchmark: problems}, {benchmark: samples per problem}, fingerprint)``."""
    ev = spec.evaluation
    tmpl, problems = prepare(list(ev.benchmarks), template=spec.template, grader=ev.grader,
                             max_new_tokens=ev.max_new_tokens, limit=ev.limit, samples=ev.samples,
                             temperature=ev.temperature)
    samples = {b: protocol_for(b, ev.samples, ev.temperature).samples for b in problems}
    return tmpl, problems, samples, ev.fingerprint(problems, tmpl)


def plan_model_audit(spec: ModelAuditSpec, n_processes: int = 1) -> dict[str, Any]:
    """Every check a model audit makes before it loads a model, for ``n_processes`` processes; writes nothing.

    Returns the plan: cells, the evaluation (problems per benchmark, protocol, fingerprint) and, per arm, what
    :func:`spurious.rl.preflight.dry_run` resolved (reward, dataset rows, schedule, TRL and DeepSpeed settings)."""
    tmpl, problems, samples, fp = _evaluation(spec)
    arms: dict[str, Any] = {}
    for name, arm in spec.arms().items():
        cfg = spec.cell_config(Cell(spec.target, arm.name, spec.seeds[0]), arm, "runs")
        checked = dry_run(cfg, n_processes)
        checked.pop("config")
        arms[name] = {"reward": cfg.reward, "reward_params": cfg.reward_params, "overrides": arm.overrides,
                      "surrogate": cfg.surrogate, "minibatch_size": cfg.minibatch_size, **checked}
    return {"spec": spec.to_dict(), "cells": [c.name for c, _ in spec.cells()], "arms": arms,
            "evaluation": {"template": tmpl.name, "problems": {b: len(ps) for b, ps in problems.items()},
                           "samples_per_problem": samples, "fingerprint": fp}}


def _check_launch(spec: ModelAuditSpec, workers: int) -> None:
    if workers != 1:
        raise UsageError("a model audit runs its cells one after another in one process", option="--workers")
    if num_processes() > 1:
        raise UsageError(f"this launch has {num_processes()} processes; a model audit runs in one (check a "
                         f"multi-process recipe with --dry-run --num-processes N)")
    if spec.base_config().deepspeed and not deepspeed_installed():
        raise ConfigError("deepspeed", f"{spec.base_config().deepspeed} is set, but DeepSpeed is not installed here "
                                       f"(bash scripts/setup-distributed.sh, or --set deepspeed=null)")


def _has_checkpoint(run_dir: Path) -> bool:
    return run_dir.is_dir() and any((f / "trainer_state.json").exists() for _, f in list_checkpoints(run_dir))


def trained_model(cfg: TrainConfig):
    """``(model, tokenizer)`` of the cell's run trained to its end: resumed from its last complete checkpoint if
    it has one, else trained from the start; a run already at its end is loaded from ``final/`` or its last
    checkpoint (a run whose end came after its last checkpoint is trained again)."""
    resume = _has_checkpoint(cfg.run_dir)
    if resume:
        try:
            find_checkpoint(cfg.run_dir)
        except InputError:  # a damaged checkpoint: start the cell again rather than never finish it
            resume = False
    result = train(cfg, resume=resume, overwrite=not resume)
    if result.model is not None:
        return result.model, result.tokenizer
    final = cfg.run_dir / "final"
    if (final / "config.json").exists():
        return load_or_build(str(final), dtype=cfg.dtype)
    ckpt = find_checkpoint(cfg.run_dir)
    if json.loads((ckpt / "trainer_state.json").read_text())["global_step"] == cfg.total_optimizer_steps:
        return load_or_build(str(ckpt), dtype=cfg.dtype)
    result = train(cfg, overwrite=True)
    return result.model, result.tokenizer


def run_model_cell(spec: ModelAuditSpec, cell: Cell, arm: Arm, runs_dir: Path, evaluation) -> dict[str, Any]:
    """Train one cell, evaluate it, write ``<runs_dir>/<cell>/result.json`` and return its content."""
    tmpl, problems, samples, fp = evaluation
    t0 = time.time()
    cfg = spec.cell_config(cell, arm, str(runs_dir))
    model, tokenizer = trained_model(cfg)
    train_seconds = round(time.time() - t0, 1)
    eval_dir = cfg.run_dir / EVAL_DIR
    summary = evaluate(model, list(problems), tokenizer=tokenizer, template=tmpl, out_dir=eval_dir,
                       model_name=cell.name, show=False, **spec.evaluation.eval_kwargs())
    out = {"cell": asdict(cell), "name": cell.name, "arm": asdict(arm), "train_config": cfg.to_dict(),
           "evaluation": {"fingerprint": fp, "records": benchmark_records(eval_dir, problems, samples),
                          "scores": {b: s["score"] for b, s in summary["benchmarks"].items()}},
           "train_seconds": train_seconds, "wall_seconds": round(time.time() - t0, 1),
           "provenance": provenance(seed=cell.seed, cell=asdict(cell), train_config=cfg.to_dict())}
    write_json(cfg.run_dir / "result.json", out)
    return out


class _BaseModel:
    """The base model, loaded on first use (a finished audit re-reports without loading it)."""

    def __init__(self, cfg: TrainConfig):
        self.cfg, self._pair = cfg, None

    def get(self):
        if self._pair is None:
            self._pair = load_or_build(self.cfg.model, dtype=self.cfg.dtype)
        return self._pair


def evaluate_model_before(out: Path, spec: ModelAuditSpec, base: _BaseModel, evaluation) -> dict[str, Any]:
    """The base model's records (``before.json``, cached under the fingerprint) and its evaluation summary."""
    tmpl, problems, samples, fp = evaluation
    cached = cached_before(out, fp)
    if cached is not None:
        return cached
    model, tok = base.get()
    summary = evaluate(model, list(problems), tokenizer=tok, template=tmpl, out_dir=out / BEFORE_DIR,
                       model_name=spec.recipe.get("model", TrainConfig.model), show=False,
                       **spec.evaluation.eval_kwargs())
    before = {"fingerprint": fp, "records": benchmark_records(out / BEFORE_DIR, problems, samples),
              "summary": summary}
    write_json(out / BEFORE_FILE, before)
    return before


def model_baselines(out: Path, spec: ModelAuditSpec, base: _BaseModel, before: dict[str, Any]) -> dict[str, Any]:
    """:func:`spurious.eval.baselines.run_baselines` on the base model with the audit's evaluation settings
    (the recipe's template is the reference; its evaluation is the audit's before), into ``<out>/baselines/``;
    the table is kept in ``<out>/baselines.json`` while the fingerprint holds."""
    path = out / BASELINES_FILE
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("fingerprint") == before["fingerprint"]:
            return cached["table"]
    model, tok = base.get()
    backend = as_backend(model, tok, spec.evaluation.batch_size)
    kwargs = {k: v for k, v in spec.evaluation.eval_kwargs().items() if k != "batch_size"}
    table = run_baselines(backend, list(spec.evaluation.benchmarks), out / BASELINES_DIR,
                          model_name=spec.recipe.get("model", TrainConfig.model), reference=spec.template,
                          known={spec.template: before["summary"]}, **kwargs)
    write_json(path, {"fingerprint": before["fingerprint"], "table": table,
                      "provenance": provenance(model=spec.recipe.get("model"), evaluation=asdict(spec.evaluation))})
    return table


def run_model_audit(spec: ModelAuditSpec, out: str | Path, *, workers: int = 1,
                    on_event: Callable[[str, dict], None] | None = None) -> dict[str, Any]:
    """Run every unfinished cell of a model audit, then summarise, judge and write the outputs
    (events as :func:`spurious.audit.run.run_audit`)."""
    out = Path(out)
    emit = on_event or (lambda kind, data: None)
    t0 = time.time()
    _check_launch(spec, workers)
    plan = plan_model_audit(spec, 1)  # a bad recipe, reward, dataset or benchmark fails here, before any model
    check_plan(out, spec)
    evaluation = _evaluation(spec)
    base = _BaseModel(spec.base_config())
    if cached_before(out, evaluation[3]) is None:
        base.get()  # a model that cannot load fails here, before the audit folder exists
    write_plan(out, spec)
    before = evaluate_model_before(out, spec, base, evaluation)
    emit("before", {"fingerprint": before["fingerprint"]})
    baselines = None
    if spec.baselines:
        baselines = model_baselines(out, spec, base, before)
        emit("baselines", {"strongest": baselines["strongest"]})
    base = None  # the base model is not needed any more
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    cells = spec.cells()
    todo = [(c, a) for c, a in cells if not finished(load_result(runs_dir, c), before["fingerprint"])]
    pending = {c.name for c, _ in todo}
    emit("skipped", {"cells": [c.name for c, _ in cells if c.name not in pending]})
    failed: dict[str, str] = {}
    for cell, arm in todo:
        t = time.time()
        try:
            run_model_cell(spec, cell, arm, runs_dir, evaluation)
            emit("cell_done", {"cell": cell.name, "seconds": round(time.time() - t, 1)})
        except Exception as e:  # noqa: BLE001 - one broken arm must not lose the others
            failed[cell.name] = f"{type(e).__name__}: {e}"
            emit("cell_failed", {"cell": cell.name, "error": failed[cell.name]})
    results = {c.name: load_result(runs_dir, c) for c, _ in cells}
    summary = summarize(spec, before, {k: v for k, v in results.items() if finished(v, before["fingerprint"])},
                        runs_dir, baselines, load_all_leak_flags(find_leak_files([out])))
    summary["failed"] = failed
    summary["wall_seconds_this_invocation"] = round(time.time() - t0, 1)
    summary["plan"] = {"evaluation": plan["evaluation"],
                       "arms": {k: {f: v.get(f) for f in ("reward", "reward_params", "surrogate", "minibatch_size",
                                                           "schedule", "dataset_rows")} for k, v in plan["arms"].items()}}
    return write_outputs(out, summary, model=spec.recipe.get("model"), preset=spec.preset)
