"""The organisms shipped as package data: they load, hash and calibrate as recorded; rebuilds reproduce them."""

import json

import pytest

from spurious.organism.corpus import get_family, split_problems
from spurious.organism.plans import PLANS, get_plan
from spurious.organism.pretrain import (SHIPPED_ROOT, PretrainConfig, load_organism, organism_dir, pretrain,
                                        shipped_dir, weights_sha256)

SHIPPED = sorted(p for p in SHIPPED_ROOT.iterdir() if (p / "organism.json").exists())
# Calibration agreement, absolute, on the sampled code frequency and accuracy (1,024 samples at T=1: one
# standard error is ~0.013). Same machine: identical. Another CPU's float kernels can flip a few sampled tokens.
RECALIBRATION_TOLERANCE = 0.03
# A rebuild on another machine trains different float roundings into different weights: the organism-level
# spread of calibrations seen across machines (0.788 vs 0.803 code, 0.807 vs 0.821 accuracy) plus sampling noise.
REBUILD_TOLERANCE = 0.04


def _info(path):
    return json.loads((path / "organism.json").read_text())


def test_every_plan_family_is_shipped():
    families = {f for name in PLANS for f in get_plan(name).families}
    assert {_info(p)["config"]["family"] for p in SHIPPED} >= families
    for fam in families:
        cfg = PretrainConfig(family=fam)
        assert shipped_dir(cfg) == SHIPPED_ROOT / cfg.key() and organism_dir(cfg) == shipped_dir(cfg)
    assert shipped_dir(PretrainConfig(family="qwen-like", steps=10)) is None  # another configuration: the cache


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_organism_loads_and_hashes_as_recorded(path):
    info = _info(path)
    assert path.name == info["key"] == PretrainConfig(**info["config"]).key()
    assert weights_sha256(path) == info["weights_sha256"]
    org = load_organism(path)
    assert sum(p.numel() for p in org.model.parameters()) == info["parameters"]
    assert (path / "model.safetensors").stat().st_size < 1_000_000


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_organism_calibrates_as_recorded(path):
    from spurious.organism.evaluate import calibration

    info = _info(path)
    cfg = info["config"]
    _, eval_problems = split_problems(cfg["split_seed"], cfg["n_eval"])
    org = load_organism(path)
    cal = calibration(org.model, org.tokenizer, eval_problems, n_samples=cfg["calibration_samples"], seed=cfg["seed"])
    for mode in ("sampled", "greedy"):
        for k in ("code_frequency", "accuracy"):
            assert abs(cal[mode][k] - info["calibration"][mode][k]) <= RECALIBRATION_TOLERANCE, (mode, k)


def test_pretraining_is_bit_reproducible_whatever_the_thread_count(tmp_path):
    import torch

    cfg = PretrainConfig(family="qwen-like", steps=15, calibration_samples=16)
    threads = torch.get_num_threads()
    try:
        a = pretrain(cfg, tmp_path / "a")
        torch.set_num_threads(2)  # pre-training pins one thread: the caller's setting must not matter
        b = pretrain(cfg, tmp_path / "b")
        assert torch.get_num_threads() == 2  # and is restored afterwards
    finally:
        torch.set_num_threads(threads)
    assert weights_sha256(a) == weights_sha256(b) == _info(a)["weights_sha256"] == _info(b)["weights_sha256"]


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("family", ["qwen-like", "bad-code"])
def test_rebuild_calibrates_like_the_shipped_organism(family, tmp_path):
    """``spurious organism pretrain`` from scratch (~3 min each on one core): the rebuild's calibration is within
    REBUILD_TOLERANCE of the shipped one (identical weights on the machine that built the package data)."""
    cfg = PretrainConfig(family=family)
    shipped = shipped_dir(cfg)
    assert shipped is not None
    rebuilt = pretrain(cfg, tmp_path / cfg.key())
    new, old = _info(rebuilt)["calibration"]["sampled"], _info(shipped)["calibration"]["sampled"]
    for k in ("code_frequency", "accuracy"):
        assert abs(new[k] - old[k]) <= REBUILD_TOLERANCE, (k, new[k], old[k])
    exp = get_family(family).expected()
    assert abs(new["code_frequency"] - exp["code_frequency"]) < 0.03
    assert abs(new["accuracy"] - exp["accuracy"]) < 0.08
