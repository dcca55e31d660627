"""Curves from metrics.jsonl, seed bands, training-curve and gain-bar PNGs, input loading errors."""

from __future__ import annotations

import json
import math

import pytest

from spurious.analysis.bars import BarEntry, gain_rows, plot_gain_bars
from spurious.analysis.curves import clip_bucket_keys, extract_curve, numeric_keys, seed_band, step_key_for
from spurious.analysis.loading import RunLog, detect_kind, load_eval, load_run
from spurious.analysis.plots import plot_quantity, plot_runs
from spurious.analysis.stats import mean_ci
from spurious.io import InputError

PNG = b"\x89PNG\r\n\x1a\n"


def run(name, rows, group=None):
    return RunLog(name=name, path=None, rows=rows, group=group)


def test_extract_curve_averages_per_step_and_picks_step_key():
    rows = [{"phase": 0, "optimizer_step": 0, "reward/mean": 0.2, "pi_bar": 0.8},
            {"phase": 0, "optimizer_step": 1, "reward/mean": 0.4, "pi_bar": 0.9},
            {"phase": 1, "optimizer_step": 2, "reward/mean": 0.6, "entropy": "n/a"}]
    r = run("a", rows)
    assert step_key_for("reward/mean", r) == "phase" and step_key_for("pi_bar", r) == "optimizer_step"
    reward = extract_curve(r, "reward/mean")
    assert reward.steps == [0.0, 1.0] and reward.values == pytest.approx([0.3, 0.6])
    assert extract_curve(r, "pi_bar").steps == [0.0, 1.0]
    assert extract_curve(r, "entropy") is None  # non-numeric values are not a curve
    assert extract_curve(r, "missing") is None
    assert numeric_keys(r) == ["pi_bar", "reward/mean"]
    no_steps = extract_curve(run("b", [{"loss": 1.0}, {"loss": 3.0}]), "loss")
    assert no_steps.step_key == "line" and no_steps.steps == [0.0, 1.0]


def test_seed_band_is_mean_ci_of_smoothed_seed_curves():
    curves = [extract_curve(run(f"s{i}", [{"phase": p, "accuracy": v} for p, v in enumerate(vals)]), "accuracy")
              for i, vals in enumerate([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6], [0.3, 0.2, 0.7, 0.9]])]
    band = seed_band(curves, "arm", window=2)
    assert band.steps == [0.0, 1.0, 2.0] and band.n == 3  # only shared steps
    # step 2 with window 2: seed means (0.4, 0.5, 0.45)
    ci = mean_ci([0.4, 0.5, 0.45])
    assert band.mean[2] == pytest.approx(ci.mean) and band.low[2] == pytest.approx(ci.low)
    assert band.mean_raw[2] == pytest.approx((0.5 + 0.6 + 0.7) / 3)
    with pytest.raises(ValueError):
        seed_band([], "x")


def _rows(n, slope, seed=0):
    return [{"phase": p, "optimizer_step": p, "accuracy": 0.4 + slope * p + 0.01 * ((p * 7 + seed) % 3),
             "clip/low_frac": 0.02, "clip/high_frac": 0.01, "clip/high_frac/pi_old<=0.833": 0.02,
             "pi_bar": 0.85 + slope * p, "eval/math500/accuracy": 0.5 + slope * p} for p in range(n)]


def test_plot_runs_writes_pngs_and_lists_skipped(tmp_path):
    runs = [run("clip-seed0", _rows(12, 0.01, 0), "clip"), run("clip-seed1", _rows(12, 0.012, 1), "clip"),
            run("noclip", _rows(12, 0.0))]
    res = plot_runs(runs, tmp_path)
    for name in ("accuracy", "clip_fraction", "clip_fraction_by_bucket", "pi_bar", "eval_math500_accuracy"):
        assert res.figures[name].read_bytes().startswith(PNG)
        assert res.figures[name].stat().st_size > 5_000
    assert "entropy" in res.skipped and "entropy" in res.skipped["entropy"]
    assert not (tmp_path / "entropy.png").exists()
    assert clip_bucket_keys(runs) == ["clip/high_frac/pi_old<=0.833"]
    assert plot_quantity(runs, ["nothing"], "t", "y", tmp_path / "none.png") is None


def test_gain_bars(tmp_path):
    entries = [BarEntry("Qwen2.5-Math-7B", "GT", 49.4, 78.5, 1.2), BarEntry("Qwen2.5-Math-7B", "random", 49.4, 70.8),
               BarEntry("OLMo-2-7B", "GT", 9.0, 24.5)]
    png = plot_gain_bars(entries, tmp_path / "bars.png")
    assert png.read_bytes().startswith(PNG)
    rows = gain_rows(entries)
    assert rows[0]["gain"] == pytest.approx(29.1) and rows[1]["±"] is None
    with pytest.raises(ValueError, match="two base values"):
        plot_gain_bars([BarEntry("m", "a", 1.0, 2.0), BarEntry("m", "b", 1.5, 2.0)], tmp_path / "x.png")
    with pytest.raises(ValueError):
        plot_gain_bars([], tmp_path / "x.png")


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" if isinstance(x, dict) else x for x in lines))


def test_load_eval_computes_missing_code_flags_and_names_bad_lines(tmp_path):
    good = tmp_path / "ev"
    _write(good / "samples.jsonl", [
        {"benchmark": "math500", "problem_id": 7, "correct": True, "response": "Use Python: ```py\nx\n```"},
        {"benchmark": "math500", "problem_id": "8", "correct": False, "response": "words", "code": True,
         "code_fenced": False}])
    ev = load_eval(good)
    assert (ev.samples[0].code, ev.samples[0].code_fenced) == (True, True) and ev.samples[0].problem_id == "7"
    assert (ev.samples[1].code, ev.samples[1].code_fenced) == (True, False)  # given flags win
    assert ev.summary == {} and ev.provenance == {}

    bad = tmp_path / "bad"
    _write(bad / "samples.jsonl", [{"benchmark": "math500", "problem_id": 1, "correct": True, "response": "x"},
                                   {"benchmark": "math500", "problem_id": 2, "correct": "yes", "response": "x"}])
    with pytest.raises(InputError, match=r"samples.jsonl:2: field 'correct'"):
        load_eval(bad)
    _write(bad / "samples.jsonl", [{"benchmark": "math500", "problem_id": 1, "correct": True}])
    with pytest.raises(InputError, match=r"samples.jsonl:1: field 'response'"):
        load_eval(bad)
    _write(bad / "samples.jsonl", [{"benchmark": "math500", "problem_id": 1, "correct": True, "code": 1}])
    with pytest.raises(InputError, match=r"field 'code'"):
        load_eval(bad)


def test_detect_kind_and_load_run(tmp_path):
    r = tmp_path / "r"
    _write(r / "metrics.jsonl", [{"phase": 0, "loss": math.pi}])
    (r / "config.json").write_text('{"group": "arm", "seed": 1}')
    assert detect_kind(r) == "run"
    assert load_run(r).config == {"group": "arm", "seed": 1}
    with pytest.raises(InputError, match="neither a training run"):
        detect_kind(tmp_path)
    with pytest.raises(InputError, match="folder not found"):
        detect_kind(tmp_path / "nope")
    (r / "eval").mkdir()
    (r / "eval" / "curve.json").write_text('{"steps": [0]}')
    with pytest.raises(InputError, match=r"curve.json: field 'curves': missing"):
        load_run(r)
    (r / "eval" / "curve.json").unlink()
    _write(r / "metrics.jsonl", ["{not json\n"])
    with pytest.raises(InputError, match=r"metrics.jsonl:1: invalid JSON"):
        load_run(r)


def test_step_and_phase_lines_are_not_mixed():
    """The engine's phase lines repeat per-phase means of step metrics at the phase's last optimizer step."""
    rows = [{"kind": "step", "phase": 0, "optimizer_step": 1, "clip/low_frac": 0.0},
            {"kind": "step", "phase": 0, "optimizer_step": 2, "clip/low_frac": 0.4},
            {"kind": "phase", "phase": 0, "optimizer_step": 2, "clip/low_frac": 0.2, "clip/low_frac/off_policy": 0.4,
             "clip/low_frac/p>thr": 0.0, "accuracy": 0.5},
            {"kind": "step", "phase": 1, "optimizer_step": 3, "clip/low_frac": 0.1, "accuracy": 0.9}]
    r = run("engine", rows)
    clip = extract_curve(r, "clip/low_frac")
    assert clip.steps == [1.0, 2.0, 3.0] and clip.values == [0.0, 0.4, 0.1]
    acc = extract_curve(r, "accuracy")  # phase lines hold it: the step line's value is ignored
    assert acc.step_key == "phase" and acc.steps == [0.0] and acc.values == [0.5]
    assert extract_curve(r, "clip/low_frac/off_policy").values == [0.4]
    assert clip_bucket_keys([r]) == ["clip/low_frac/p>thr"]


def test_group_without_shared_steps_is_drawn_seed_by_seed(tmp_path):
    runs = [run("a-seed0", [{"phase": 0, "accuracy": 0.1}, {"phase": 1, "accuracy": 0.2}], "a"),
            run("a-seed1", [{"phase": 5, "accuracy": 0.3}, {"phase": 6, "accuracy": 0.4}], "a")]
    png = plot_quantity(runs, ["accuracy"], "t", "acc", tmp_path / "acc.png")
    assert png is not None and png.read_bytes().startswith(PNG)
