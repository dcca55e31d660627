"""Running an audit: resumable, every arm through the project's GRPO engine.

:func:`run_audit` runs an organism audit here (each cell one :func:`spurious.organism.runner.run_cell`, in
single-thread worker processes, the organism grid's set-up) and a model audit through
:func:`spurious.audit.run_model.run_model_audit`. The folder layout is :mod:`spurious.audit.folder`'s. A cell
folder without a finished ``result.json`` is an interrupted attempt, rerun by ``run_cell``; so a killed audit
continues where it stopped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from spurious.audit.evaluation import (ORGANISM_BENCHMARK, EvalSpec, OrganismEvaluator, evaluate_organism,
                                       records_summary)
from spurious.audit.folder import (BEFORE_FILE, PLAN_FILE, cached_before, check_plan, finished, write_outputs,
                                   write_plan)
from spurious.audit.plan import AuditSpec, ModelAuditSpec
from spurious.audit.run_model import run_model_audit
from spurious.audit.summary import summarize
from spurious.data.templates import TEMPLATES, get_template
from spurious.eval.baselines import BASELINES_FILE, baseline_table, evaluate_templates
from spurious.eval.leaks import find_leak_files, load_all_leak_flags
from spurious.io import write_json
from spurious.organism.corpus import split_problems
from spurious.organism.grid import _single_thread
from spurious.organism.pretrain import PretrainConfig, ensure_organism, load_organism
from spurious.organism.runner import Arm, Cell, RunSettings, load_result, run_cell
from spurious.provenance import provenance


def _organism_path(spec: AuditSpec) -> Path:
    return ensure_organism(PretrainConfig(family=spec.family, **spec.pretrain))


def _eval_problems(organism_path: Path):
    split = json.loads((organism_path / "organism.json").read_text())["config"]
    return split_problems(split["split_seed"], split["n_eval"])[1]


def _cell_job(cell: Cell, arm: Arm, organism_path: str, runs_dir: str, settings: RunSettings,
              evaluator: OrganismEvaluator) -> float:
    """Train and evaluate one cell; returns its training + evaluation seconds."""

    t = time.time()
    run_cell(cell, organism_path, runs_dir, settings, arm=arm, evaluate_after=evaluator)
    return round(time.time() - t, 1)


def evaluate_before(out: Path, spec: AuditSpec, organism_path: Path) -> dict[str, Any]:
    """The base organism's records (cached in ``before.json`` under the audit's fingerprint)."""

    problems = _eval_problems(organism_path)
    cached = cached_before(out, spec.evaluation.fingerprint(problems))
    if cached is not None:
        return cached
    import torch

    torch.manual_seed(0)
    org = load_organism(organism_path)
    before = evaluate_organism(org.model, org.tokenizer, problems, spec.evaluation)
    write_json(out / BEFORE_FILE, before)
    return before


def organism_baselines(out: Path, spec: AuditSpec, organism_path: Path, before: dict[str, Any]) -> dict[str, Any]:
    """The base organism under every shipped template it can read, by the audit's own evaluation (the raw
    problem, ``none``, is the audit's before); the others are listed as skipped with the reason. Written to
    ``baselines.json`` and reused while its fingerprint holds."""
    path = out / BASELINES_FILE
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("fingerprint") == before["fingerprint"]:
            return cached["table"]
    org = load_organism(organism_path)
    problems = _eval_problems(organism_path)
    headline = f"accuracy (T=1, {spec.evaluation.samples} samples)"

    def one(name: str) -> dict[str, Any]:
        ev = evaluate_organism(org.model, org.tokenizer, problems, spec.evaluation, template=get_template(name))
        return records_summary(ev["records"], headline)

    known = {spec.template: records_summary(before["records"], headline)}
    summaries, skipped = evaluate_templates(one, [spec.template, *TEMPLATES], known)
    table = baseline_table(summaries, skipped, reference=spec.template)
    write_json(path, {"fingerprint": before["fingerprint"], "benchmark": ORGANISM_BENCHMARK, "table": table,
                      "provenance": provenance(organism=str(organism_path), evaluation=spec.to_dict()["evaluation"])})
    return table


def run_audit(spec: AuditSpec | ModelAuditSpec, out: str | Path, *, workers: int = 1,
              on_event: Callable[[str, dict], None] | None = None) -> dict[str, Any]:
    """Run every unfinished arm x seed, then summarise, judge and write ``summary.json`` + ``report.html``.

    ``on_event(kind, data)``: ``("organism", {path})``, ``("before", {fingerprint})``, ``("baselines",
    {strongest})``, ``("cell_done", {cell, seconds})``, ``("cell_failed", {cell, error})`` (the audit goes on;
    failed cells rerun next time), ``("skipped", {cells})`` for finished cells. A model audit runs its cells
    one after another in this process (``workers`` must be 1).
    """
    if isinstance(spec, ModelAuditSpec):
        return run_model_audit(spec, out, workers=workers, on_event=on_event)
    out = Path(out)
    emit = on_event or (lambda kind, data: None)
    t0 = time.time()
    check_plan(out, spec)
    write_plan(out, spec)
    _single_thread()
    organism_path = _organism_path(spec)
    emit("organism", {"path": str(organism_path)})
    before = evaluate_before(out, spec, organism_path)
    emit("before", {"fingerprint": before["fingerprint"]})
    baselines = None
    if spec.baselines:
        baselines = organism_baselines(out, spec, organism_path, before)
        emit("baselines", {"strongest": baselines["strongest"]})
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    evaluator = OrganismEvaluator(_eval_problems(organism_path), spec.evaluation)
    cells = spec.cells()
    todo = [(c, a) for c, a in cells if not finished(load_result(runs_dir, c), before["fingerprint"])]
    pending = {c.name for c, _ in todo}
    emit("skipped", {"cells": [c.name for c, _ in cells if c.name not in pending]})
    failed: dict[str, str] = {}
    args = [(c, a, str(organism_path), str(runs_dir), spec.settings, evaluator) for c, a in todo]
    if workers <= 1:
        for job in args:
            try:
                emit("cell_done", {"cell": job[0].name, "seconds": _cell_job(*job)})
            except Exception as e:  # noqa: BLE001 - one broken arm must not lose the others
                failed[job[0].name] = f"{type(e).__name__}: {e}"
                emit("cell_failed", {"cell": job[0].name, "error": failed[job[0].name]})
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=_single_thread, initargs=(True,)) as pool:
            futs = {pool.submit(_cell_job, *job): job[0].name for job in args}
            for fut in as_completed(futs):
                name = futs[fut]
                try:
                    emit("cell_done", {"cell": name, "seconds": fut.result()})
                except Exception as e:  # noqa: BLE001
                    failed[name] = f"{type(e).__name__}: {e}"
                    emit("cell_failed", {"cell": name, "error": failed[name]})
    results = {c.name: load_result(runs_dir, c) for c, _ in cells}
    summary = summarize(spec, before, {k: v for k, v in results.items() if finished(v, before["fingerprint"])},
                        runs_dir, baselines, load_all_leak_flags(find_leak_files([out])))
    summary["failed"] = failed
    summary["wall_seconds_this_invocation"] = round(time.time() - t0, 1)
    return write_outputs(out, summary, organism=str(organism_path))


def load_plan(out: str | Path) -> AuditSpec:
    """The :class:`AuditSpec` recorded in ``<out>/audit.json`` (to resume or re-report without the options)."""

    d = json.loads((Path(out) / PLAN_FILE).read_text())["spec"]
    return AuditSpec(family=d["family"], reward=d["reward"], reward_params=d["reward_params"],
                     controls=tuple(d["controls"]), seeds=tuple(d["seeds"]), settings=RunSettings(**d["settings"]),
                     evaluation=EvalSpec(**d["evaluation"]), pretrain=d["pretrain"],
                     baselines=d.get("baselines", False))
