"""The README's walk-through (examples/one_sample.py) must keep running and mean what it says."""

import importlib.util
from pathlib import Path

import pytest


def test_one_sample_walkthrough(shared_data):
    path = Path(__file__).resolve().parents[1] / "examples" / "one_sample.py"
    spec = importlib.util.spec_from_file_location("one_sample", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main()
    assert out["reward_gt"][0] == 1.0 and out["reward_gt"][1:] == [0.0, 0.0, 0.0]
    assert set(out["reward_random"]) <= {0.0, 1.0}
    assert sum(out["advantages"]) == pytest.approx(0.0, abs=1e-5)
    assert out["avg@4"] == 0.25 and out["pass@2"] == pytest.approx(0.5)
    assert 0.0 <= out["clip/low_frac"] <= 1.0 and 0.0 < out["pi_bar"] < 1.0
