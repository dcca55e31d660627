"""An audit folder's files, shared by the organism and the model audits.

Layout of ``<out>/``::

    audit.json      the plan (the spec's ``to_dict``) + provenance; a rerun must ask for the same plan
    before.json     the base model's evaluation records (fingerprint + records)
    baselines.json  with --baselines: the base model under every template (spurious.eval.baselines)
    runs/<target>__<arm>__s<seed>/   the engine's run folder + result.json (with the arm's evaluation)
    summary.json    per-arm gains, comparisons, decompositions, behaviour shifts, diagnostics, verdict + provenance
    report.html     the same, for reading

A cell whose ``result.json`` holds an evaluation with the audit's fingerprint is finished and never rerun.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spurious.audit.report import write_report
from spurious.errors import UsageError
from spurious.io import write_json
from spurious.provenance import provenance

PLAN_FILE, BEFORE_FILE, SUMMARY_FILE, REPORT_FILE = "audit.json", "before.json", "summary.json", "report.html"
# keys a plan written before they existed lacks, with the value that plan meant
PLAN_DEFAULTS = {"baselines": False}


def finished(result: dict[str, Any] | None, fingerprint: str) -> bool:
    return bool(result) and result.get("evaluation", {}).get("fingerprint") == fingerprint


def check_plan(out: Path, spec) -> bool:
    """Refuse (UsageError) an ``audit.json`` with another plan; True when ``out`` already holds this plan."""
    plan = out / PLAN_FILE
    if not plan.exists():
        return False
    old = {**PLAN_DEFAULTS, **json.loads(plan.read_text())["spec"]}
    if old != json.loads(json.dumps(spec.to_dict())):
        raise UsageError(f"{plan} holds another audit plan; resume with the same options or use a new --out")
    return True


def write_plan(out: Path, spec) -> None:
    """``audit.json`` for a new audit (a no-op when it exists: :func:`check_plan` has compared it)."""
    if not (out / PLAN_FILE).exists():
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / PLAN_FILE, {"spec": spec.to_dict(), "provenance": provenance(audit=spec.to_dict())})


def cached_before(out: Path, fingerprint: str) -> dict[str, Any] | None:
    """``before.json`` if it was made under ``fingerprint``."""
    path = out / BEFORE_FILE
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("fingerprint") == fingerprint:
            return cached
    return None


def write_outputs(out: Path, summary: dict[str, Any], **facts: Any) -> dict[str, Any]:
    """``summary.json`` (with provenance of the audit and ``facts``) and ``report.html``; returns the summary."""
    summary["provenance"] = provenance(audit=summary["spec"], **facts)
    write_json(out / SUMMARY_FILE, summary)
    write_report(summary, out / REPORT_FILE)
    return summary
