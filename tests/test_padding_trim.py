"""Per-micro-batch trimming of padding columns: same losses and statistics as TRL's full-width passes."""

from __future__ import annotations

import pytest
import torch

from spurious.rl.trainer import padding_window


def test_padding_window_on_a_hand_made_batch():
    # prompt width 4 (left-padded), completion width 5 (right-padded)
    mask = torch.tensor([[0, 0, 1, 1, 1, 1, 0, 0, 0],
                         [0, 1, 1, 1, 1, 1, 1, 0, 0],
                         [0, 0, 0, 1, 1, 0, 0, 0, 0]])
    assert padding_window(mask, 5) == (1, 3)  # column 0 is padding everywhere; completions use 3 columns
    assert padding_window(torch.ones(2, 9, dtype=torch.long), 5) == (0, 5)
    none = torch.tensor([[0, 1, 1, 1, 0, 0, 0, 0, 0]])  # masked completion (e.g. truncated and masked)
    assert padding_window(none, 5) == (1, 1)


def test_trimmed_passes_give_the_same_losses_and_statistics(shared_data, tmp_path):
    from spurious.rl import build_config, train

    runs = {}
    for trim in (True, False):
        cfg = build_config("tiny-cpu", ["progress=false", "save_every_phases=0", "save_final=false",
                                        "max_completion_tokens=24", "minibatch_size=4", f"trim_padding={trim}"],
                           output_dir=str(tmp_path), name=f"trim-{trim}", phases=2)
        runs[trim] = train(cfg)
    a, b = runs[True].steps, runs[False].steps
    assert len(a) == len(b) == 8
    for x, y in zip(a, b):
        for k in ("loss", "clip/low_frac", "clip/high_frac", "ratio/mean", "ratio/min", "ratio/max", "pi_bar",
                  "entropy", "grad_norm"):
            assert x[k] == pytest.approx(y[k], rel=1e-4, abs=1e-6), (x["optimizer_step"], k)
        if x["step_in_phase"] == 0:
            assert x["ratio/min"] == x["ratio/max"] == 1.0  # exactly on-policy with trimming too
    assert [p["reward/mean"] for p in runs[True].phases] == [p["reward/mean"] for p in runs[False].phases]
