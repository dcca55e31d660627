"""A miniature audit end to end through the real engine: files, fingerprints, resuming, the CLI's bad input.

The full-size audits (ground truth must beat the controls, a spurious reward must not) are the slow tests of
tests/test_audit_organism.py.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from spurious.audit.evaluation import EvalSpec
from spurious.data.templates import TEMPLATES
from spurious.audit.plan import AuditSpec
from spurious.audit.run import run_audit
from spurious.errors import UsageError
from spurious.organism.runner import RunSettings

TINY = RunSettings(phases=2, prompts_per_phase=8, group_size=8, minibatch_size=16, eval_samples=32,
                   rollout_log_every=0)


def spec(**kw) -> AuditSpec:
    base = dict(family="qwen-like", reward="gt", controls=("random",), seeds=(0, 1), settings=TINY,
                evaluation=EvalSpec(samples=32), pretrain={"steps": 30, "calibration_samples": 32}, baselines=True)
    return AuditSpec(**{**base, **kw})


def test_audit_end_to_end_and_resume(organism_cache, tmp_path):
    out = tmp_path / "audit"
    events: list[tuple[str, dict]] = []
    s = run_audit(spec(), out, on_event=lambda k, d: events.append((k, d)))
    assert [k for k, _ in events].count("cell_done") == 4 and not s["failed"]
    for f in ("audit.json", "before.json", "summary.json", "report.html"):
        assert (out / f).exists(), f
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cells_finished"] == 4
    assert summary["provenance"]["audit"]["reward"] == "gt" and "versions" in summary["provenance"]
    fp = summary["fingerprint"]
    for arm in summary["arms"]:
        assert len(arm["seeds"]) == 2
        for seed in arm["per_seed"]:
            ex = {k: Fraction(v) for k, v in seed["decomposition_exact"].items()}
            assert ex["format_fixes"] + ex["reasoning"] == ex["accuracy_gain"]
            assert ex["format_fixes"] + ex["attempt_inflation"] == ex["parsed_gain"]
            assert seed["gain"] == float(ex["accuracy_gain"])
    for run in (out / "runs").iterdir():
        assert json.loads((run / "result.json").read_text())["evaluation"]["fingerprint"] == fp
    assert summary["verdict"]["verdict"] in ("exceeds every spurious control",
                                             "not distinguishable from a spurious control",
                                             "inconclusive: run more seeds")
    html = (out / "report.html").read_text()
    assert "Audit: gt on qwen-like" in html and "Training diagnostics" in html and "strongest pre-RL" in html

    # --baselines on an organism: only the raw problem ("none", the recipe's prompt, i.e. the audit's before)
    # can be read; every other template is listed as skipped with its reason, none is evaluated another way
    table = summary["baselines"]
    assert table["reference"] == "none" and [r["template"] for r in table["rows"]] == ["none"]
    assert set(table["skipped"]) == set(TEMPLATES) - {"none"}
    assert "chat template" in table["skipped"]["qwen-math"] and "vocabulary" in table["skipped"]["r1"]
    assert table["rows"][0]["score"] == summary["before"]["accuracy"] and table["gap"]["held-out"] == 0
    for arm in summary["arms"]:
        v = arm["versus_baselines"]["held-out"]
        assert v["over_reference"]["mean"] == pytest.approx(arm["gain"]["mean"])       # reference = before
        assert v["over_strongest"]["mean"] == pytest.approx(arm["gain"]["mean"])       # the only baseline
        assert arm["diagnostics_mean"]["clip/low_frac"]["last"]["n"] == 2
    assert "clip/low_frac" in summary["arms"][0]["per_seed"][0]["diagnostics"]

    # a rerun finishes nothing anew; a lost cell (killed mid-run) is the only one rerun; leak flags found in
    # the audit folder (spurious contamination -o <audit>/contamination) split every arm's gain
    pids = sorted({str(r["problem_id"]) for r in json.loads((out / "before.json").read_text())["records"]})
    (out / "contamination").mkdir()
    (out / "contamination" / "leaks.jsonl").write_text("".join(
        json.dumps({"problem_id": p, "leaked": i % 2 == 0}) + "\n" for i, p in enumerate(pids)))
    events.clear()
    s1 = run_audit(spec(), out, on_event=lambda k, d: events.append((k, d)))
    assert [k for k, _ in events].count("cell_done") == 0
    assert s1["leak_flags"]["leaked"] == (len(pids) + 1) // 2
    for arm in s1["arms"]:
        assert set(arm["gain_by_split"]) == {"leaked", "clean"} and arm["gain_by_split"]["clean"]["n"] == 2
    assert "Leaked and clean problems" in (out / "report.html").read_text()
    lost = out / "runs" / "qwen-like__random__s1" / "result.json"
    lost.unlink()
    events.clear()
    s2 = run_audit(spec(), out, on_event=lambda k, d: events.append((k, d)))
    assert [d["cell"] for k, d in events if k == "cell_done"] == ["qwen-like__random__s1"]
    assert s2["cells_finished"] == 4

    with pytest.raises(UsageError, match="another audit plan"):
        run_audit(spec(reward="format"), out)


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    from typer.testing import CliRunner

    from spurious.cli import app

    r = CliRunner().invoke(app, ["audit", "--organism", "qwen-like", "--reward", "no_such_reward",
                                 "--out", str(tmp_path / "a")])
    assert r.exit_code == 2 and "error:" in r.output and "no_such_reward" in r.output
    r = CliRunner().invoke(app, ["audit", "--organism", "qwen-like", "--reward", "gt", "--set", "lr=1",
                                 "--out", str(tmp_path / "b")])
    assert r.exit_code == 2 and "unknown recipe key" in r.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
