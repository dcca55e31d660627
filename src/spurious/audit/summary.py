"""An audit's numbers: per-arm gains, the user-minus-control comparisons, gain decompositions, behaviour shifts,
training diagnostics and, when asked, the gains against the strongest pre-RL baseline.

Every accuracy comes from the audit's own evaluation records (one fingerprint: the base model's ``before.json``
and each run's ``result.json["evaluation"]``). Entropy, the mean token probability pi-bar and the clip-bias
diagnostics (:data:`DIAGNOSTICS`, defined in :mod:`spurious.rl.stats`) come from the run's ``metrics.jsonl``
phase lines (the policy's own rollouts, not the evaluation), read by :func:`spurious.run_files.read_metrics`:
entropy and pi-bar as last minus first phase, each diagnostic as its phase-0 value and its mean over the last
:data:`LAST_PHASES` phases.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from spurious.analysis.diagnostics import END_PHASES, summarize_diagnostics
from spurious.analysis.stats import mean_ci
from spurious.audit.decomposition import behaviour, decompose
from spurious.audit.evaluation import benchmark_of
from spurious.audit.plan import USER_ARM
from spurious.audit.verdicts import judge
from spurious.eval.leaks import SPLITS, LeakFlags
from spurious.io import InputError
from spurious.run_files import read_metrics

BEHAVIOUR_KEYS = ("code_frequency", "boxed_rate", "parsed_rate", "mean_length")
TRAINING_KEYS = ("entropy", "pi_bar")
DECOMPOSITION_KEYS = ("accuracy_gain", "format_fixes", "reasoning", "attempt_inflation", "parsed_gain")
DIAGNOSTICS = ("clip/low_frac", "clip/high_frac", "dlogp/all", "cov/logp_old_adv", "entropy_attr/low_clip",
               "entropy_attr/high_clip", "fork/clip_high_frac/top20", "fork/clip_high_frac/rest", "adv/pos_frac")
LAST_PHASES = END_PHASES


def _ci(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "mean": None, "low": None, "high": None}
    m = mean_ci(values)
    ok = m.low == m.low
    return {"n": m.n, "mean": m.mean, "low": m.low if ok else None, "high": m.high if ok else None}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v


def training_measures(run_dir: Path) -> dict[str, Any]:
    """``{"training": {key: last - first phase}, "diagnostics": {key: {"first", "last"}}}`` from the run's
    phase lines (None where a key is absent, or the metrics file is missing or unreadable)."""
    try:
        rows = read_metrics(run_dir, "phase")
    except InputError:  # a damaged metrics file: no training measures, the evaluation still stands
        rows = []
    training: dict[str, float | None] = {}
    for k in TRAINING_KEYS:
        vals = [r[k] for r in rows if _number(r.get(k))]
        training[k] = vals[-1] - vals[0] if len(vals) >= 2 else None
    summary = summarize_diagnostics(rows, LAST_PHASES)  # the one diagnostics summariser (analyze, demo, audit)
    diagnostics = {k: {"first": summary[k].start if k in summary else None,
                       "last": summary[k].end if k in summary else None} for k in DIAGNOSTICS}
    return {"training": training, "diagnostics": diagnostics}


def accuracy_by_benchmark(records: list[dict[str, Any]]) -> dict[str, float]:
    return {b: behaviour([r for r in records if benchmark_of(r) == b])["accuracy"]
            for b in dict.fromkeys(benchmark_of(r) for r in records)}


def arm_seed_row(before: dict[str, Any], result: dict[str, Any], run_dir: Path,
                 flags: LeakFlags | None = None) -> dict[str, Any]:
    """One seed of one arm: its gain, exact decomposition, behaviour shifts and training measures; with leak
    ``flags`` also its gain by leak split."""
    after = result["evaluation"]["records"]
    split = {"gain_by_split": gains_by_split(before["records"], after, flags)} if flags else {}
    dec = decompose(before["records"], after)
    b, a = behaviour(before["records"]), behaviour(after)
    return {"seed": result["cell"]["seed"], "gain": float(dec.accuracy_gain),
            "decomposition": dec.as_dict(),
            "decomposition_exact": {k: str(getattr(dec, k)) for k in DECOMPOSITION_KEYS},
            "after": a, "after_by_benchmark": accuracy_by_benchmark(after),
            "shift": {k: a[k] - b[k] for k in BEHAVIOUR_KEYS}, **training_measures(run_dir),
            "wall_seconds": result.get("wall_seconds"), **split}


def record_split(record: Mapping[str, Any], flags: LeakFlags) -> str:
    """A record's leak split (``spurious.eval.leaks``): model records' ids are ``<benchmark>/<id>``."""
    bench, pid = benchmark_of(record), str(record["problem_id"])
    pid = pid[len(bench) + 1:] if pid.startswith(bench + "/") else pid
    return flags.split(bench, pid)


def _by_split(records: list[dict[str, Any]], flags: LeakFlags) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault(record_split(r, flags), []).append(r)
    return out


def gains_by_split(before: list[dict[str, Any]], after: list[dict[str, Any]], flags: LeakFlags) -> dict[str, float]:
    """The accuracy gain (exact decomposition) over the leaked, the clean and the unflagged problems
    (non-empty splits only)."""
    b, a = _by_split(before, flags), _by_split(after, flags)
    return {s: float(decompose(b[s], a[s]).accuracy_gain) for s in SPLITS if s in b and s in a}


def versus_baselines(seeds: list[dict[str, Any]], baselines: Mapping[str, Any]) -> dict[str, Any]:
    """Per benchmark: the arm's accuracy after training minus the strongest baseline's and minus the
    reference template's (the recipe's; its baseline is the audit's own before), 95% intervals over seeds."""
    out: dict[str, Any] = {}
    scores = {(r["template"], r["benchmark"]): r["score"] for r in baselines["rows"]}
    for bench, best in baselines["strongest"].items():
        after = [s["after_by_benchmark"][bench] for s in seeds if bench in s["after_by_benchmark"]]
        ref = scores.get((baselines["reference"], bench))
        out[bench] = {"strongest_template": best["template"], "strongest_score": best["score"],
                      "reference_score": ref, "after": _ci(after),
                      "over_strongest": _ci([x - best["score"] for x in after]),
                      "over_reference": _ci([x - ref for x in after]) if ref is not None else _ci([])}
    return out


def summarize(spec, before: dict[str, Any], results: dict[str, dict[str, Any]], runs_dir: Path,
              baselines: Mapping[str, Any] | None = None, flags: LeakFlags | None = None) -> dict[str, Any]:
    """The audit summary of ``spec`` (an organism or model audit) from the finished cells' results (keyed by
    cell name); ``baselines``: the base model's baseline table (:func:`spurious.eval.baselines.baseline_table`);
    ``flags``: per-problem leak flags, which add each arm's gain over the leaked / clean / unflagged problems."""
    arms_out = []
    gains: dict[str, list[float]] = {}
    for name, arm in spec.arms().items():
        seeds = []
        for cell, cell_arm in spec.cells():
            if cell_arm.name == name and cell.name in results:
                seeds.append(arm_seed_row(before, results[cell.name], Path(runs_dir) / cell.name, flags))
        gains[name] = [s["gain"] for s in seeds]
        mean_dec = {}
        for k in DECOMPOSITION_KEYS:   # exact means, so the identities hold for the means too
            exact = [Fraction(s["decomposition_exact"][k]) for s in seeds]
            mean_dec[k] = float(sum(exact) / len(exact)) if exact else None
        row = {
            "arm": name, "reward": arm.reward, "reward_params": arm.reward_params, "overrides": arm.overrides,
            "description": arm.description, "seeds": [s["seed"] for s in seeds], "gain": _ci(gains[name]),
            "gain_values": gains[name], "decomposition_mean": mean_dec,
            "shift_mean": {k: _ci([s["shift"][k] for s in seeds]) for k in BEHAVIOUR_KEYS},
            "training_mean": {k: _ci([s["training"][k] for s in seeds if s["training"][k] is not None])
                              for k in TRAINING_KEYS},
            "diagnostics_mean": {k: {part: _ci([s["diagnostics"][k][part] for s in seeds
                                                if s["diagnostics"][k][part] is not None])
                                     for part in ("first", "last")} for k in DIAGNOSTICS},
            "per_seed": seeds,
        }
        if flags:
            row["gain_by_split"] = {k: _ci([s["gain_by_split"][k] for s in seeds if k in s["gain_by_split"]])
                                    for k in SPLITS if any(k in s["gain_by_split"] for s in seeds)}
        if baselines is not None:
            row["versus_baselines"] = versus_baselines(seeds, baselines)
        arms_out.append(row)
    controls = {a["arm"]: gains[a["arm"]] for a in arms_out if a["arm"] != USER_ARM}
    verdict = judge(gains[USER_ARM], controls)
    return {
        "spec": spec.to_dict(), "kind": spec.kind, "target": spec.target, "template": spec.template,
        "fingerprint": before["fingerprint"], "before": behaviour(before["records"]),
        "arms": arms_out,
        "comparisons": [c.__dict__ for c in verdict.comparisons],
        "verdict": {"verdict": verdict.verdict, "text": verdict.text, "seeds_needed": verdict.seeds_needed},
        "baselines": None if baselines is None else dict(baselines),
        "leak_flags": None if not flags else {"sources": flags.sources, **flags.counts()},
        "diagnostics_window": {"last_phases": LAST_PHASES, "keys": list(DIAGNOSTICS)},
        "cells_finished": len(results), "cells_planned": len(spec.cells()),
    }
