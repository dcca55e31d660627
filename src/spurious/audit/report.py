"""The audit's HTML report: verdict, gains, comparisons, decompositions, behaviour shifts, plan, provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spurious.audit.verdicts import EXCEEDS, MARGIN, NOT_DISTINGUISHABLE
from spurious.report.html import KeyValues, Section, Table, Verdict, build_report

CLAIM = "the user's reward gives more than every spurious control under the same recipe"
VERDICT_COLOUR = {EXCEEDS: "supported", NOT_DISTINGUISHABLE: "not supported"}


def _interval(ci: dict[str, Any]) -> str:
    if ci.get("mean") is None:
        return "n/a"
    if ci.get("low") is None:
        return f"{ci['mean']:+.3f} (n={ci['n']})"
    return f"{ci['mean']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}]"


def sections(summary: dict[str, Any]) -> list:
    v = summary["verdict"]
    spec = summary["spec"]
    arms = summary["arms"]
    gains = [{"arm": a["arm"], "reward": a["reward"], "seeds": len(a["seeds"]),
              "gain (95% CI)": _interval(a["gain"]),
              "per seed": ", ".join(f"{g:+.3f}" for g in a["gain_values"]), "description": a["description"]}
             for a in arms]
    comps = [{"control": c["control"], "user − control": "n/a" if c["difference"] is None else
              f"{c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]", "status": c["status"],
              "seeds needed": c["seeds_needed"] if c["seeds_needed"] is not None else ""}
             for c in summary["comparisons"]]
    decs = [{"arm": a["arm"], **{k: a["decomposition_mean"][k] for k in a["decomposition_mean"]}} for a in arms]
    shifts = [{"arm": a["arm"], **{k: _interval(a["shift_mean"][k]) for k in a["shift_mean"]},
               **{f"{k} (training)": _interval(a["training_mean"][k]) for k in a["training_mean"]}} for a in arms]
    before = summary["before"]
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
        Section("Where the gain comes from", [
            Table(decs, caption="Mean over seeds. accuracy_gain = format_fixes + reasoning; parsed_gain = "
                                "format_fixes + attempt_inflation (exact; docs/audit.md)."),
        ]),
        Section("Behaviour shifts", [
            Table(shifts, caption="After minus before on the evaluation responses (code reasoning, boxed and parsed "
                                  "rates, length in characters); entropy and π̄: last minus first training phase."),
            KeyValues({k: round(val, 4) for k, val in before.items()}, title="Base model (before)"),
        ]),
        Section("Plan", [KeyValues({"fingerprint": summary["fingerprint"], **spec})]),
    ]


def write_report(summary: dict[str, Any], path: str | Path) -> Path:
    return build_report(f"Audit: {summary['spec']['reward']} on {summary['spec']['family']}", sections(summary),
                        path, subtitle=summary["verdict"]["text"], provenance=summary.get("provenance"))
