"""``spurious analyze``: tables, figures and one HTML report from evaluation folders and training runs.

* evaluation folders (``samples.jsonl``) → Table 1 (code frequency and accuracy by strategy, both
  detection rules) for each; with a ``baseline`` evaluation also Fig. 7 buckets and Table 2 partial
  contribution scores (baseline → each evaluation, per shared benchmark) and Fig.-1 gain bars;
* training runs (``metrics.jsonl``) → one figure per logged quantity, runs overlaid, seeds of one
  group as mean ± 95 % t-interval; the mechanism diagnostics (docs/mechanism.md) as one table row per run;
* leak flags (``leaks.jsonl`` of ``spurious contamination``, given or found in an input folder) → Table 1, the
  transitions, Table 2 and the gains again for the leaked, the clean and the unflagged problems.

Everything lands in ``out_dir``: ``report.html``, ``tables/*.json|csv`` (JSON carries provenance),
``figures/*.png`` and ``outputs.json`` listing the files.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from spurious.analysis.bars import BarEntry, gain_rows, plot_gain_bars
from spurious.analysis.curves import training_eval_rows
from spurious.analysis.diagnostics import TABLE_NOTE, summarize_diagnostics, table_row
from spurious.analysis.loading import EvalResult, RunLog, detect_kind, load_eval, load_run
from spurious.analysis.loading import eval_step_folders, load_rollouts, steps_label
from spurious.analysis.plots import plot_runs
from spurious.analysis.strategy import strategy_table
from spurious.analysis.transitions import BUCKETS, bucket_rows, contribution_rows, mean_contributions, transition_table
from spurious.code_reasoning import CODE_RULES
from spurious.errors import UsageError, check_choice, check_positive
from spurious.eval.leaks import SPLITS, LeakFlags, find_leak_files, load_all_leak_flags, split_samples
from spurious.io import InputError, atomic_open, check_output, finite_json, write_json
from spurious.provenance import provenance
from spurious.report.html import Image, KeyValues, Paragraph, Section, Table, build_report
from spurious.rollout import Rollout
from spurious.smoothing import WINDOW

SEED_SUFFIX = re.compile(r"^(.*?)[-_](?:seed|s)(\d+)$")


def _write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write strict JSON: NaN (a rate over nothing) becomes null."""
    write_json(path, finite_json(obj))


def _write_transition_tables(tables_dir: Path, suffix: str, tables: list, rows: list, prov: dict) -> list[Path]:
    """``transitions<suffix>.json`` (every bucket table) and ``table2<suffix>.json|csv``; returns the paths."""
    _write_json(tables_dir / f"transitions{suffix}.json", {"tables": tables, "provenance": prov})
    _write_json(tables_dir / f"table2{suffix}.json", {"rows": rows, "provenance": prov})
    return [tables_dir / f"transitions{suffix}.json", tables_dir / f"table2{suffix}.json",
            write_csv(tables_dir / f"table2{suffix}.csv", rows)]


def seed_group(name: str) -> str | None:
    """``"clip-seed3"`` / ``"clip_s3"`` → ``"clip"``; None when the name has no seed suffix."""
    m = SEED_SUFFIX.match(name)
    return m.group(1) if m else None


def write_csv(path: str | os.PathLike, rows: Sequence[dict[str, Any]]) -> Path:
    """Atomically write rows (dicts) as CSV with the union of their keys as header."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_open(path) as fh:
        w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    return Path(path)


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


@dataclass
class AnalysisOutputs:
    report: Path
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sample_splits(samples: Sequence[Rollout], flags: LeakFlags | None, any_benchmark: bool = False
                  ) -> dict[str, Sequence[Rollout]]:
    """``{"all": samples}``, plus the leaked / clean / unflagged subsets when ``flags`` are given."""
    out: dict[str, Sequence[Rollout]] = {"all": samples}
    if flags:
        out.update(split_samples(samples, flags, any_benchmark=any_benchmark))
    return out


def table1_rows(evals: Sequence[EvalResult], rules: Sequence[str] = CODE_RULES, flags: LeakFlags | None = None,
                any_benchmark: bool = False) -> list[dict]:
    """Table 1 rows per evaluation, benchmark and rule; with ``flags`` each also per split (column ``split``)."""
    rows = []
    for ev in evals:
        for split, samples in sample_splits(ev.samples, flags, any_benchmark).items():
            for r in strategy_table(list(samples), rules):
                row = {"eval": ev.name, "benchmark": r.benchmark, **({"split": split} if flags else {}),
                       "rule": r.rule, "n": r.n, "code_freq_%": _pct(r.code_frequency), "acc_%": _pct(r.accuracy),
                       "acc_code_%": _pct(r.accuracy_code), "acc_language_%": _pct(r.accuracy_language)}
                rows.append(row)
    if flags:  # group a benchmark's splits together: all, leaked, clean, unflagged
        order = {k: i for i, k in enumerate(("all", *SPLITS))}
        rows.sort(key=lambda r: (r["eval"], r["benchmark"], order[r["split"]]))
    return rows


# summary.json key -> report column; rates (fractions in the file) are shown as percentages.
SUMMARY_COLUMNS = {"headline": "headline", "n_problems": "problems", "samples": "k", "avg_at_k": "score %",
                   "pass_at_k_raw": "pass@k %", "pass_at_k_unbiased": "pass@k unbiased %", "maj_at_k": "maj@k %",
                   "code_frequency": "code %", "boxed_rate": "boxed %", "parsable_rate": "parsable %",
                   "truncation_rate": "truncated %", "mean_length": "mean length"}


def summary_rows(evals: Sequence[EvalResult]) -> list[dict]:
    """Headline metrics from each evaluation's summary.json (``benchmarks`` → per-benchmark dict), rates in %."""
    rows = []
    for ev in evals:
        benches = ev.summary.get("benchmarks")
        if not isinstance(benches, dict):
            continue
        for bench, m in benches.items():
            if not isinstance(m, dict):
                continue
            row: dict[str, Any] = {"eval": ev.name, "benchmark": bench}
            for key, col in SUMMARY_COLUMNS.items():
                v = m.get(key)
                if key not in m or isinstance(v, (dict, list)):
                    continue
                is_rate = col.endswith("%") and isinstance(v, (int, float)) and not isinstance(v, bool)
                row[col] = 100.0 * v if is_rate else v
            rows.append(row)
    return rows


def model_name(ev: EvalResult) -> str:
    """The evaluated model as recorded in summary.json, else the folder name."""
    return str(ev.summary.get("model") or ev.provenance.get("model") or ev.name)


def _accuracy_by_benchmark(samples: Sequence[Rollout]) -> dict[str, float]:
    out: dict[str, list[bool]] = {}
    for s in samples:
        out.setdefault(s.benchmark, []).append(s.correct)
    return {b: 100.0 * sum(v) / len(v) for b, v in out.items()}


TRANSITION_NOTE = ("C_d is the bucket's share of the net number of newly correct problems (docs/paper.md §7.7); it can be "
                   "negative and is undefined (—) when the net change is 0. For k > 1 samples a problem's strategy "
                   "is its majority strategy (ties count as language) and its correctness the mean over samples. "
                   "The Table 2 column is the unweighted mean over evaluations with a defined C.")


def transition_blocks(pairs: Sequence[tuple[EvalResult, EvalResult, str]], rule: str, notes: list[str],
                      flags: LeakFlags | None = None, any_benchmark: bool = False
                      ) -> tuple[list[Any], list[dict], list[dict]]:
    """Report blocks, contribution rows and full tables for (before, after, label) pairs, per shared benchmark;
    with ``flags`` also per split of the problems (leaked / clean / unflagged; key ``split`` in rows and tables)."""
    blocks: list[Any] = []
    contrib_all: list[dict] = []
    dicts: list[dict] = []
    benches = list(dict.fromkeys(b for before, _, _ in pairs for b in before.benchmarks))
    split_pairs = [(sample_splits(before.samples, flags, any_benchmark),
                    sample_splits(after.samples, flags, any_benchmark), before, after, label)
                   for before, after, label in pairs]
    splits = ("all", *SPLITS) if flags else ("all",)
    for bench in benches:
        for split in splits:
            where = bench if split == "all" else f"{bench} [{split}]"
            tables = []
            for before_splits, after_splits, before, after, label in split_pairs:
                b = [s for s in before_splits.get(split, ()) if s.benchmark == bench]
                a = [s for s in after_splits.get(split, ()) if s.benchmark == bench]
                if not b or not a:
                    continue
                try:
                    t = transition_table(b, a, rule, benchmark=bench, before_name=before.name, after_name=label)
                except ValueError as e:
                    notes.append(f"{label} / {where}: {e}")
                    continue
                if flags:
                    t.extra["split"] = split
                tables.append(t)
                left_out = (f" ({t.n_only_before} before-only and {t.n_only_after} after-only problems left out)"
                            if t.n_only_before or t.n_only_after else "")
                blocks.append(Table(bucket_rows(t), caption=(
                    f"{where}: {before.name} → {after.name}: accuracy {100 * t.accuracy_before:.1f} → "
                    f"{100 * t.accuracy_after:.1f} % on {t.n} problems; code {t.code_before} → "
                    f"{t.code_after}{left_out}")))
            if not tables:
                continue
            rows = contribution_rows(tables)
            if flags:
                rows = [{"split": split, **r} for r in rows]
            contrib_all += rows
            dicts += [t.as_dict() for t in tables]
            blocks.append(Table(rows, caption=f"{where}: partial contribution scores C_d (%), one row per evaluation"))
            mean = mean_contributions(tables)
            if mean.average_total_gain is None:
                blocks.append(Paragraph(f"{where}: every C is undefined (net change 0)."))
            elif len(tables) > 1:
                blocks.append(Paragraph(
                    f"{where}: Table 2 column (unweighted mean over {len(mean.used)} evaluations): average total "
                    f"gain {100 * mean.average_total_gain:.1f} points; "
                    + ", ".join(f"C {d} = {100 * mean.contributions[d]:.1f} %" for d in BUCKETS)
                    + (f". Skipped (net change 0): {', '.join(mean.skipped)}" if mean.skipped else "")))
    return blocks, contrib_all, dicts


def diagnostics_section(runs: Sequence[RunLog], tables_dir: Path, prov: dict) -> tuple[Section | None, list[Path]]:
    """The runs' mechanism diagnostics (spurious.analysis.diagnostics): one compact row per run in the report,
    every key's start / end / mean / change in ``tables/diagnostics.json``; (None, []) when no run logged any."""
    summaries = {run.name: s for run in runs if (s := summarize_diagnostics(run.rows))}
    if not summaries:
        return None, []
    path = tables_dir / "diagnostics.json"
    _write_json(path, {"runs": {name: {k: asdict(v) for k, v in s.items()} for name, s in summaries.items()},
                       "provenance": prov})
    rows = [{"run": name, **table_row(s)} for name, s in summaries.items()]
    note = TABLE_NOTE + " One row per run; tables/diagnostics.json has every key's start, end and mean."
    return Section("Training diagnostics", [Table(rows, caption=note)]), [path]


SPLIT_NOTE = (" With leak flags, each benchmark's rows are repeated for the leaked, the clean and the unflagged "
              "problems (column split; 'all' is every problem).")


def leak_paragraph(flags: LeakFlags) -> Paragraph:
    """What the leak flags are and where they come from."""
    c = flags.counts()
    benches = ", ".join(flags.benchmarks) or "any benchmark (the records name none)"
    return Paragraph(
        f"Per-problem leak flags from {', '.join(flags.sources)}: {c['leaked']} leaked and {c['clean']} clean "
        f"problems ({benches}). A problem is leaked when the probed model completed its text exactly from a 60 % "
        "prefix (spurious contamination, the measurement of arXiv 2507.10532); one flagged leaked by any file is "
        "leaked. Problems no file covers are 'unflagged'. Training rollouts are matched by problem id alone.")


def leak_mismatch(flags: LeakFlags, evals: Sequence[EvalResult]) -> str | None:
    """A note when leak flags are given but no evaluation sample matches any of them (e.g. other benchmark
    names); None otherwise or when there are no evaluations."""
    samples = [s for ev in evals for s in ev.samples]
    if not samples or any(flags.flag(s.benchmark, str(s.problem_id)) is not None for s in samples):
        return None
    got = sorted({s.benchmark for s in samples})
    return (f"no evaluation sample matches a leak flag: the flags name benchmark(s) {flags.benchmarks or ['(none)']},"
            f" the samples {got}; every problem is 'unflagged'")


def _rollout_pair(run: RunLog, phases: tuple[int, int] | None, notes: list[str]
                  ) -> tuple[EvalResult, EvalResult, str] | None:
    """(before, after, run name): the run's rollouts of two phases (0-based ``phases`` given 1-based), or None
    with a note when the run logged fewer than two phases."""
    logged = [p for p, _ in run.rollout_files]
    if phases is None:
        if len(logged) < 2:
            if logged:
                notes.append(f"{run.name}: rollouts of one phase only; transitions need two (rollout_log_every)")
            return None
        first, last = logged[0], logged[-1]
    else:
        first, last = phases[0] - 1, phases[1] - 1
    return load_rollouts(run.path, first, run.name), load_rollouts(run.path, last, run.name), run.name


def analyze(paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
            baseline: str | os.PathLike | None = None, rule: str = "python", window: int = WINDOW,
            group_seeds: bool = False, title: str = "spurious analysis",
            phases: tuple[int, int] | None = None, leaks: Sequence[str | os.PathLike] = ()) -> AnalysisOutputs:
    """Run every analysis that the given folders allow and write the report (see module docstring).

    ``phases``: the two training phases (1-based) whose rollouts a run's Table 1 and transitions compare;
    default its first and last logged phase. ``leaks``: leak-flag files (or folders holding ``leaks.jsonl``);
    a ``leaks.jsonl`` lying in an input folder or the baseline folder is used too. With any, every table is also
    split into leaked, clean and unflagged problems (:mod:`spurious.eval.leaks`)."""
    check_choice(rule, CODE_RULES, "--rule", "code-reasoning rule")
    check_positive(window=window)
    out = check_output(out_dir, "folder")
    tables_dir, fig_dir = out / "tables", out / "figures"
    base_ev = None
    if baseline is not None:
        if detect_kind(baseline) != "eval":
            raise InputError(baseline, None, "--baseline must be an evaluation folder (samples.jsonl)")
        base_ev = load_eval(baseline)
    runs: list[RunLog] = []
    evals: list[EvalResult] = []
    auto_notes: list[str] = []
    for p in paths:
        if baseline is not None and Path(p).resolve() == Path(baseline).resolve():
            continue
        kind = detect_kind(p)
        if kind == "run":
            run = load_run(p)
            run.group = run.config.get("group") if isinstance(run.config.get("group"), str) else None
            if run.group is None and group_seeds:
                run.group = seed_group(run.name)
            runs.append(run)
        elif kind == "eval-steps":  # `spurious eval --run` output: one evaluation per checkpoint step
            label = steps_label(p)
            for step, folder in eval_step_folders(p):
                ev = load_eval(folder, name=f"{label}@{step}")
                if step == 0 and baseline is None and base_ev is None:
                    base_ev = ev
                    auto_notes.append(f"baseline: {ev.name} (step 0 of {p}); give --baseline to choose another")
                else:
                    evals.append(ev)
        else:
            evals.append(load_eval(p))
    if not runs and not evals and base_ev is None:
        raise UsageError("nothing to analyse: give at least one run or evaluation folder")
    names = [x.name for x in ([base_ev] if base_ev else []) + evals + runs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"several inputs share the folder name(s) {dupes}; names label tables and curves")
    leak_files = list(dict.fromkeys([*map(str, leaks), *map(str, find_leak_files(
        [*paths, *([baseline] if baseline is not None else [])]))]))
    flags = load_all_leak_flags(leak_files) if leak_files else None

    prov = provenance(analysis={"inputs": [str(p) for p in paths], "baseline": str(baseline) if baseline else None,
                                "rule": rule, "window": window, "group_seeds": group_seeds,
                                "leaks": flags.sources if flags else []})
    result = AnalysisOutputs(report=out / "report.html", notes=auto_notes)
    sections: list[Section] = []

    # ---- inputs
    inputs = []
    for ev in ([base_ev] if base_ev else []) + evals:
        inputs.append({"name": ev.name, "kind": "baseline eval" if ev is base_ev else "eval", "path": str(ev.path),
                       "benchmarks": ", ".join(ev.benchmarks), "samples / lines": len(ev.samples), "group": None})
    for run in runs:
        inputs.append({"name": run.name, "kind": "training run", "path": str(run.path), "benchmarks": "",
                       "samples / lines": len(run.rows), "group": run.group})
    sections.append(Section("Inputs", [Table(inputs)]))
    all_evals = ([base_ev] if base_ev else []) + evals
    if flags:
        sections.append(Section("Leak flags", [leak_paragraph(flags)]))
        unmatched = leak_mismatch(flags, all_evals)
        if unmatched:
            result.notes.append(unmatched)

    # ---- Table 1
    if all_evals:
        summ = summary_rows(all_evals)
        if summ:
            sections.append(Section("Evaluation summaries", [
                "Headline metrics as recorded in each evaluation's summary.json; rates in % (the file holds "
                "fractions), k = samples per problem.",
                Table(summ)]))
        t1 = table1_rows(all_evals, flags=flags)
        _write_json(tables_dir / "table1.json", {"rows": t1, "provenance": prov})
        result.files += [tables_dir / "table1.json", write_csv(tables_dir / "table1.csv", t1)]
        sections.append(Section("Table 1: code reasoning and accuracy by strategy", [
            "Share of responses counted as code reasoning and the accuracy of each strategy (docs/paper.md §7.5). "
            "Rule 'python': the response mentions 'python' (case-insensitive; the paper's rule). Rule 'fenced': "
            "it contains a fenced code block. All samples count (avg@k for k > 1)."
            + (SPLIT_NOTE if flags else ""),
            Table(t1)]))

    # ---- Table 2 and bars
    if base_ev is not None and evals:
        intro = (f"Problems split by strategy (rule '{rule}') in the baseline '{base_ev.name}' and in each later "
                 "evaluation. " + TRANSITION_NOTE)
        blocks, rows, dicts = transition_blocks([(base_ev, ev, ev.name) for ev in evals], rule, result.notes,
                                                flags)
        if dicts:
            result.files += _write_transition_tables(tables_dir, "", dicts, rows, prov)
        sections.append(Section("Strategy transitions and Table 2", [intro, *blocks]))

        family = model_name(base_ev)
        bar_blocks: list[Any] = ["Accuracy (%) of the baseline and of each evaluation; bars are labelled with the "
                                 "gain over the baseline in points. Accuracy is the mean over all samples (pass@1 "
                                 "for greedy, avg@k otherwise); final values here are single evaluations, not "
                                 "smoothed curves." + (" The figure is drawn for all problems; the tables give "
                                                       "each split too." if flags else "")]
        all_bar_rows = []
        base_splits = sample_splits(base_ev.samples, flags)
        ev_splits = [(ev, sample_splits(ev.samples, flags)) for ev in evals]
        for bench in base_ev.benchmarks:
            rows = []
            for split, base_samples in base_splits.items():
                base_acc = _accuracy_by_benchmark(base_samples)
                if bench not in base_acc:
                    continue
                entries = []
                for ev, splits in ev_splits:
                    acc = _accuracy_by_benchmark(splits.get(split, ()))
                    if bench in acc:
                        entries.append(BarEntry(family, ev.name, base_acc[bench], acc[bench]))
                if not entries:
                    continue
                if split == "all":
                    png = plot_gain_bars(entries, fig_dir / f"gain_{bench}.png",
                                         title=f"{bench}: gain over {base_ev.name}")
                    result.files.append(png)
                    bar_blocks.append(Image(png, caption=f"{bench}: accuracy after each run vs the baseline"))
                rows += [{"benchmark": bench, **({"split": split} if flags else {}), **r} for r in gain_rows(entries)]
            if not rows:
                continue
            all_bar_rows += rows
            bar_blocks.append(Table(rows, formats={"base": "{:.1f}", "final": "{:.1f}", "gain": "{:+.1f}"}))
        if all_bar_rows:
            _write_json(tables_dir / "gains.json", {"rows": all_bar_rows, "provenance": prov})
            result.files += [tables_dir / "gains.json", write_csv(tables_dir / "gains.csv", all_bar_rows)]
        sections.append(Section("Gains over the baseline", bar_blocks))
    elif evals and base_ev is None:
        result.notes.append("no --baseline: Table 2 and gain bars need a step-0 evaluation")
    elif base_ev is not None and not evals:
        result.notes.append("--baseline given but no other evaluation folder: nothing to compare it with")

    # ---- transitions within runs (their own evaluated checkpoints)
    pairs = []
    for run in runs:
        if len(run.eval_steps) >= 2 and run.eval_steps[0][0] == 0:
            (s0, p0), (st, pt) = run.eval_steps[0], run.eval_steps[-1]
            pairs.append((load_eval(p0, name=f"{run.name}@{s0}"), load_eval(pt, name=f"{run.name}@{st}"), run.name))
    if pairs:
        intro = ("Each run's own checkpoint evaluations (<run>/eval/step-N): step 0 (the base model) against the "
                 "last evaluated step, one run per reward as in the paper's Fig. 7. " + TRANSITION_NOTE)
        blocks, rows, dicts = transition_blocks(pairs, rule, result.notes, flags)
        if dicts:
            result.files += _write_transition_tables(tables_dir, "_runs", dicts, rows, prov)
        sections.append(Section("Strategy transitions within runs", [intro, *blocks]))

    # ---- Table 1 and transitions from the runs' own training rollouts
    rollout_pairs = [pair for run in runs if (pair := _rollout_pair(run, phases, result.notes))]
    if rollout_pairs:
        t1 = table1_rows([ev for before, after, _ in rollout_pairs for ev in (before, after)], flags=flags,
                         any_benchmark=True)
        _write_json(tables_dir / "table1_rollouts.json", {"rows": t1, "provenance": prov})
        result.files += [tables_dir / "table1_rollouts.json", write_csv(tables_dir / "table1_rollouts.csv", t1)]
        intro = ("Each run's own training rollouts (rollouts/step_XXXXX.jsonl.gz, T = 1 samples of the training "
                 "prompts graded against the dataset's answers): the first logged phase against the last, as the "
                 "paper does with evaluations. Problems differ between phases unless the dataset is smaller than a "
                 "phase's prompts, so the transition buckets cover the problems both phases sampled. "
                 + TRANSITION_NOTE)
        blocks, rows, dicts = transition_blocks(rollout_pairs, rule, result.notes, flags, any_benchmark=True)
        if dicts:
            result.files += _write_transition_tables(tables_dir, "_rollouts", dicts, rows, prov)
        sections.append(Section("Training rollouts: Table 1 and strategy transitions", [
            "Code reasoning and accuracy by strategy in the compared phases (benchmark 'train').", Table(t1),
            intro, *blocks]))

    # ---- curves
    if runs:
        plots = plot_runs(runs, fig_dir, window)
        result.files += list(plots.figures.values())
        blocks = [f"Raw values dashed and semi-transparent, smoothed (trailing window {window}, step 0 raw) solid. "
                  "Runs with a group label are drawn as the mean over seeds with a shaded 95 % t-interval."]
        blocks += [Image(p, caption=plots.titles[name]) for name, p in plots.figures.items()]
        if plots.skipped:
            blocks.append(Table([{"figure": k, "why not drawn": v} for k, v in plots.skipped.items()],
                                caption="Quantities with no figure"))
        sections.append(Section("Training curves", blocks))
        evals_in_runs = training_eval_rows(runs, window)
        if evals_in_runs:
            write_json(tables_dir / "eval_training.json", {"rows": evals_in_runs, "provenance": prov})
            result.files += [tables_dir / "eval_training.json",
                             write_csv(tables_dir / "eval_training.csv", evals_in_runs)]
            sections.append(Section("Evaluation during training", [
                f"Benchmarks evaluated during training (metrics.jsonl lines of kind 'eval'; phase 0 is the base "
                f"model). 'final' is the paper's reported value: the smoothed last point (trailing window "
                f"{window}, first point raw); 'gain' is final minus the first point. Fractions, not %.",
                Table(evals_in_runs, formats={k: "{:.3f}" for k in ("first", "last", "final", "gain")})]))
        diag, diag_files = diagnostics_section(runs, tables_dir, prov)
        if diag is not None:
            sections.append(diag)
            result.files += diag_files

    # ---- notes and provenance
    if result.notes:
        sections.append(Section("Notes", [Paragraph(n) for n in result.notes]))
    prov_blocks: list[Any] = [KeyValues(prov, title="This analysis")]
    for ev in all_evals:
        if ev.provenance:
            prov_blocks.append(KeyValues(ev.provenance, title=f"evaluation {ev.name}"))
    for run in runs:
        if run.config:
            prov_blocks.append(KeyValues(run.config, title=f"run {run.name}: config"))
    sections.append(Section("Provenance", prov_blocks))
    build_report(title, sections, result.report, subtitle=f"{len(all_evals)} evaluation(s), {len(runs)} run(s)")
    result.files.append(result.report)
    _write_json(out / "outputs.json", {"files": [str(f) for f in result.files], "notes": result.notes,
                                      "provenance": prov})
    return result
