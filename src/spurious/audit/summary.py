"""An audit's numbers: per-arm gains, the user-minus-control comparisons, gain decompositions, behaviour shifts.

Every number comes from the audit's own evaluation records (one fingerprint: the base model's ``before.json``
and each run's ``result.json["evaluation"]``) and, for entropy and the mean token probability pi-bar, from the
run's ``metrics.jsonl`` (first and last rollout phase: the policy's own rollouts, not the evaluation).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from spurious.analysis.stats import mean_ci
from spurious.audit.decomposition import behaviour, decompose
from spurious.audit.plan import USER_ARM, AuditSpec
from spurious.audit.verdicts import judge
from spurious.analysis.loading import load_run

BEHAVIOUR_KEYS = ("code_frequency", "boxed_rate", "parsed_rate", "mean_length")
TRAINING_KEYS = ("entropy", "pi_bar")
DECOMPOSITION_KEYS = ("accuracy_gain", "format_fixes", "reasoning", "attempt_inflation", "parsed_gain")


def _ci(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "mean": None, "low": None, "high": None}
    m = mean_ci(values)
    ok = m.low == m.low
    return {"n": m.n, "mean": m.mean, "low": m.low if ok else None, "high": m.high if ok else None}


def training_shift(run_dir: Path) -> dict[str, float | None]:
    """Last minus first rollout phase of ``entropy`` and ``pi_bar`` in the run's metrics (None if absent)."""

    try:
        rows = [r for r in load_run(run_dir).rows if r.get("kind") == "phase"]
    except Exception:  # noqa: BLE001 - a run without metrics has no training shift to report
        return {k: None for k in TRAINING_KEYS}
    out: dict[str, float | None] = {}
    for k in TRAINING_KEYS:
        vals = [r[k] for r in rows if isinstance(r.get(k), (int, float))]
        out[k] = vals[-1] - vals[0] if len(vals) >= 2 else None
    return out


def arm_seed_row(before: dict[str, Any], result: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """One seed of one arm: its gain, exact decomposition and behaviour shifts."""
    after = result["evaluation"]["records"]
    dec = decompose(before["records"], after)
    b, a = behaviour(before["records"]), behaviour(after)
    return {"seed": result["cell"]["seed"], "gain": float(dec.accuracy_gain),
            "decomposition": dec.as_dict(),
            "decomposition_exact": {k: str(getattr(dec, k)) for k in DECOMPOSITION_KEYS},
            "after": a, "shift": {k: a[k] - b[k] for k in BEHAVIOUR_KEYS}, "training": training_shift(run_dir),
            "wall_seconds": result.get("wall_seconds")}


def summarize(spec: AuditSpec, before: dict[str, Any], results: dict[str, dict[str, Any]], runs_dir: Path
              ) -> dict[str, Any]:
    """The audit summary from the finished cells' results (keyed by cell name)."""
    arms_out = []
    gains: dict[str, list[float]] = {}
    for name, arm in spec.arms().items():
        seeds = []
        for cell, cell_arm in spec.cells():
            if cell_arm.name == name and cell.name in results:
                seeds.append(arm_seed_row(before, results[cell.name], Path(runs_dir) / cell.name))
        gains[name] = [s["gain"] for s in seeds]
        mean_dec = {}
        for k in DECOMPOSITION_KEYS:   # exact means, so the identities hold for the means too
            exact = [Fraction(s["decomposition_exact"][k]) for s in seeds]
            mean_dec[k] = float(sum(exact) / len(exact)) if exact else None
        arms_out.append({
            "arm": name, "reward": arm.reward, "reward_params": arm.reward_params, "overrides": arm.overrides,
            "description": arm.description, "seeds": [s["seed"] for s in seeds], "gain": _ci(gains[name]),
            "gain_values": gains[name], "decomposition_mean": mean_dec,
            "shift_mean": {k: _ci([s["shift"][k] for s in seeds]) for k in BEHAVIOUR_KEYS},
            "training_mean": {k: _ci([s["training"][k] for s in seeds if s["training"][k] is not None])
                              for k in TRAINING_KEYS},
            "per_seed": seeds,
        })
    controls = {a["arm"]: gains[a["arm"]] for a in arms_out if a["arm"] != USER_ARM}
    verdict = judge(gains[USER_ARM], controls)
    return {
        "spec": spec.to_dict(), "fingerprint": before["fingerprint"], "before": behaviour(before["records"]),
        "arms": arms_out,
        "comparisons": [c.__dict__ for c in verdict.comparisons],
        "verdict": {"verdict": verdict.verdict, "text": verdict.text, "seeds_needed": verdict.seeds_needed},
        "cells_finished": len(results), "cells_planned": len(spec.cells()),
    }
