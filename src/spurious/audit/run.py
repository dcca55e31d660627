"""Running an audit: resumable, every arm through :func:`spurious.organism.runner.run_cell`.

Layout of ``<out>/``::

    audit.json      the plan (:meth:`AuditSpec.to_dict`) + provenance; a rerun must ask for the same plan
    before.json     the base organism's evaluation records (fingerprint + records)
    runs/<family>__<arm>__s<seed>/   the engine's run folder + result.json (with the arm's evaluation)
    summary.json    per-arm gains, comparisons, decompositions, behaviour shifts, verdict + provenance
    report.html     the same, for reading

A cell whose ``result.json`` holds an evaluation with the audit's fingerprint is finished and never rerun; a
cell folder without one is an interrupted attempt, rerun from scratch by ``run_cell``. So a killed audit
continues where it stopped. Workers are single-thread processes (the organism grid's set-up).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from spurious.audit.evaluation import EvalSpec, OrganismEvaluator, evaluate_organism
from spurious.audit.plan import AuditSpec
from spurious.errors import UsageError
from spurious.organism.runner import Arm, Cell, RunSettings, load_result
from spurious.audit.report import write_report
from spurious.audit.summary import summarize
from spurious.io import write_json
from spurious.organism.corpus import split_problems
from spurious.organism.grid import _single_thread
from spurious.organism.pretrain import PretrainConfig, ensure_organism, load_organism
from spurious.organism.runner import run_cell
from spurious.provenance import provenance

PLAN_FILE, BEFORE_FILE, SUMMARY_FILE, REPORT_FILE = "audit.json", "before.json", "summary.json", "report.html"


def _organism_path(spec: AuditSpec) -> Path:
    return ensure_organism(PretrainConfig(family=spec.family, **spec.pretrain))


def _eval_problems(organism_path: Path):
    split = json.loads((organism_path / "organism.json").read_text())["config"]
    return split_problems(split["split_seed"], split["n_eval"])[1]


def finished(result: dict[str, Any] | None, fingerprint: str) -> bool:
    return bool(result) and result.get("evaluation", {}).get("fingerprint") == fingerprint


def _cell_job(cell: Cell, arm: Arm, organism_path: str, runs_dir: str, settings: RunSettings,
              evaluator: OrganismEvaluator) -> float:
    """Train and evaluate one cell; returns its training + evaluation seconds."""

    t = time.time()
    run_cell(cell, organism_path, runs_dir, settings, arm=arm, evaluate_after=evaluator)
    return round(time.time() - t, 1)


def _check_plan(out: Path, spec: AuditSpec) -> None:
    plan = out / PLAN_FILE
    if plan.exists():
        old = json.loads(plan.read_text())["spec"]
        if old != json.loads(json.dumps(spec.to_dict())):
            raise UsageError(f"{plan} holds another audit plan; resume with the same options or use a new --out")
        return
    out.mkdir(parents=True, exist_ok=True)
    write_json(plan, {"spec": spec.to_dict(), "provenance": provenance(audit=spec.to_dict())})


def evaluate_before(out: Path, spec: AuditSpec, organism_path: Path) -> dict[str, Any]:
    """The base organism's records (cached in ``before.json`` under the audit's fingerprint)."""

    problems = _eval_problems(organism_path)
    fp = spec.evaluation.fingerprint(problems)
    path = out / BEFORE_FILE
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("fingerprint") == fp:
            return cached
    import torch

    torch.manual_seed(0)
    org = load_organism(organism_path)
    before = evaluate_organism(org.model, org.tokenizer, problems, spec.evaluation)
    write_json(path, before)
    return before


def run_audit(spec: AuditSpec, out: str | Path, *, workers: int = 1,
              on_event: Callable[[str, dict], None] | None = None) -> dict[str, Any]:
    """Run every unfinished arm x seed, then summarise, judge and write ``summary.json`` + ``report.html``.

    ``on_event(kind, data)``: ``("organism", {path})``, ``("before", {accuracy})``, ``("cell_done", {cell,
    seconds})``, ``("cell_failed", {cell, error})`` (the audit goes on; failed cells rerun next time),
    ``("skipped", {cells})`` for finished cells.
    """

    out = Path(out)
    emit = on_event or (lambda kind, data: None)
    t0 = time.time()
    _check_plan(out, spec)
    _single_thread()
    organism_path = _organism_path(spec)
    emit("organism", {"path": str(organism_path)})
    before = evaluate_before(out, spec, organism_path)
    emit("before", {"fingerprint": before["fingerprint"]})
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
                        runs_dir)
    summary["failed"] = failed
    summary["wall_seconds_this_invocation"] = round(time.time() - t0, 1)
    summary["provenance"] = provenance(audit=spec.to_dict(), organism=str(organism_path))
    write_json(out / SUMMARY_FILE, summary)
    write_report(summary, out / REPORT_FILE)
    return summary


def load_plan(out: str | Path) -> AuditSpec:
    """The :class:`AuditSpec` recorded in ``<out>/audit.json`` (to resume or re-report without the options)."""

    d = json.loads((Path(out) / PLAN_FILE).read_text())["spec"]
    return AuditSpec(family=d["family"], reward=d["reward"], reward_params=d["reward_params"],
                     controls=tuple(d["controls"]), seeds=tuple(d["seeds"]), settings=RunSettings(**d["settings"]),
                     evaluation=EvalSpec(**d["evaluation"]), pretrain=d["pretrain"])
