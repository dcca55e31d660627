"""What commands write and show: strict JSON (no NaN), tables whole off a terminal, honest help, report parts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spurious.cli import app


def _strict(text: str):
    """json.loads that rejects the non-JSON tokens NaN / Infinity."""
    def reject(token):
        raise ValueError(f"non-JSON token {token}")
    return json.loads(text, parse_constant=reject)


def test_eval_summary_json_has_no_bare_nan(tmp_path):
    from spurious.eval.backends import ScriptedBackend
    from spurious.eval.runner import evaluate

    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"id": "q1", "problem": "Q1?", "answer": "5"}) + "\n")
    # no response uses code: accuracy_with_code is a rate over nothing (NaN in memory)
    res = evaluate(ScriptedBackend(lambda prompt, seed: "\\boxed{5}"), [str(bench)], template="none",
                   out_dir=tmp_path / "out", show=False, model_name="scripted")
    summary = _strict((tmp_path / "out" / "summary.json").read_text())
    assert summary["benchmarks"][str(bench)]["accuracy_with_code"] is None
    assert res["benchmarks"][str(bench)]["accuracy_with_code"] is None  # returned as written


def test_finite_json_replaces_nan_and_infinity_everywhere():
    from spurious.io import finite_json

    assert finite_json({"a": [1.0, math.nan, {"b": math.inf}], "c": (2, -math.inf), "d": "NaN"}) == \
        {"a": [1.0, None, {"b": None}], "c": [2, None], "d": "NaN"}


def test_tables_are_not_cut_at_80_columns_off_a_terminal():
    r = CliRunner().invoke(app, ["organism", "families"])
    assert r.exit_code == 0
    # each family's description stays on its own row instead of being folded into a narrow column
    assert any("majority style (code, 80%) is the accurate one" in line for line in r.stdout.splitlines())


def test_wide_console_off_a_terminal():
    from spurious.console import PIPE_WIDTH, wide_console

    assert wide_console().width == PIPE_WIDTH  # pytest captures stdout: not a terminal


def test_grade_help_names_the_summary_file():
    r = CliRunner().invoke(app, ["grade", "--help"], env={"COLUMNS": "200"})
    assert "out.jsonl -> out.summary.json" in " ".join(r.stdout.split())


def test_tiny_names_are_checked():
    from spurious.errors import UsageError
    from spurious.models import parse_tiny_name

    assert parse_tiny_name("tiny:100K:seed=3") == ("100K", {"seed": 3})
    for bad in ("tiny:NOPE", "tiny:1M:seed=x", "tiny:1M:hidden=3"):
        with pytest.raises(UsageError):
            parse_tiny_name(bad)


# ---------------------------------------------------------------- analysis report parts

def test_percent_axis_never_runs_past_100_and_zero_reads_as_percent():
    from spurious.analysis.bars import value_axis_top

    assert value_axis_top(95.0) == 100.0  # 95 * 1.15 would be 109 %
    assert value_axis_top(40.0) == pytest.approx(46.0)
    assert value_axis_top(0.0) == 10.0  # an all-zero chart still reads in percent, not 0-1
    assert value_axis_top(0.5, limit=None) == pytest.approx(0.575)


def test_figures_count_phases_from_one_with_integer_ticks(tmp_path):
    from matplotlib.ticker import MaxNLocator

    from spurious.analysis import plots
    from spurious.analysis.loading import RunLog

    rows = [{"kind": "phase", "phase": p, "optimizer_step": p, "accuracy": 0.1 * p, "entropy": 2.302585 + 1e-7 * p}
            for p in range(3)]
    run = RunLog(name="r", path=tmp_path, rows=rows)
    seen = {}
    real_savefig = plots.Figure.savefig

    def capture(fig, *a, **k):
        ax = fig.axes[0]
        seen[ax.get_title()] = (ax.get_xlabel(), [line.get_xdata().tolist() for line in ax.lines],
                                isinstance(ax.xaxis.get_major_locator(), MaxNLocator),
                                ax.yaxis.get_major_formatter().get_useOffset())
        return real_savefig(fig, *a, **k)

    plots.Figure.savefig = capture
    try:
        plots.plot_runs([run], tmp_path / "fig")
    finally:
        plots.Figure.savefig = real_savefig
    xlabel, xs, integer_ticks, offset = seen["Rollout accuracy (ground-truth grader)"]
    assert xlabel == "rollout phase (1 = first)" and xs[0] == [1.0, 2.0, 3.0] and integer_ticks
    assert seen["Token entropy"][3] is False  # plain values, no "+2.3026" offset


def test_summary_table_shows_rates_in_percent_with_short_columns():
    from spurious.analysis.loading import EvalResult
    from spurious.analysis.pipeline import summary_rows

    ev = EvalResult("e", Path("."), [], {"benchmarks": {"math500": {
        "headline": "pass@1", "n_problems": 500, "samples": 1, "avg_at_k": 0.5, "pass_at_k_unbiased": 0.25,
        "code_frequency": None, "mean_length": 312.0, "grading_status": {"ok": 3}}}})
    assert summary_rows([ev]) == [{"eval": "e", "benchmark": "math500", "headline": "pass@1", "problems": 500,
                                   "k": 1, "score %": 50.0, "pass@k unbiased %": 25.0, "code %": None,
                                   "mean length": 312.0}]


def _eval_folder(d: Path, correct: list[bool]) -> Path:
    d.mkdir(parents=True)
    (d / "samples.jsonl").write_text("".join(json.dumps(
        {"benchmark": "math500", "problem_id": f"p{i}", "sample_index": 0, "response": "x", "correct": c}) + "\n"
        for i, c in enumerate(correct)))
    return d


def test_analyze_accepts_the_folder_eval_run_writes(tmp_path):
    evald = tmp_path / "myrun" / "eval"
    _eval_folder(evald / "step-0", [False, False, True, True])
    _eval_folder(evald / "step-8", [True, False, True, True])
    (evald / "curve.json").write_text(json.dumps({"steps": [0, 8], "curves": {}}))
    r = CliRunner().invoke(app, ["analyze", str(evald), "-o", str(tmp_path / "an")])
    assert r.exit_code == 0, r.output
    gains = _strict((tmp_path / "an" / "tables" / "gains.json").read_text())["rows"]
    assert [(g["reward"], g["base"], g["final"]) for g in gains] == [("myrun@8", 50.0, 75.0)]
    assert "baseline: myrun@0" in r.stderr


# ---------------------------------------------------------------- demo report parts

def test_clip_table_token_shares_come_from_step_rows(tmp_path):
    from spurious.organism.report import _phase_means

    rows = [{"kind": "step", "tokens_frac/p<0.1": 0.2, "clip/low_frac": 0.9},
            {"kind": "step", "tokens_frac/p<0.1": 0.4, "clip/low_frac": 0.9},
            {"kind": "phase", "clip/low_frac": 0.1}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    means = _phase_means(tmp_path, ["tokens_frac/p<0.1", "clip/low_frac", "absent"])
    assert means == {"tokens_frac/p<0.1": pytest.approx(0.3), "clip/low_frac": 0.1, "absent": None}


def test_a_missing_preset_file_says_file_not_found(tmp_path):
    from spurious.errors import SpuriousError
    from spurious.rl.config import ConfigError, preset_path

    with pytest.raises(ConfigError, match=r"\./missing\.yaml: file not found"):
        preset_path("./missing.yaml")
    with pytest.raises(ConfigError, match="file not found"):
        preset_path(str(tmp_path / "sub" / "p.yml"))
    with pytest.raises(ConfigError, match="unknown preset 'nosuch'"):
        preset_path("nosuch")
    assert issubclass(ConfigError, SpuriousError)
    (tmp_path / "p.yaml").write_text("seed: 1\n")
    assert preset_path(str(tmp_path / "p.yaml")) == tmp_path / "p.yaml"
