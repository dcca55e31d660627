"""Mechanism diagnostics (spurious.rl.stats.diagnostic_*) on a hand-made micro-batch, values worked by hand.

The batch: 2 sequences, 3 token slots, the last slot of sequence 1 is padding; eps 0.2 (thr = 1/1.2).

    token   pi_old  ratio  A    bucket     clipped   entropy
    (0,0)   0.05    1.5    +1   p<0.1      high      2.0
    (0,1)   0.30    1.1    +1   p0.1-0.5   -         0.5
    (0,2)   0.90    1.0    +1   p>thr      -         0.1
    (1,0)   0.60    0.7    -1   p0.5-thr   low       1.0
    (1,1)   0.05    0.9    -1   p<0.1      -         3.0
"""

import math

import pytest
import torch

from spurious.rl.loss import policy_loss
from spurious.rl.stats import DIAGNOSTIC_PREFIXES, StepStats, token_stats

LN = math.log
P_OLD = [[0.05, 0.30, 0.90], [0.60, 0.05, 0.50]]
RATIO = [[1.5, 1.1, 1.0], [0.7, 0.9, 0.5]]
MASK = [[1, 1, 1], [1, 1, 0]]
ENT = [[2.0, 0.5, 0.1], [1.0, 3.0, 9.9]]


def batch():
    old = torch.tensor(P_OLD, dtype=torch.float64).log()
    new = old + torch.tensor(RATIO, dtype=torch.float64).log()
    return new, old, torch.tensor([1.0, -1.0]), torch.tensor(MASK), torch.tensor(ENT)


def metrics(rows=slice(None), entropies=True):
    new, old, adv, mask, ent = batch()
    return token_stats(new[rows], old[rows], adv[rows], mask[rows], eps_low=0.2, eps_high=0.2,
                       entropies=ent[rows] if entropies else None)


def test_signed_log_pi_change_per_bucket_split_by_clip_side():
    m = metrics().metrics()
    assert m["clip/low_frac"] == pytest.approx(1 / 5) and m["clip/high_frac"] == pytest.approx(1 / 5)
    # p<0.1: tokens (0,0) [high-clipped, +ln 1.5] and (1,1) [unclipped, ln 0.9]
    assert m["dlogp/p<0.1"] == pytest.approx((LN(1.5) + LN(0.9)) / 2)
    assert m["dlogp/p<0.1/high_clip"] == pytest.approx(LN(1.5) / 2)
    assert m["dlogp/p<0.1/low_clip"] == 0.0
    assert m["dlogp/p0.1-0.5"] == pytest.approx(LN(1.1))
    assert m["dlogp/p0.1-0.5/low_clip"] == m["dlogp/p0.1-0.5/high_clip"] == 0.0
    assert m["dlogp/p0.5-thr"] == pytest.approx(LN(0.7)) == pytest.approx(m["dlogp/p0.5-thr/low_clip"])
    assert m["dlogp/p>thr"] == 0.0
    assert m["dlogp/all"] == pytest.approx((LN(1.5) + LN(1.1) + LN(0.7) + LN(0.9)) / 5, rel=1e-5)  # float32 sums


def test_covariance_and_entropy_attribution_by_hand():
    m = metrics().metrics()
    # x = log pi_old = ln[.05, .3, .9, .6, .05] = [-2.995732, -1.203973, -0.105361, -0.510826, -2.995732]
    # mean x = -7.811624 / 5 = -1.5623248; A = [1, 1, 1, -1, -1], mean A = 0.2
    # mean xA = (-2.995732 - 1.203973 - 0.105361 + 0.510826 + 2.995732) / 5 = -0.1597016
    assert m["cov/logp_old_adv"] == pytest.approx(-0.1597016 + 1.5623248 * 0.2, abs=1e-6)  # 0.15276336
    # high-clipped token (0,0): (x - mx)(A - mA) / N = (-2.995732 + 1.5623248)(1 - 0.2) / 5
    assert m["entropy_attr/high_clip"] == pytest.approx(-1.4334072 * 0.8 / 5, abs=1e-6)  # clip-high lowers H
    # low-clipped token (1,0): (-0.510826 + 1.5623248)(-1 - 0.2) / 5
    assert m["entropy_attr/low_clip"] == pytest.approx(1.0514988 * -1.2 / 5, abs=1e-6)
    assert m["adv/pos_frac"] == pytest.approx(3 / 5) and m["adv/neg_frac"] == pytest.approx(2 / 5)
    assert m["adv/mean"] == pytest.approx(0.2)


def test_entropy_buckets_top20_vs_rest():
    m = metrics().metrics()
    # masked entropies sorted [0.1, 0.5, 1.0, 2.0, 3.0]: 0.8 quantile = 2.0 + 0.2 * (3.0 - 2.0) = 2.2 -> only (1,1)
    assert m["fork/tokens_frac/top20"] == pytest.approx(1 / 5)
    assert m["fork/clip_low_frac/top20"] == 0.0 and m["fork/clip_high_frac/top20"] == 0.0
    assert m["fork/dlogp/top20"] == pytest.approx(LN(0.9))
    assert m["fork/clip_low_frac/rest"] == pytest.approx(1 / 4) == m["fork/clip_high_frac/rest"]
    assert m["fork/dlogp/rest"] == pytest.approx((LN(1.5) + LN(1.1) + LN(0.7)) / 4)
    assert not any(k.startswith("fork/") for k in metrics(entropies=False).metrics())


def test_sums_merge_exactly_over_micro_batches():
    whole = metrics(entropies=False).metrics()
    merged = metrics(slice(0, 1), entropies=False).merge(metrics(slice(1, 2), entropies=False)).metrics()
    for k in ("cov/logp_old_adv", "entropy_attr/low_clip", "entropy_attr/high_clip", "dlogp/p<0.1",
              "dlogp/p<0.1/high_clip", "adv/pos_frac", "dlogp/all"):
        assert merged[k] == pytest.approx(whole[k]), k


def test_every_diagnostic_key_has_a_phase_prefix_and_an_empty_batch_is_safe():
    m = metrics().metrics()
    diag = [k for k in m if k.startswith(DIAGNOSTIC_PREFIXES)]
    assert len(diag) >= 20
    new, old, adv, mask, ent = batch()
    empty = token_stats(new, old, adv, torch.zeros_like(mask), eps_low=0.2, eps_high=0.2, entropies=ent)
    assert set(empty.sums) == set(metrics().sums)  # same keys whatever the mask (the ranks' collectives)
    assert not any(k.startswith(DIAGNOSTIC_PREFIXES) for k in empty.metrics())
    assert StepStats().metrics()["tokens"] == 0.0


def test_policy_loss_carries_the_diagnostics():
    new, old, adv, mask, ent = batch()
    _, st = policy_loss(new.float(), old.float(), adv, mask, entropies=ent)
    assert st.metrics()["cov/logp_old_adv"] == pytest.approx(0.15276336, abs=1e-5)
