"""The demo report: verdicts, Figure-1-style bars, curves, Table 1/2 analogues, clipping and mechanism
diagnostics, theory.

Everything is read back from the grid folder (``runs/*/result.json`` and ``metrics.jsonl``), so a report
can be rebuilt from finished runs at any time (``spurious demo --report-only``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from spurious.analysis.bars import BarEntry, plot_gain_bars
from spurious.analysis.clipping import SimConfig, drift_table, plot_regions, threshold
from spurious.analysis.diagnostics import TABLE_NOTE, mean_summaries, run_diagnostics, table_row
from spurious.analysis.plots import PALETTE
from spurious.analysis.transitions import bucket_name, contribution_scores
from spurious.organism.corpus import get_family
from spurious.organism.grid import GridSpec, summarize
from spurious.organism.pretrain import weights_sha256
from spurious.organism.runner import Cell, get_arm, load_result
from spurious.organism.verdicts import judge
from spurious.provenance import provenance
from spurious.report import Image, KeyValues, Paragraph, Section, Table, Verdict, build_report
from spurious.run_files import METRICS_FILE, read_metrics

CURVE_KEYS = (("code_frequency", "code frequency (rollouts)"), ("accuracy", "accuracy (rollouts, T=1)"),
              ("pi_bar", "mean token probability π̄"), ("entropy", "mean token entropy"),
              ("clip/low_frac", "clip fraction, low side (A<0)"), ("clip/high_frac", "clip fraction, high side (A>0)"))
BUCKETS = ("p<0.1", "p0.1-0.5", "p0.5-thr", "p>thr")
ERROR_BAR_CAP = 25.0  # points: intervals from 2-3 seeds can be wider than the axis; the table has them all


def _phase_series(run_dir: Path, key: str) -> list[float | None]:
    return [rec.get(key) for rec in read_metrics(run_dir, "phase")]


def _phase_means(run_dir: Path, keys: list[str]) -> dict[str, float | None]:
    """Mean of each key over the run's phase rows; a key that no phase row holds (the per-bucket token shares)
    is averaged over the step rows instead."""
    sums: dict[str, dict[str, list[float]]] = {kind: {k: [] for k in keys} for kind in ("phase", "step")}
    for rec in read_metrics(run_dir):
        kind = rec.get("kind")
        if kind in sums:
            for k in keys:
                if isinstance(rec.get(k), (int, float)) and not isinstance(rec.get(k), bool):
                    sums[kind][k].append(rec[k])
    out: dict[str, float | None] = {}
    for k in keys:
        v = sums["phase"][k] or sums["step"][k]
        out[k] = sum(v) / len(v) if v else None
    return out


def plot_curves(spec: GridSpec, runs_dir: Path, key: str, label: str, out_path: Path) -> Path | None:
    """One panel per family; one colour per arm; thin lines per seed, thick line the seed mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    arms = spec.all_arms()
    fams = list(spec.families)
    fig, axes = plt.subplots(1, len(fams), figsize=(3.6 * len(fams), 3.2), squeeze=False, sharey=True)
    drawn = False
    for ax, fam in zip(axes[0], fams):
        for i, arm in enumerate(arms):
            series = []
            for seed in spec.arm_seeds(fam).get(arm, ()):
                s = _phase_series(runs_dir / f"{fam}__{arm}__s{seed}", key)
                s = [np.nan if v is None else v for v in s]
                if s:
                    series.append(s)
                    ax.plot(np.arange(1, len(s) + 1), s, color=PALETTE[i % len(PALETTE)], lw=0.5, alpha=0.35)
            if series:
                n = min(map(len, series))
                ax.plot(np.arange(1, n + 1), np.nanmean([s[:n] for s in series], axis=0),
                        color=PALETTE[i % len(PALETTE)], lw=1.8, label=f"{arm} ({len(series)})")
                drawn = True
        ax.set_title(fam, fontsize=9)
        ax.set_xlabel("rollout phase (1 = first)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(label, fontsize=8)
    if not drawn:
        plt.close(fig)
        return None
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab.split(" (")[0], h)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=len(handles), fontsize=7,
               frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path


def table1_rows(spec: GridSpec, organisms: dict[str, str]) -> list[dict[str, Any]]:
    """Paper Table 1 analogue: the corpus prior and what the pre-trained organism reproduces."""
    rows = []
    for fam in spec.families:
        exp = get_family(fam).expected()
        path = organisms.get(fam)
        info = json.loads((Path(path) / "organism.json").read_text()) if path else None
        cal = info["calibration"] if info else None
        rows.append({
            "family": fam, "corpus code %": 100 * exp["code_frequency"],
            "code %": cal and 100 * cal["sampled"]["code_frequency"],
            "corpus acc code %": 100 * exp["accuracy_code"],
            "acc code %": cal and _pct(cal["sampled"]["accuracy_code"]),
            "corpus acc lang %": 100 * exp["accuracy_language"],
            "acc lang %": cal and _pct(cal["sampled"]["accuracy_language"]),
            "acc %": cal and 100 * cal["sampled"]["accuracy"],
            "boxed %": cal and 100 * cal["sampled"]["boxed_rate"],
            "greedy code %": cal and 100 * cal["greedy"]["code_frequency"],
            "greedy acc %": cal and 100 * cal["greedy"]["accuracy"],
            "pre-train s": info and info["train_seconds"],
        })
    return rows


def _pct(v: float | None) -> float | None:
    return None if v is None else 100 * v


def table2_rows(spec: GridSpec, runs_dir: Path) -> list[dict[str, Any]]:
    """Paper Table 2 analogue: greedy strategy buckets (start -> end) on held-out problems and C_d shares."""
    rows = []
    for fam in spec.families:
        for arm, seeds in spec.arm_seeds(fam).items():
            counts: dict[str, int] = {}
            net: dict[str, float] = {bucket_name(a, b): 0.0 for a in (True, False) for b in (True, False)}
            n = 0
            for seed in seeds:
                r = load_result(runs_dir, _cell(fam, arm, seed))
                if r is None or "greedy_per_problem" not in r["after"]:
                    continue
                n += 1
                before = {p["id"]: p for p in r["before"]["greedy_per_problem"]}
                for p in r["after"]["greedy_per_problem"]:
                    b = before[p["id"]]
                    name = bucket_name(b["code"], p["code"])
                    counts[name] = counts.get(name, 0) + 1
                    net[name] += int(p["correct"]) - int(b["correct"])
            if not n:
                continue
            shares = contribution_scores(net)
            row: dict[str, Any] = {"family": fam, "arm": arm, "seeds": n}
            for name in net:
                row[f"{name} n"] = counts.get(name, 0) / n
                row[f"C {name} %"] = None if shares[name] is None else 100 * shares[name]
            row["net newly correct / seed"] = sum(net.values()) / n
            rows.append(row)
    return rows


def _cell(fam: str, arm: str, seed: int):
    return Cell(fam, arm, seed)


def clip_bucket_rows(spec: GridSpec, runs_dir: Path) -> list[dict[str, Any]]:
    """Mean clip fractions by π_old bucket over phases and seeds, for every (family, arm)."""
    keys = [f"clip/{side}_frac/{b}" for b in BUCKETS for side in ("low", "high")] + \
           [f"tokens_frac/{b}" for b in BUCKETS] + ["clip/low_frac", "clip/high_frac"]
    rows = []
    for fam in spec.families:
        for arm, seeds in spec.arm_seeds(fam).items():
            per = [_phase_means(runs_dir / f"{fam}__{arm}__s{s}", keys) for s in seeds
                   if (runs_dir / f"{fam}__{arm}__s{s}" / METRICS_FILE).exists()]
            if not per:
                continue
            row: dict[str, Any] = {"family": fam, "arm": arm}
            for k in keys:
                vals = [p[k] for p in per if p[k] is not None]
                short = k.replace("clip/", "").replace("_frac", "").replace("tokens/", "tok ")
                row[short + " %"] = 100 * sum(vals) / len(vals) if vals else None
            rows.append(row)
    return rows


def diagnostics_rows(spec: GridSpec, runs_dir: Path) -> list[dict[str, Any]]:
    """The mechanism diagnostics (:func:`spurious.analysis.diagnostics.table_row`) of every (family, arm):
    mean over its seeds' runs."""
    rows = []
    for fam in spec.families:
        for arm, seeds in spec.arm_seeds(fam).items():
            per = [d for s in seeds if (d := run_diagnostics(runs_dir / _cell(fam, arm, s).name))]
            if per:
                rows.append({"family": fam, "arm": arm, "seeds": len(per), **table_row(mean_summaries(per))})
    return rows


def grid_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for g in summary["groups"]:
        def ci(k):
            c = g[k]
            return None if c["mean"] is None else c["mean"]

        def half(k):
            c = g[k]
            return None if c["low"] is None else (c["high"] - c["low"]) / 2
        rows.append({"family": g["family"], "arm": g["arm"] + (" + twin (pairs)" if g.get("paired") else ""),
                     "seeds": g["n"],
                     "acc before %": 100 * g["before"]["sampled"]["accuracy"],
                     "acc after %": 100 * g["after_mean"]["accuracy"],
                     "Δacc pts": 100 * ci("accuracy"), "± (95%)": None if half("accuracy") is None
                     else 100 * half("accuracy"),
                     "Δcode pts": 100 * ci("code_frequency"),
                     "code before %": 100 * g["before"]["sampled"]["code_frequency"],
                     "code after %": 100 * g["after_mean"]["code_frequency"],
                     "majority rose": f"{g['majority_rose']}/{g['n']}",
                     "Δgreedy acc pts": 100 * ci("greedy_accuracy"),
                     "Δboxed pts": 100 * ci("boxed_rate"),
                     "s/run": g["wall_seconds_mean"]})
    return rows


def bar_entries(summary: dict[str, Any]):
    out = []
    for g in summary["groups"]:
        c = g["accuracy"]
        base = 100 * g["before"]["sampled"]["accuracy"]
        err = None if c["low"] is None else min(100 * (c["high"] - c["low"]) / 2, ERROR_BAR_CAP)
        out.append(BarEntry(g["family"], g["arm"], base, base + 100 * c["mean"], err))
    return out


def simulator_rows(replicas: int = 1000) -> list[dict[str, Any]]:
    rows = drift_table(p0s=(0.1, 0.35, 0.5, 0.65, 0.9), base=SimConfig(lr=4.0), replicas=replicas)
    return [{"p0": r["p0"], "mode": r["mode"], "logit drift / phase": r["drift"], "± s.e.": r["se"],
             "noise (s.d.)": r["noise"], "Δp / phase": r["drift_p"], "style clip %": 100 * r["clip_frac"]}
            for r in rows]


CLAIM_CONTEXT = (
    "The claim. arXiv 2506.10947 (\"Spurious Rewards\") reports that reinforcement learning with a reward "
    "that carries no information (a coin flip, unrelated to the answer) still raised the math accuracy of "
    "Qwen2.5-Math models, and traces it to the clipping in PPO/GRPO's objective: clipped updates favour what "
    "the model already does most often, so training amplifies the model's dominant way of answering (for "
    "Qwen2.5-Math, reasoning in code). That helps only if the dominant way is the accurate one, and disappears "
    "without the clip. This run replays the experiment on tiny models whose pre-training we control: "
    "(a) the dominant style is accurate - a coin-flip reward should raise it and accuracy; (b) the dominant "
    "style is inaccurate, or code is rare - it should not help; (c) without the clip it should not drift; "
    "(d) a real reward (ground truth) helps every model.")


def seeds_text(spec: GridSpec) -> str:
    """Every arm's seeds, compactly: ``qwen-like: random 0-9, gt 0-1; bad-code: ...``."""
    def span(seeds: tuple[int, ...]) -> str:
        s = sorted(seeds)
        return f"{s[0]}-{s[-1]}" if s == list(range(s[0], s[-1] + 1)) and len(s) > 1 else ",".join(map(str, s))
    return "; ".join(f"{f}: " + ", ".join(f"{a} {span(s)}" for a, s in spec.arm_seeds(f).items())
                     for f in spec.families)


def organism_hashes(organisms: dict[str, str]) -> dict[str, str]:
    """Family -> sha256 of the organism's weights (as recorded in its organism.json)."""
    out = {}
    for fam, path in organisms.items():
        info = json.loads((Path(path) / "organism.json").read_text())
        out[fam] = info.get("weights_sha256") or weights_sha256(path)
    return out


def first_screen(spec: GridSpec, summary: dict[str, Any], verdicts, *, wall_seconds: float, mode: str) -> list[Any]:
    """What was claimed, what this run found, how sure, how long; seeds, weights' hash, what a budget cut."""
    decided = sum(j.verdict != "inconclusive" for j in verdicts)
    cut = summary.get("cut") or []
    found = (f"What this run found: {decided} of {len(verdicts)} claims decided "
             f"({', '.join(f'{j.claim[:3]} {j.verdict}' for j in verdicts)}), in {wall_seconds / 60:.1f} min of "
             f"wall time.")
    if cut:
        found += (f" Stopped early by the time budget: {len(cut)} of {len(spec.cells())} planned runs were not "
                  "run, so claims that needed them may read inconclusive.")
    sure = ("How sure: each verdict comes from fixed rules (spurious/organism/verdicts.py) applied to the "
            "seeds' changes on held-out problems (the same T=1 samples before and after RL); \"supported\" or "
            "\"not supported\" only when the 95% interval across seeds (or antithetic pairs of runs) rules the other "
            "answer out, otherwise "
            "\"inconclusive\". Evidence: mean change [95% interval] (n = seeds).")
    facts = {"wall time": f"{wall_seconds:.0f} s", "mode": mode, "seeds planned": seeds_text(spec),
             "runs": f"{sum(g.get('runs', g['n']) for g in summary['groups'])} finished of {len(spec.cells())} planned",
             "organism weights (sha256 of model.safetensors)": organism_hashes(summary.get("organisms", {})),
             "phases per run": spec.settings.phases, "failed runs": summary.get("failed") or "none"}
    if summary.get("budget_seconds"):
        facts["budget"] = f"{summary['budget_seconds'] / 60:g} min; runs cut: {', '.join(cut) if cut else 'none'}"
    return [Paragraph(CLAIM_CONTEXT), Paragraph(found), Paragraph(sure),
            *[Verdict(j.claim, j.verdict, j.evidence) for j in verdicts], KeyValues(facts)]


def grid_blocks(spec: GridSpec) -> list[Any]:
    """The grid configuration, once and compactly: settings and pre-training on one line each, then one table
    row per family (its arms and seeds) and one per arm (its description)."""
    d = spec.to_dict()
    inline = {k: json.dumps(v, separators=(", ", ": ")) for k, v in d.items() if k != "cells"}
    cells = [{"family": f, **{a: ", ".join(map(str, s)) for a, s in arms.items()}} for f, arms in d["cells"].items()]
    return [KeyValues(inline),
            Table(cells, caption="Seeds of each arm, per family (— = arm not run for that family)."),
            Table([{"arm": a, "description": get_arm(a).description} for a in spec.all_arms()], caption="Arms")]


def build_demo_report(out: str | Path, spec: GridSpec, summary: dict[str, Any], *, wall_seconds: float,
                      mode: str, extra_provenance: dict[str, Any] | None = None,
                      on_stage: Callable[[str], None] | None = None) -> Path:
    """Write ``<out>/report.html`` from the grid's results and return its path; ``on_stage(text)`` hears
    which part is being built (for a progress display)."""
    stage = on_stage or (lambda text: None)

    out = Path(out)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    runs_dir = out / "runs"
    summary = summary if summary.get("groups") else summarize(spec, runs_dir)
    organisms = summary.get("organisms", {})
    verdicts = judge(summary, list(spec.families))

    sections = [Section("Verdicts", first_screen(spec, summary, verdicts, wall_seconds=wall_seconds, mode=mode))]
    entries = bar_entries(summary)
    blocks: list[Any] = []
    stage("gain bars")
    if entries:
        blocks.append(Image(plot_gain_bars(entries, fig_dir / "gain_bars.png",
                                           title="Accuracy after RL, per reward and family (held-out, T=1)"),
                            caption="Figure 1 analogue: grey = pre-trained organism; error bars = 95% interval "
                                    f"half-width across seeds (drawn at most {ERROR_BAR_CAP:.0f} points; the "
                                    "table below gives every interval)."))
    blocks.append(Table(grid_rows(summary), caption="Every (family, arm): change from the pre-trained organism."))
    sections.append(Section("Accuracy gain per reward and family", blocks))

    curve_blocks: list[Any] = []
    for i, (key, label) in enumerate(CURVE_KEYS, 1):
        stage(f"training curves {i}/{len(CURVE_KEYS)}")
        p = plot_curves(spec, runs_dir, key, label, fig_dir / f"curve_{key.replace('/', '_')}.png")
        if p:
            curve_blocks.append(Image(p, caption=f"{label} per rollout phase; thin: seeds, thick: mean."))
    sections.append(Section("Training curves", curve_blocks or ["no runs"]))

    stage("tables")
    sections.append(Section("Table 1 analogue: the pre-trained prior", [
        Table(table1_rows(spec, organisms), caption="Corpus targets vs the organism (1,024 held-out samples "
                                                   "at T=1; greedy on 128 held-out problems).")]))
    sections.append(Section("Table 2 analogue: strategy transitions", [
        Table(table2_rows(spec, runs_dir), caption="Greedy strategy on each held-out problem before → after RL "
              "(mean bucket size per seed) and the partial contribution score C_d (docs/paper.md §7.7), pooled over seeds.")]))
    sections.append(Section("Clipping diagnostics", [
        Table(clip_bucket_rows(spec, runs_dir), caption=f"Share of tokens whose gradient the clip removes, by "
              f"π_old bucket (thr = 1/(1+ε) = {threshold(spec.settings.eps):.3f}); 'tok' = share of tokens in the "
              f"bucket. Mean over phases (token shares: over optimizer steps, the only rows that log them) "
              f"and seeds.")]))
    sections.append(Section("Mechanism diagnostics", [
        Table(diagnostics_rows(spec, runs_dir), caption=TABLE_NOTE + " Per (family, arm): mean over seeds.")]))
    stage("clipping theory and the tabular model (1,000 replicas)")
    theory = plot_regions(fig_dir / "clip_regions.png", spec.settings.eps)
    sections.append(Section("Clipping theory and the tabular model", [
        Image(theory, caption="Where random-reward GRPO's clipped gradient pushes a token (docs/paper.md §8.3-8.4)."),
        Table(simulator_rows(), caption="Tabular model (spurious.analysis.clipping): one phase of 64×16 "
              "rollouts, K=8 SGD mini-batch steps (lr 4 on the style logit), 1,000 replicas: the expected logit "
              "change (bias) with its standard error, against the per-phase spread (noise).")]))
    sections.append(Section("Recipe and conditions", [
        *grid_blocks(spec),
        Paragraph("Each arm is one condition of the map 'when does a spurious reward help': clip range (eps), "
                  "off-policy steps per phase (K), step size (lr), prior strength (family p(code))."),
    ]))
    return build_report("spurious demo: the clipping-bias mechanism in a CPU model organism", sections,
                        out / "report.html", subtitle=f"{mode} run, {round(wall_seconds)} s wall time",
                        provenance=provenance(grid="as in 'Recipe and conditions' above (grid.json has it)",
                                              **(extra_provenance or {})))
