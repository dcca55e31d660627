"""``spurious demo --plan mechanism``: four claims of the follow-up literature and the no-signal controls, on
``qwen-like``.

Each arm runs the demo recipe (:class:`spurious.organism.runner.RunSettings`, 40 phases; the flip arms 20)
with seeds; the evidence is the seeds' change from the pre-trained organism (held-out accuracy and
majority-style frequency, as in :mod:`spurious.organism.verdicts`) and, from each run's ``metrics.jsonl``
(:func:`spurious.analysis.diagnostics.run_diagnostics`), the change of the training rollouts' token entropy
(mean of the last ``END_PHASES`` = 5 phases minus phase 0) and the phase means of the mechanism diagnostics
(:mod:`spurious.rl.stats`). ``CI``: 95% Student-t interval across seeds; a difference of two arms: the 95%
Welch interval; a dose-response: the 95% interval of the least-squares slope.

Claims and fixed rules (``MIN_SEEDS`` = 2 per arm, ``PRACTICAL_GAIN`` = +0.03 accuracy). Every rule reads
intervals, never sign counts (docs/mechanism.md, "Design").

(1) arXiv 2509.26114: the low clip raises entropy and the high clip lowers it; with symmetric eps the high
    side wins, so entropy falls even under random reward.
    supported: Welch(entropy change of eps 0.1/0.3 - of eps 0.3/0.1) lies above 0 and the symmetric arm's
    entropy-change CI lies below 0; not supported: that difference lies below 0, or the symmetric arm's
    entropy CI lies above 0.
(2) Oertell et al. ("Heuristics Considered Harmful"): under random reward RLOO and REINFORCE (unbiased
    gradient estimators) do not drift, while GRPO-clip drifts toward the majority style. Every arm keeps
    the clipped 8-step schedule, so the test is whether the estimator alone removes the drift.
    supported: GRPO's majority CI above 0, and each of rloo / reinforce has a CI inside (-PRACTICAL_DRIFT,
    +PRACTICAL_DRIFT) (0.03: no drift of practical size, the equivalence rule of organism.verdicts) and a Welch
    interval of (GRPO - it) above 0; not supported (otherwise): rloo's or reinforce's majority CI lies above 0.
(3) arXiv 2505.22653: flipping the reward's verdict with probability p shrinks the gain (ground truth,
    p = 0, 0.2, 0.4, 0.5; 20 phases). supported: the slope of accuracy change on
    p lies below 0; not supported: the slope interval rules out a fall of more than PRACTICAL_GAIN between
    p = 0 and 0.5 (low end > -0.06).
(4) arXiv 2512.16912: entropy minimisation alone does not raise accuracy.
    inconclusive unless the arm's entropy-change CI lies below 0 (entropy was minimised); then supported:
    its accuracy CI's upper end < PRACTICAL_GAIN; not supported: its accuracy CI lies above 0.
Anything else is "inconclusive".

No-signal controls (official repo issue #8: no reward signal at all, the same update schedule), reported as a
table without a verdict: ``constant-kl`` (constant reward, so every advantage is 0, with the KL penalty
beta = 0.04) and ``noise`` (a N(0, 1) reward independent of the response), 2 seeds each, beside the random arm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spurious.analysis.diagnostics import TABLE_NOTE, KeySummary, mean_summaries, run_diagnostics
from spurious.analysis.stats import mean_ci, ols_slope, welch_difference
from spurious.io import atomic_open, write_json
from spurious.organism.grid import GridSpec, group
from spurious.organism.report import diagnostics_rows, plot_curves
from spurious.organism.runner import Cell, RunSettings, get_arm
from spurious.organism.verdicts import PRACTICAL_DRIFT, Judgement, format_ci, within_margin
from spurious.provenance import provenance
from spurious.report import Image, KeyValues, Paragraph, Section, Table, Verdict, build_report

FAMILY = "qwen-like"
MIN_SEEDS = 2  # every rule rests on an interval; with 2 seeds t(0.975, 1) = 12.7, so only large effects decide
PRACTICAL_GAIN = 0.03
FLIP_ARMS = {"gt-flip0": 0.0, "gt-flip0.2": 0.2, "gt-flip0.4": 0.4, "gt-flip0.5": 0.5}
DIAGNOSTICS = ("entropy_attr/low_clip", "entropy_attr/high_clip", "cov/logp_old_adv", "clip/low_frac",
               "clip/high_frac", "fork/clip_high_frac/top20", "fork/clip_high_frac/rest")
CONTROL_ARMS = ("constant-kl", "noise")  # the no-signal controls, read beside REFERENCE_ARM
REFERENCE_ARM = "random"


def mechanism_plan() -> GridSpec:
    """On ``qwen-like``: 23 runs x 40 phases (the random arm serves claims (1), (2) and the controls' reference)
    and the dose-response's 8 runs x 20 phases (ground truth's gain is large by then), ordered seed by seed."""
    s3, s2 = (0, 1, 2), (0, 1)
    return GridSpec(
        families=(FAMILY,),
        arms={"random": (0, 1, 2, 3), "random-eps0.1-0.3": s3, "random-eps0.3-0.1": s3, "random-rloo": s3,
              "random-reinforce": s3, "entropy-min": s3, **{a: s2 for a in CONTROL_ARMS},
              **{a: s2 for a in FLIP_ARMS}},
        settings=RunSettings(phases=40),
    )


# ------------------------------------------------------------------------------------------------ evidence


def measures(summary: dict[str, KeySummary]) -> dict[str, float | None]:
    """From a diagnostics summary: the entropy change (mean of the last END_PHASES phases minus phase 0) and
    the phase means of DIAGNOSTICS (None where not logged)."""
    ent = summary.get("entropy")
    return {"entropy_change": ent.change if ent else None,
            **{k: summary[k].mean if k in summary else None for k in DIAGNOSTICS}}


def run_measures(run_dir: Path) -> dict[str, float | None]:
    """:func:`measures` of one run folder."""
    return measures(run_diagnostics(run_dir))


def _ci(values: list[float]) -> dict[str, Any]:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0, "mean": None, "low": None, "high": None}
    m = mean_ci(vals)
    ok = m.low == m.low
    return {"n": m.n, "mean": m.mean, "low": m.low if ok else None, "high": m.high if ok else None}


def arm_rows(spec: GridSpec, summary: dict[str, Any], runs_dir: Path) -> dict[str, dict[str, Any]]:
    """Per arm: the summary's accuracy / majority intervals plus the training measures across seeds."""
    out: dict[str, dict[str, Any]] = {}
    for arm, seeds in spec.arm_seeds(FAMILY).items():
        g = group(summary, FAMILY, arm)
        if g is None:
            continue
        summaries = [run_diagnostics(Path(runs_dir) / Cell(FAMILY, arm, s).name) for s in g["seeds"]]
        row = {"arm": arm, "n": g["n"], "accuracy": g["accuracy"], "majority_frequency": g["majority_frequency"],
               "accuracy_values": g["accuracy_values"], "majority_values": g["majority_values"],
               "entropy_values": [measures(s)["entropy_change"] for s in summaries]}
        row["entropy_change"] = _ci(row["entropy_values"])
        seed_mean = measures(mean_summaries(summaries))  # DIAGNOSTICS: mean over seeds of each run's phase mean
        row.update({k: seed_mean[k] for k in DIAGNOSTICS})
        out[arm] = row
    return out


def _fmt3(t: tuple[float, float, float] | None) -> str:
    return "n/a" if t is None else f"{t[0]:+.3f} [{t[1]:+.3f}, {t[2]:+.3f}]"


def _above0(ci: dict[str, Any]) -> bool:
    return ci.get("low") is not None and ci["low"] > 0


def _below0(ci: dict[str, Any]) -> bool:
    return ci.get("high") is not None and ci["high"] < 0


def _enough(row: dict[str, Any] | None) -> bool:
    return row is not None and row["n"] >= MIN_SEEDS


def _welch(a: dict[str, Any], b: dict[str, Any], key: str) -> tuple[float, float, float] | None:
    return welch_difference([v for v in a[key] if v is not None], [v for v in b[key] if v is not None])


# ------------------------------------------------------------------------------------------------ verdicts


def claim_entropy(rows: dict[str, dict[str, Any]]) -> Judgement:
    claim = ("(1) the low clip raises entropy, the high clip lowers it; with symmetric eps entropy falls under "
             "random reward (arXiv 2509.26114)")
    low, high, sym = rows.get("random-eps0.1-0.3"), rows.get("random-eps0.3-0.1"), rows.get("random")
    if not (low and high and sym):
        return Judgement(claim, "inconclusive", "missing arms (random, random-eps0.1-0.3, random-eps0.3-0.1)")
    diff = _welch(low, high, "entropy_values")
    parts = [f"{r['arm']}: entropy Δ {format_ci(r['entropy_change'])}, attributed to low clip "
             f"{_num(r['entropy_attr/low_clip'])}, to high clip {_num(r['entropy_attr/high_clip'])}"
             for r in (low, sym, high)]
    parts.append(f"eps 0.1/0.3 - eps 0.3/0.1 entropy Δ {_fmt3(diff)}")
    ev = "; ".join(parts)
    if (diff is not None and diff[2] < 0) or _above0(sym["entropy_change"]):
        return Judgement(claim, "not supported", ev)
    if all(_enough(r) for r in (low, high, sym)) and diff is not None and diff[1] > 0 \
            and _below0(sym["entropy_change"]):
        return Judgement(claim, "supported", ev)
    return Judgement(claim, "inconclusive", ev)


def claim_estimators(rows: dict[str, dict[str, Any]]) -> Judgement:
    claim = ("(2) under random reward RLOO and REINFORCE do not drift, GRPO-clip drifts toward the majority "
             "style (Oertell et al.)")
    grpo = rows.get("random")
    others = [rows[a] for a in ("random-rloo", "random-reinforce") if a in rows]
    if grpo is None or len(others) < 2:
        return Judgement(claim, "inconclusive", "missing arms (random, random-rloo, random-reinforce)")
    parts = [f"GRPO (random): majority Δ {format_ci(grpo['majority_frequency'])}"]
    ok = _enough(grpo) and _above0(grpo["majority_frequency"])
    drift = False
    for r in others:
        d = _welch(grpo, r, "majority_values")
        parts.append(f"{r['arm']}: majority Δ {format_ci(r['majority_frequency'])}; GRPO - it {_fmt3(d)}")
        drift |= _above0(r["majority_frequency"])
        ok &= _enough(r) and within_margin(r["majority_frequency"], PRACTICAL_DRIFT) and d is not None and d[1] > 0
    ev = "; ".join(parts)
    if ok:
        return Judgement(claim, "supported", ev)
    return Judgement(claim, "not supported" if drift else "inconclusive", ev)


def claim_flip(rows: dict[str, dict[str, Any]]) -> Judgement:
    claim = "(3) flipping the ground-truth verdict with probability p shrinks the gain (arXiv 2505.22653)"
    xs, ys, parts = [], [], []
    for arm, p in FLIP_ARMS.items():
        r = rows.get(arm)
        if r is None:
            continue
        parts.append(f"p={p:g}: accuracy Δ {format_ci(r['accuracy'])}")
        xs += [p] * len(r["accuracy_values"])
        ys += list(r["accuracy_values"])
    slope = ols_slope(xs, ys) if len({*xs}) >= 2 else None
    parts.append(f"slope of accuracy Δ on p {_fmt3(slope)} per unit p")
    g0, g4 = rows.get("gt-flip0"), rows.get("gt-flip0.4")
    if g0 and g4 and g0["accuracy"]["mean"]:
        parts.append(f"gain kept at p=0.4: {g4['accuracy']['mean'] / g0['accuracy']['mean']:.0%}")
    ev = "; ".join(parts)
    enough = all(_enough(rows.get(a)) for a in FLIP_ARMS)
    if slope is not None and enough and slope[2] < 0:
        return Judgement(claim, "supported", ev)
    if slope is not None and enough and slope[1] > -2 * PRACTICAL_GAIN:
        return Judgement(claim, "not supported", ev)
    return Judgement(claim, "inconclusive", ev)


def claim_entropy_min(rows: dict[str, dict[str, Any]]) -> Judgement:
    claim = "(4) entropy minimisation alone does not raise accuracy (arXiv 2512.16912)"
    r = rows.get("entropy-min")
    if r is None:
        return Judgement(claim, "inconclusive", "no entropy-min runs")
    ev = f"entropy Δ {format_ci(r['entropy_change'])}; accuracy Δ {format_ci(r['accuracy'])}; " \
         f"majority Δ {format_ci(r['majority_frequency'])}"
    if not (_enough(r) and _below0(r["entropy_change"])):
        return Judgement(claim, "inconclusive", ev + " (entropy did not demonstrably fall)")
    if _above0(r["accuracy"]):
        return Judgement(claim, "not supported", ev)
    if r["accuracy"].get("high") is not None and r["accuracy"]["high"] < PRACTICAL_GAIN:
        return Judgement(claim, "supported", ev)
    return Judgement(claim, "inconclusive", ev)


def judge_mechanism(rows: dict[str, dict[str, Any]]) -> list[Judgement]:
    return [claim_entropy(rows), claim_estimators(rows), claim_flip(rows), claim_entropy_min(rows)]


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.4f}"


# ------------------------------------------------------------------------------------------------ outputs


def table_rows(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One display row per arm (report table, docs/mechanism.md)."""
    return [{"arm": r["arm"], "seeds": r["n"], "accuracy Δ": format_ci(r["accuracy"]),
             "majority Δ": format_ci(r["majority_frequency"]), "entropy Δ": format_ci(r["entropy_change"]),
             "H attr. low clip": _num(r["entropy_attr/low_clip"]),
             "H attr. high clip": _num(r["entropy_attr/high_clip"]),
             "Cov(log π_old, A)": _num(r["cov/logp_old_adv"]),
             "clip low / high": f"{_num(r['clip/low_frac'])} / {_num(r['clip/high_frac'])}"}
            for r in rows.values()]


def control_rows(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The no-signal controls (CONTROL_ARMS) and REFERENCE_ARM: what each is, and its changes with intervals."""
    return [{"arm": a, "what it is": get_arm(a).description, "seeds": rows[a]["n"],
             "majority Δ": format_ci(rows[a]["majority_frequency"]), "accuracy Δ": format_ci(rows[a]["accuracy"]),
             "entropy Δ": format_ci(rows[a]["entropy_change"])}
            for a in (*CONTROL_ARMS, REFERENCE_ARM) if a in rows]


def _md_table(table: list[dict[str, Any]]) -> list[str]:
    if not table:
        return []
    keys = list(table[0])
    return ["", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys),
            *("| " + " | ".join(str(t[k]) for k in keys) + " |" for t in table)]


def markdown(judgements: list[Judgement], rows: dict[str, dict[str, Any]]) -> str:
    """The verdicts, the no-signal controls and the per-arm table as Markdown."""
    lines = ["| claim | verdict | evidence |", "|---|---|---|"]
    lines += [f"| {j.claim} | **{j.verdict}** | {j.evidence} |" for j in judgements]
    lines += _md_table(control_rows(rows)) + _md_table(table_rows(rows))
    return "\n".join(lines) + "\n"


def write_mechanism_report(out: str | Path, spec: GridSpec, summary: dict[str, Any], *, wall_seconds: float,
                           mode: str) -> tuple[Path, list[Judgement]]:
    """Write ``<out>/mechanism.json``, ``mechanism.md`` and ``report.html``; return the report and verdicts."""
    out = Path(out)
    runs_dir = out / "runs"
    rows = arm_rows(spec, summary, runs_dir)
    judgements = judge_mechanism(rows)
    write_json(out / "mechanism.json", {"verdicts": [j.__dict__ for j in judgements], "arms": rows,
                                        "wall_seconds": wall_seconds,
                                        "provenance": provenance(grid=spec.to_dict())})
    with atomic_open(out / "mechanism.md") as fh:
        fh.write(markdown(judgements, rows))
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    curves = []
    for key, label in (("entropy", "mean token entropy"), ("code_frequency", "code frequency (rollouts)"),
                       ("entropy_attr/high_clip", "entropy change attributed to the high clip"),
                       ("entropy_attr/low_clip", "entropy change attributed to the low clip")):
        p = plot_curves(spec, runs_dir, key, label, fig_dir / f"mechanism_{key.replace('/', '_')}.png")
        if p:
            curves.append(Image(p, caption=f"{label} per rollout phase; thin: seeds, thick: mean."))
    sections = [
        Section("Verdicts", [
            Paragraph("Fixed rules from the seeds' changes on held-out problems and the training diagnostics; "
                      "see spurious/organism/mechanism.py and docs/mechanism.md."),
            *[Verdict(j.claim, j.verdict, j.evidence) for j in judgements],
            KeyValues({"mode": mode, "wall time (s)": round(wall_seconds, 1),
                       "runs": sum(r["n"] for r in rows.values()), "runs planned": len(spec.cells()),
                       "failed runs": summary.get("failed") or "none",
                       "phases per run": " / ".join(map(str, sorted({
                           get_arm(c.arm).overrides.get("phases", spec.settings.phases) for c in spec.cells()},
                           reverse=True)))})]),
        Section("No-signal controls", [Table(control_rows(rows), caption=(
            "No reward signal, the same update schedule (official repo issue #8): change from the pre-trained "
            f"organism, 95% t-intervals across seeds, beside the {REFERENCE_ARM} arm. Descriptive: no verdict."))]),
        Section("Arms", [Table(table_rows(rows), caption="Per arm: change from the pre-trained organism (95% "
                                                          "t-intervals across seeds) and phase-mean diagnostics.")]),
        Section("Training diagnostics", [Table(diagnostics_rows(spec, runs_dir), caption=(
            TABLE_NOTE + " Per arm: mean over seeds."))]),
        Section("Training curves", curves or ["no runs"]),
    ]
    report = build_report("spurious demo --plan mechanism: the follow-up literature's claims in the organism",
                          sections, out / "report.html", subtitle=f"{mode} run, {round(wall_seconds)} s wall time",
                          provenance=provenance(grid="grid.json"))
    return report, judgements
