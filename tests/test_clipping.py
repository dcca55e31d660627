"""Clipping-bias theory (docs/paper.md §8.2-8.4) and the tabular random-reward GRPO simulator."""

import numpy as np
import pytest

from spurious.analysis.clipping import (SimConfig, bias_sign, can_receive_negative_bias, can_receive_positive_bias,
                                        clip_band, group_advantages, phase_drift, plot_regions, run_phase,
                                        simulate_runs, threshold)


def test_threshold_and_band_worked_examples():
    assert threshold(0.2) == pytest.approx(1 / 1.2) == pytest.approx(0.8333, abs=1e-4)
    lo, hi = clip_band(0.85)
    assert lo == pytest.approx(0.68) and hi == 1.0  # 0.85 * 1.2 = 1.02 is capped: never above the band
    lo, hi = clip_band(0.02)
    assert lo == pytest.approx(0.016) and hi == pytest.approx(0.024)
    lo, hi = clip_band(0.5, eps_low=0.1, eps_high=0.3)
    assert (lo, hi) == (pytest.approx(0.45), pytest.approx(0.65))


def test_which_tokens_can_receive_which_bias():
    assert not can_receive_negative_bias(0.85) and not can_receive_negative_bias(0.834)
    assert can_receive_negative_bias(0.83) and can_receive_negative_bias(0.02)
    assert can_receive_positive_bias(0.999) and can_receive_positive_bias(0.02)
    assert not can_receive_positive_bias(0.5, eps_low=1.0)


def test_bias_sign_regions():
    assert bias_sign(0.015, 0.02) == 1    # below 0.016: pushed up
    assert bias_sign(0.02, 0.02) == 0
    assert bias_sign(0.025, 0.02) == -1   # above 0.024: pushed down
    assert bias_sign(1.0, 0.85) == 0      # cannot leave the band upwards


def test_group_advantages_are_zero_mean_unit_std():
    r = np.random.default_rng(0).random((3, 64)) < 0.5
    a = group_advantages(r.astype(float), 16).reshape(3, 4, 16)
    assert np.allclose(a.mean(-1), 0, atol=1e-9)
    mixed = r.reshape(3, 4, 16).std(-1) > 0
    assert np.allclose(a.std(-1, ddof=1)[mixed], 1, atol=1e-3)
    assert np.all(group_advantages(np.ones((1, 16)), 16) == 0)


def test_on_policy_never_clips_and_one_step_is_taken():
    th = np.zeros((5, 1))
    _, clip = run_phase(th, SimConfig(p0=0.5, mode="on-policy"), np.random.default_rng(0))
    assert np.all(clip == 0)
    with pytest.raises(ValueError):
        SimConfig(mode="nope")
    with pytest.raises(ValueError):
        SimConfig(minibatches=7)


def test_clip_drifts_toward_the_majority_and_controls_do_not():
    """The tabular model's qualitative result: drift toward the majority with the clip, ~0 without / on-policy / at 0.5."""
    reps = 1500
    up = phase_drift(SimConfig(p0=0.9, mode="clip"), reps, seed=1)
    down = phase_drift(SimConfig(p0=0.1, mode="clip"), reps, seed=2)
    half = phase_drift(SimConfig(p0=0.5, mode="clip"), reps, seed=3)
    assert up["drift"] > 4 * up["se"] and up["drift_p"] > 0
    assert down["drift"] < -4 * down["se"]
    assert abs(half["drift"]) < 3.5 * half["se"]
    assert up["clip_frac"] > 0
    for mode in ("no-clip", "on-policy"):
        d = phase_drift(SimConfig(p0=0.9, mode=mode), reps, seed=4)
        assert abs(d["drift"]) < 3.5 * d["se"], (mode, d)
        assert d["clip_frac"] == 0
    # noise dominates one phase: the per-phase drift is a small fraction of the spread
    assert up["drift"] < 0.5 * up["noise"]


def test_whole_runs_end_on_the_majority_side_with_the_clip():
    clip = simulate_runs(SimConfig(p0=0.9, mode="clip"), phases=30, runs=60, seed=0)
    onp = simulate_runs(SimConfig(p0=0.9, mode="on-policy"), phases=30, runs=60, seed=0)
    assert clip["frac_up"] > 0.8 and clip["mean_p_end"] > 0.93
    assert abs(onp["mean_p_end"] - 0.9) < 0.02


def test_region_plot_is_written(tmp_path):
    p = plot_regions(tmp_path / "r.png", 0.2)
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
