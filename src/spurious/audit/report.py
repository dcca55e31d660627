"""The audit's HTML report: verdict, gains, comparisons, baselines, decompositions, behaviour shifts, training
diagnostics, plan, provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spurious.audit.verdicts import EXCEEDS, MARGIN, NOT_DISTINGUISHABLE
from spurious.organism.verdicts import format_ci
from spurious.report.html import KeyValues, Paragraph, Section, Table, Verdict, build_report

CLAIM = "the user's reward gives more than every spurious control under the same recipe"
VERDICT_COLOUR = {EXCEEDS: "supported", NOT_DISTINGUISHABLE: "not supported"}


def _baseline_blocks(summary: dict[str, Any]) -> list:
    table = summary.get("baselines")
    if not table:
        return [Paragraph("Not asked for (--baselines evaluates the base model under every shipped template).")]
    rows = [{"template": r["template"] + (" (recipe)" if r["template"] == table["reference"] else ""),
             "benchmark": r["benchmark"], "metric": r["headline"], "score": r["score"], "boxed rate": r["boxed_rate"],
             "strongest": table["strongest"].get(r["benchmark"], {}).get("template") == r["template"]}
            for r in table["rows"]]
    versus = [{"arm": a["arm"], "benchmark": bench, "after (95% CI)": format_ci(v["after"]),
               f"− recipe template ({table['reference']})": format_ci(v["over_reference"]),
               "− strongest baseline": format_ci(v["over_strongest"]), "strongest": v["strongest_template"]}
              for a in summary["arms"] for bench, v in a.get("versus_baselines", {}).items()]
    gaps = "; ".join(f"{b}: strongest {s['template']} {s['score']:.3f}, "
                     + ("recipe template not evaluated" if table["gap"].get(b) is None
                        else f"{table['gap'][b]:+.3f} over the recipe's template {table['reference']}")
                     for b, s in table["strongest"].items())
    blocks: list = [
        Table(rows, caption="The base model under each template, with the audit's own evaluation settings; the "
                            "recipe's template is the audit's before. " + gaps),
        Table(versus, caption="Each arm's accuracy after training minus the base model's under the recipe's "
                              "template and under the strongest template (95% t-interval across seeds): a gain "
                              "that does not exceed the strongest baseline is one a prompt gives without RL."),
    ]
    if table["skipped"]:
        blocks.append(Table([{"template": k, "why not evaluated": v} for k, v in table["skipped"].items()],
                            caption="Templates this model cannot take; they are not evaluated another way."))
    return blocks


def _diagnostics_table(summary: dict[str, Any]) -> Table:
    window = summary.get("diagnostics_window", {})
    keys = window.get("keys", [])
    rows = [{"arm": a["arm"], **{k: a["diagnostics_mean"][k]["last"]["mean"] for k in keys}} for a in summary["arms"]]
    return Table(rows, caption=f"Training diagnostics (spurious.rl.stats; docs/training.md): each run's mean over its "
                               f"last {window.get('last_phases')} rollout phases, averaged over seeds (summary.json "
                               f"has the phase-0 values and the intervals). clip/*: shares of tokens the clip "
                               f"removed; dlogp/all: mean log-probability change at the token's training step; "
                               f"cov/logp_old_adv: Cov(log π_old, A); entropy_attr/*: first-order entropy change "
                               f"that each clip causes (positive raises entropy); fork/*: high-clip share among the "
                               f"top-20 % entropy tokens and the rest; adv/pos_frac: tokens with A > 0.")


def _leak_blocks(summary: dict[str, Any]) -> list:
    leaks = summary.get("leak_flags")
    if not leaks:
        return ["No leak flags: put the leaks.jsonl of `spurious contamination` in this folder (or write the probe "
                "with -o <audit>/contamination) and rerun the audit, which retrains nothing, to split every gain."]
    rows = [{"arm": a["arm"], **{k: format_ci(ci) for k, ci in a.get("gain_by_split", {}).items()}}
            for a in summary["arms"]]
    return [f"Leak flags from {', '.join(leaks['sources'])}: {leaks['leaked']} leaked, {leaks['clean']} clean "
            "problems; problems no file covers are 'unflagged'.",
            Table(rows, caption="Accuracy gain over the leaked, the clean and the unflagged problems (exact "
                                "decomposition per seed; 95% t-interval across seeds).")]


def sections(summary: dict[str, Any]) -> list:
    v = summary["verdict"]
    spec = summary["spec"]
    arms = summary["arms"]
    gains = [{"arm": a["arm"], "reward": a["reward"], "seeds": len(a["seeds"]),
              "gain (95% CI)": format_ci(a["gain"]),
              "per seed": ", ".join(f"{g:+.3f}" for g in a["gain_values"]), "description": a["description"]}
             for a in arms]
    comps = [{"control": c["control"], "user − control": "n/a" if c["difference"] is None else
              f"{c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]", "status": c["status"],
              "seeds needed": c["seeds_needed"] if c["seeds_needed"] is not None else ""}
             for c in summary["comparisons"]]
    decs = [{"arm": a["arm"], **{k: a["decomposition_mean"][k] for k in a["decomposition_mean"]}} for a in arms]
    shifts = [{"arm": a["arm"], **{k: format_ci(a["shift_mean"][k]) for k in a["shift_mean"]},
               **{f"{k} (training)": format_ci(a["training_mean"][k]) for k in a["training_mean"]}} for a in arms]
    before = summary["before"]
    plan = {"fingerprint": summary["fingerprint"], **spec}
    if summary.get("plan"):
        plan["resolved"] = summary["plan"]
    return [
        Section("Verdict", [
            Verdict(CLAIM, VERDICT_COLOUR.get(v["verdict"], "inconclusive"), v["text"]),
            f"Rules (spurious.audit.verdicts): a control is exceeded when the 95% Welch interval of (user − control) "
            f"gain lies above 0, and explains the gain when the interval's upper end is below +{MARGIN:.2f}. "
            f"Finished cells: {summary['cells_finished']} of {summary['cells_planned']}.",
        ]),
        Section("Gains", [Table(gains, caption="Accuracy after minus before on the held-out problems, per arm; "
                                               "95% t-interval across seeds."),
                          Table(comps, caption="The user's gain minus each control's (95% Welch interval).")]),
        Section("Against the strongest pre-RL baseline", _baseline_blocks(summary)),
        Section("Leaked and clean problems", _leak_blocks(summary)),
        Section("Where the gain comes from", [
            Table(decs, caption="Mean over seeds. accuracy_gain = format_fixes + reasoning; parsed_gain = "
                                "format_fixes + attempt_inflation (exact; docs/audit.md)."),
        ]),
        Section("Behaviour shifts", [
            Table(shifts, caption="After minus before on the evaluation responses (code reasoning, boxed and parsed "
                                  "rates, length in characters); entropy and π̄: last minus first training phase."),
            KeyValues({k: round(val, 4) for k, val in before.items()}, title="Base model (before)"),
        ]),
        Section("Training diagnostics", [_diagnostics_table(summary)]),
        Section("Plan", [KeyValues(plan)]),
    ]


def write_report(summary: dict[str, Any], path: str | Path) -> Path:
    target = summary.get("target") or summary["spec"].get("family")
    return build_report(f"Audit: {summary['spec']['reward']} on {target}", sections(summary),
                        path, subtitle=summary["verdict"]["text"], provenance=summary.get("provenance"))
