"""The experiment grid: families x arms x seeds, run in parallel single-thread workers, resumable, aggregated.

Layout of ``<out>/``::

    grid.json               the plan (families, arms, seeds, settings, pre-training config) + provenance
    runs/<family>__<arm>__s<seed>/metrics.jsonl, rollouts/, config/, result.json
    summary.json            per (family, arm): mean and 95% t-interval across seeds of every delta,
                            and the share of seeds in which the majority style rose

A cell with ``result.json`` is finished and skipped on the next invocation; a cell folder without it is
an interrupted attempt and is rerun from scratch. Workers are separate processes with one torch thread
each (``OMP_NUM_THREADS=1``, ``OMP_WAIT_POLICY=PASSIVE``), never more workers than asked.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from spurious.analysis.stats import mean_ci
from spurious.io import InputError, write_json
from spurious.lifecycle import die_with_parent as _die_with_parent
from spurious.organism.corpus import get_family
from spurious.organism.pretrain import PretrainConfig, ensure_organism
from spurious.organism.runner import Cell, RunSettings, get_arm, load_result, run_cell
from spurious.provenance import provenance
from spurious.run_files import read_metrics

DELTA_KEYS = ("accuracy", "greedy_accuracy", "code_frequency", "majority_frequency", "boxed_rate")


@dataclass(frozen=True)
class GridSpec:
    """Which cells to run. ``arms`` maps an arm to its seeds (and orders arms in the report);
    ``family_arms`` replaces that mapping for a family (its own arms and seeds)."""

    families: tuple[str, ...]
    arms: dict[str, tuple[int, ...]]
    settings: RunSettings = RunSettings()
    pretrain: dict[str, Any] = field(default_factory=dict)   # PretrainConfig overrides (all families)
    family_arms: dict[str, dict[str, tuple[int, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in self.families:
            get_family(f)
        for a in list(self.arms) + [a for m in self.family_arms.values() for a in m]:
            get_arm(a)

    def arm_seeds(self, family: str) -> dict[str, tuple[int, ...]]:
        """The arms (in report order) and seeds run for ``family``."""
        own = self.family_arms.get(family)
        if own is None:
            return dict(self.arms)
        order = list(self.arms) + [a for a in own if a not in self.arms]
        return {a: tuple(own[a]) for a in order if a in own}

    def cells(self) -> list[Cell]:
        """Every cell, ordered by seed first so that an interrupted grid covers all arms evenly."""
        out = [Cell(fam, arm, s) for fam in self.families for arm, seeds in self.arm_seeds(fam).items()
               for s in seeds]
        return sorted(out, key=lambda c: c.seed)

    def all_arms(self) -> list[str]:
        return list(dict.fromkeys(a for f in self.families for a in self.arm_seeds(f)))

    def pretrain_config(self, family: str) -> PretrainConfig:
        return PretrainConfig(family=family, **self.pretrain)

    def to_dict(self) -> dict[str, Any]:
        return {"families": list(self.families), "settings": asdict(self.settings), "pretrain": dict(self.pretrain),
                "cells": {f: {a: list(s) for a, s in self.arm_seeds(f).items()} for f in self.families}}


# ----------------------------------------------------------------------------------------------------------------
# Workers (top-level functions: they run in spawned processes)


def _single_thread(die_with_parent: bool = False) -> None:
    """Worker set-up: one BLAS thread, offline, quiet; ``die_with_parent`` - never outlive the grid (a killed
    ``spurious demo`` must not leave workers training orphaned cells)."""
    if die_with_parent:
        _die_with_parent(use_pdeathsig=True)
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    import transformers

    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()


def _pretrain_job(config: PretrainConfig) -> str:
    return str(ensure_organism(config))


def _cell_job(cell: Cell, organism_path: str, runs_dir: str, settings: RunSettings) -> dict[str, Any]:
    r = run_cell(cell, organism_path, runs_dir, settings)
    return {"name": r["name"], "wall_seconds": r["wall_seconds"], "delta": r["delta"]}


def _phases_done(run_dir: Path) -> int:
    try:
        return len(read_metrics(run_dir, "phase", in_progress=True))
    except (OSError, InputError):  # a cell folder replaced or rewritten under us: the next tick counts again
        return 0


def run_grid(spec: GridSpec, out: str | Path, *, workers: int = 2, on_event: Callable[[str, dict], None] | None = None,
             budget_s: float | None = None) -> dict[str, Any]:
    """Pre-train (or load) every family's organism, run every unfinished cell, aggregate; returns the summary.

    ``on_event(kind, data)`` receives ``("pretrained", {family, path})``, ``("cell_done", {...})``,
    ``("cell_failed", {cell, error})`` (the grid goes on; failures are listed in the summary and rerun next
    time), ``("tick", {phases_done, phases_total})`` about once a second, for progress displays, and
    ``("cut", {cells})`` once when the budget stops the plan.

    ``budget_s``: wall-time budget from the call. A cell starts only if it is expected to finish within it
    (expected duration: the mean of this call's finished cells, none finished: assumed to fit); running
    cells always finish, so the grid can overrun by at most one cell. Cells not started are listed in the
    summary's ``cut`` and, like failures, run on the next invocation with the same ``-o``.
    """
    out = Path(out)
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    write_json(out / "grid.json", {"spec": spec.to_dict(), "provenance": provenance(grid=spec.to_dict())})
    emit = on_event or (lambda kind, data: None)
    t0 = time.time()
    _single_thread()
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    cells = spec.cells()
    todo = [c for c in cells if load_result(runs_dir, c) is None]
    total_phases = len(todo) * spec.settings.phases
    organisms: dict[str, str] = {}
    failed: dict[str, str] = {}
    cut: list[str] = []
    durations: list[float] = []
    import threading

    # PR_SET_PDEATHSIG fires when the spawning *thread* exits: ask for it only from the main thread.
    pdeathsig = threading.current_thread() is threading.main_thread()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_single_thread,
                             initargs=(pdeathsig,)) as pool:
        pre = {pool.submit(_pretrain_job, spec.pretrain_config(f)): f for f in spec.families}
        pending_cells = list(todo)
        running: dict[Any, Cell] = {}
        futures = set(pre)
        while futures:
            done, futures = wait(futures, timeout=1.0, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut in pre:
                    fam = pre.pop(fut)
                    organisms[fam] = fut.result()
                    emit("pretrained", {"family": fam, "path": organisms[fam]})
                else:
                    cell = running.pop(fut)
                    try:
                        res = fut.result()
                        durations.append(res["wall_seconds"])
                        emit("cell_done", {"cell": cell.name, **res})
                    except Exception as e:  # noqa: BLE001 - one broken run must not lose the others
                        failed[cell.name] = f"{type(e).__name__}: {e}"
                        emit("cell_failed", {"cell": cell.name, "error": failed[cell.name]})
            if budget_s is not None and pending_cells and not cut:
                expected = sum(durations) / len(durations) if durations else 0.0
                if time.time() - t0 + expected > budget_s:
                    cut = [c.name for c in pending_cells]
                    pending_cells = []
                    emit("cut", {"cells": cut})
            # queue cells whose organism is ready, keeping at most `workers` jobs in flight
            for cell in list(pending_cells):
                if len(futures) >= (workers if budget_s is not None else workers + 1):  # budget: start on submit
                    break
                if cell.family in organisms:
                    f = pool.submit(_cell_job, cell, organisms[cell.family], str(runs_dir), spec.settings)
                    running[f] = cell
                    futures.add(f)
                    pending_cells.remove(cell)
            done_phases = (len(todo) - len(cut) - len(pending_cells) - len(running)) * spec.settings.phases + sum(
                _phases_done(runs_dir / c.name) for c in running.values())
            emit("tick", {"phases_done": done_phases, "phases_total": total_phases - len(cut) * spec.settings.phases,
                          "running": [c.name for c in running.values()], "elapsed": time.time() - t0})
            if not futures and pending_cells:
                raise RuntimeError(f"no organism for {pending_cells[0].family}")
    summary = summarize(spec, runs_dir)
    summary["wall_seconds"] = round(time.time() - t0, 1)
    summary["organisms"] = organisms
    summary["failed"] = failed
    summary["cut"] = cut
    summary["budget_seconds"] = budget_s
    write_json(out / "summary.json", {**summary, "provenance": provenance(grid=spec.to_dict())})
    return summary


# ----------------------------------------------------------------------------------------------------------------
# Aggregation


def _ci(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "low": None, "high": None}
    m = mean_ci(values)
    nan = m.low != m.low
    return {"n": m.n, "mean": m.mean, "low": None if nan else m.low, "high": None if nan else m.high}


def _units(spec: GridSpec, runs_dir: str | Path, load: Callable[[Any, Cell], dict | None] = load_result
           ) -> dict[tuple[str, str], list[tuple[int, list[dict]]]]:
    """Finished results per (family, arm) as independent units: one per seed, or, for an arm run together
    with its antithetic twin (``Arm.twin_of``), one per seed where both finished (the pair)."""
    found: dict[tuple[str, str], dict[int, dict]] = {}
    for cell in spec.cells():
        r = load(runs_dir, cell)
        if r is not None:
            found.setdefault((cell.family, cell.arm), {})[cell.seed] = r
    units: dict[tuple[str, str], list[tuple[int, list[dict]]]] = {}
    for (fam, arm), by_seed in found.items():
        base = get_arm(arm).twin_of
        if base and base in spec.arm_seeds(fam):
            continue  # summarised with its base arm
        twin = next((a for a in spec.arm_seeds(fam) if get_arm(a).twin_of == arm), None)
        mates = found.get((fam, twin), {}) if twin else None
        if mates is None:
            units[(fam, arm)] = [(s, [r]) for s, r in by_seed.items()]
        else:
            units[(fam, arm)] = [(s, [r, mates[s]]) for s, r in by_seed.items() if s in mates]
    return {k: v for k, v in units.items() if v}


def summarize(spec: GridSpec, runs_dir: str | Path,
              load: Callable[[Any, Cell], dict | None] = load_result) -> dict[str, Any]:
    """Per (family, arm): every delta's mean with its 95% t-interval across units (seeds, or antithetic pairs
    whose value is the mean of the two runs), and sign counts. ``load(runs_dir, cell)`` reads a cell's result
    (``None``: not finished); the default reads ``<runs_dir>/<cell>/result.json``."""
    rows = []
    for (fam, arm), units in _units(spec, runs_dir, load).items():
        results = [r for _, rs in units for r in rs]

        def values(k: str) -> list[float]:
            return [sum(r["delta"][k] for r in rs) / len(rs) for _, rs in units]

        row: dict[str, Any] = {"family": fam, "arm": arm, "seeds": [s for s, _ in units],
                               "paired": len(units[0][1]) == 2}
        for k in DELTA_KEYS:
            row[k] = _ci(values(k))
        n = len(units)
        row["majority_values"] = values("majority_frequency")
        row["accuracy_values"] = values("accuracy")
        row["majority_rose"] = sum(v > 0 for v in row["majority_values"])
        row["accuracy_rose"] = sum(v > 0 for v in row["accuracy_values"])
        row["n"] = n
        row["runs"] = len(results)
        row["before"] = results[0]["before"]
        row["after_mean"] = {k: sum(r["after"]["sampled"][k] or 0 for r in results) / len(results)
                             for k in ("code_frequency", "accuracy", "boxed_rate")}
        row["wall_seconds_mean"] = sum(r["wall_seconds"] for r in results) / len(results)
        rows.append(row)
    return {"groups": rows}


def group(summary: dict[str, Any], family: str, arm: str) -> dict[str, Any] | None:
    for row in summary["groups"]:
        if row["family"] == family and row["arm"] == arm:
            return row
    return None
