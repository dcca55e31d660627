"""The pure GRPO math: advantages, surrogates, aggregations, instrumentation; equality with TRL 1.16."""

from __future__ import annotations

import math
from collections import defaultdict
from types import SimpleNamespace

import pytest
import torch

from spurious.rl.advantages import compute_advantages, group_advantages, whiten_token_weighted
from spurious.rl.loss import aggregate, kl_penalty, per_token_surrogate, policy_loss
from spurious.rl.stats import BUCKETS, token_stats

# ----------------------------------------------------------------------------- advantages


def test_group_zscore_by_hand():
    r = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    a = group_advantages(r, 4, eps=0.0)
    std = math.sqrt(((0.75) ** 2 + 3 * 0.25 ** 2) / 3)  # unbiased
    assert a[0].item() == pytest.approx(0.75 / std)
    assert a[1].item() == pytest.approx(-0.25 / std)
    assert torch.equal(a[4:], torch.zeros(4))  # std 0 -> 0
    pop = group_advantages(r, 4, unbiased=False, eps=0.0)
    assert pop[0].item() == pytest.approx(0.75 / math.sqrt(0.1875))


def test_scales_none_and_batch():
    r = torch.tensor([1.0, 0.0, 2.0, 2.0])
    assert torch.allclose(group_advantages(r, 2, scale="none"), torch.tensor([0.5, -0.5, 0.0, 0.0]))
    b = group_advantages(r, 2, scale="batch", eps=0.0)
    assert b[0].item() == pytest.approx(0.5 / r.std().item())
    with pytest.raises(ValueError, match="scale"):
        group_advantages(r, 2, scale="global")
    with pytest.raises(ValueError, match="group_size"):
        group_advantages(r, 3)


def test_official_whitening_gives_zero_variance_groups_nonzero_advantage():
    r = torch.tensor([1.0, 0.0, 1.0, 1.0])  # group 2 has std 0
    lengths = torch.tensor([10, 2, 5, 5])
    a = compute_advantages(r, 2, mode="official", lengths=lengths)
    z = group_advantages(r, 2, eps=1e-9, clamp=10.0)
    w = lengths.float()
    m = (w * z).sum() / w.sum()
    s = ((w * (z - m) ** 2).sum() / w.sum()).sqrt()
    assert torch.allclose(a, (z - m) / s)
    assert a[2].item() == pytest.approx(-m.item() / s.item()) and a[2].item() != 0
    assert torch.allclose(whiten_token_weighted(torch.zeros(3), torch.ones(3)), torch.zeros(3))


def test_advantages_match_trl_scaling():
    """TRL 1.16: (r - mean_g) / (nanstd_g + 1e-4), nanstd with Bessel's correction."""
    from trl.trainer.utils import nanstd

    g = torch.Generator().manual_seed(0)
    r = torch.randint(0, 2, (8 * 16,), generator=g).float()
    grouped = r.view(-1, 16)
    trl_adv = (grouped - grouped.mean(1, keepdim=True)) / (nanstd(grouped, dim=1).unsqueeze(1) + 1e-4)
    assert torch.allclose(group_advantages(r, 16, eps=1e-4), trl_adv.view(-1), atol=1e-6)


# ----------------------------------------------------------------------------- surrogates & aggregation


def _leaf(x):
    t = x.detach().clone() if isinstance(x, torch.Tensor) else torch.tensor(x)
    return t.to(torch.float64).requires_grad_(True)


def test_clip_surrogate_cases_and_gradients():
    """docs/paper.md §8.2: the gradient vanishes exactly on (A>0, R>1+e) and (A<0, R<1-e)."""
    old = torch.zeros(1, 4, dtype=torch.float64)
    ratios = torch.tensor([[0.5, 1.0, 1.5, 0.5]], dtype=torch.float64)
    logp = _leaf(ratios.log())
    adv = torch.tensor([[1.0, 1.0, 1.0, -1.0]], dtype=torch.float64)
    loss = per_token_surrogate(logp, old, adv, eps_low=0.2, eps_high=0.2).sum()
    loss.backward()
    # d(-R A)/dlogp = -R A where not clipped
    assert torch.allclose(logp.grad, torch.tensor([[-0.5, -1.0, 0.0, 0.0]], dtype=torch.float64))
    # no-clip keeps every gradient; official-no-old-logprob weights by pi_theta itself
    logp2 = _leaf(ratios.log())
    per_token_surrogate(logp2, old, adv, surrogate="no-clip").sum().backward()
    assert torch.allclose(logp2.grad, -(ratios * adv))
    logp3 = _leaf([[math.log(0.2), math.log(0.9)]])
    per_token_surrogate(logp3, torch.zeros(1, 2), torch.tensor([2.0]), surrogate="official-no-old-logprob"
                        ).sum().backward()
    assert torch.allclose(logp3.grad, torch.tensor([[-0.4, -1.8]], dtype=torch.float64))


def test_separate_eps_low_high():
    old = torch.zeros(1, 2)
    logp = torch.log(torch.tensor([[0.75, 1.25]]))
    adv = torch.tensor([[-1.0, 1.0]])
    v = per_token_surrogate(logp, old, adv, eps_low=0.2, eps_high=0.28)
    assert torch.allclose(v, torch.tensor([[0.8, -1.25]]))


def test_aggregations_by_hand():
    per = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0], [1.0, 1.0, 0.0], [6.0, 6.0, 6.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0], [1, 1, 1]])
    assert aggregate(per, mask, "token-mean").item() == pytest.approx((6 + 4 + 2 + 18) / 9)
    assert aggregate(per, mask, "seq-mean-token-mean").item() == pytest.approx((2 + 4 + 1 + 6) / 4)
    assert aggregate(per, mask, "dr-grpo", max_completion_length=5).item() == pytest.approx(30 / 20)
    assert aggregate(per, mask, "official", micro_batch_size=2).item() == pytest.approx(((10 / 4) + (20 / 5)) / 2)
    assert aggregate(per, mask, "official", micro_batch_size=4).item() == pytest.approx(30 / 9)
    assert aggregate(per, mask, "token-mean", token_normalizer=18).item() == pytest.approx(30 / 18)
    with pytest.raises(ValueError, match="max_completion_length"):
        aggregate(per, mask, "dr-grpo")
    with pytest.raises(ValueError, match="aggregation"):
        aggregate(per, mask, "sum")


def test_kl_estimators():
    lp, ref = torch.tensor([-1.0]), torch.tensor([-1.5])
    assert kl_penalty(lp, ref, "k1").item() == pytest.approx(0.5)
    assert kl_penalty(lp, ref, "k3").item() == pytest.approx(math.exp(-0.5) + 0.5 - 1)
    assert kl_penalty(lp, lp, "k3").item() == 0.0


# ----------------------------------------------------------------------------- instrumentation


def test_token_stats_by_hand():
    # pi_old per token; current ratio per token; advantage per sequence
    p_old = torch.tensor([[0.05, 0.3, 0.9], [0.6, 0.05, 0.95]])
    ratio = torch.tensor([[0.7, 1.3, 1.05], [0.7, 1.5, 1.0]])
    old = p_old.log()
    logp = (p_old * ratio).log()
    adv = torch.tensor([1.0, -1.0])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    m = token_stats(logp, old, adv, mask, eps_low=0.2, eps_high=0.2,
                    entropies=torch.full((2, 3), 2.0)).metrics()
    # seq 0 (A>0): high-clipped where ratio>1.2 -> token 1 (p_old 0.3). seq 1 (A<0): low-clipped ratio<0.8 -> token 0
    assert m["clip/high_frac"] == pytest.approx(1 / 5)
    assert m["clip/low_frac"] == pytest.approx(1 / 5)
    assert m["clip/high_frac/p0.1-0.5"] == pytest.approx(1.0)
    assert m["clip/low_frac/p0.5-thr"] == pytest.approx(1.0)  # p_old 0.6
    assert m["clip/low_frac/p<0.1"] == 0.0 and m["clip/high_frac/p>thr"] == 0.0
    assert m["ratio/min"] == pytest.approx(0.7) and m["ratio/max"] == pytest.approx(1.5)
    assert m["ratio/mean"] == pytest.approx((0.7 + 1.3 + 1.05 + 0.7 + 1.5) / 5)
    pi = ((0.035 + 0.39 + 0.945) / 3 + (0.42 + 0.075) / 2) / 2
    assert m["pi_bar"] == pytest.approx(pi)
    assert m["entropy"] == pytest.approx(2.0)
    assert set(f"clip/low_frac/{b}" for b in BUCKETS) <= set(m)


def test_stats_merge_equals_whole_batch():
    g = torch.Generator().manual_seed(1)
    old = -torch.rand(6, 5, generator=g) * 3
    logp = old + torch.randn(6, 5, generator=g) * 0.3
    adv = torch.randn(6, generator=g)
    mask = (torch.rand(6, 5, generator=g) > 0.2).long()
    whole = token_stats(logp, old, adv, mask, eps_low=0.2, eps_high=0.2).metrics()
    a = token_stats(logp[:2], old[:2], adv[:2], mask[:2], eps_low=0.2, eps_high=0.2)
    a.merge(token_stats(logp[2:], old[2:], adv[2:], mask[2:], eps_low=0.2, eps_high=0.2))
    for k, v in whole.items():
        assert a.metrics()[k] == pytest.approx(v), k


def test_on_policy_step_clips_nothing():
    g = torch.Generator().manual_seed(2)
    logp = -torch.rand(8, 6, generator=g) * 4
    loss, st = policy_loss(logp, logp.detach(), torch.randn(8, generator=g), torch.ones(8, 6))
    m = st.metrics()
    assert m["clip/low_frac"] == 0.0 and m["clip/high_frac"] == 0.0 and m["ratio/min"] == m["ratio/max"] == 1.0


# ----------------------------------------------------------------------------- equality with TRL 1.16


def _trl_loss(loss_type, logps_leaf, old, adv, mask, *, eps_low, eps_high, max_completion_length,
              beta=0.0, ref=None, level="token"):
    """Run TRL's own GRPOTrainer._compute_loss on a minimal fake trainer that returns our log-probs."""
    from trl import GRPOTrainer

    class _Acc:
        num_processes = 1

        def reduce(self, t, reduction="sum"):
            return t

        def gather(self, t):
            return t

        def gather_for_metrics(self, t):
            return t

    fake = SimpleNamespace(
        top_entropy_quantile=1.0, off_policy_mask_threshold=None, importance_sampling_level=level,
        beta=beta, loss_type=loss_type, epsilon_low=eps_low, epsilon_high=eps_high,
        args=SimpleNamespace(delta=None, use_bias_correction_kl=False, steps_per_generation=1),
        use_vllm=False, vllm_importance_sampling_correction=False, model=SimpleNamespace(training=True),
        current_gradient_accumulation_steps=1, max_completion_length=max_completion_length,
        accelerator=_Acc(), _entropy_bonus_enabled=False, aux_loss_enabled=False,
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
    )
    fake._get_per_token_logps_and_entropies = lambda *a, **k: (logps_leaf, torch.zeros_like(logps_leaf), None)
    b, t = mask.shape
    inputs = {"prompt_ids": torch.zeros(b, 1, dtype=torch.long), "prompt_mask": torch.ones(b, 1, dtype=torch.long),
              "completion_ids": torch.zeros(b, t, dtype=torch.long), "completion_mask": mask,
              "advantages": adv, "old_per_token_logps": old, "num_items_in_batch": mask.sum()}
    if ref is not None:
        inputs["ref_per_token_logps"] = ref
    return GRPOTrainer._compute_loss(fake, None, inputs), fake._metrics["train"]


@pytest.mark.parametrize("trl_type,ours", [("grpo", "seq-mean-token-mean"), ("dr_grpo", "dr-grpo"),
                                           ("dapo", "token-mean"), ("bnpo", "token-mean")])
@pytest.mark.parametrize("beta", [0.0, 0.04])
def test_same_value_and_gradient_as_trl(trl_type, ours, beta):
    g = torch.Generator().manual_seed(3)
    b, t = 6, 7
    old = (-torch.rand(b, t, generator=g) * 3).double()
    base = old + torch.randn(b, t, generator=g).double() * 0.4  # off-policy: ratios spread around 1
    ref = (old + torch.randn(b, t, generator=g).double() * 0.2) if beta else None
    adv = torch.randn(b, generator=g).double()
    mask = torch.ones(b, t, dtype=torch.long)
    mask[1, 4:] = 0
    mask[3, 2:] = 0
    eps_low, eps_high, L = 0.2, 0.28, 9

    lp_trl = base.clone().requires_grad_(True)
    trl_val, trl_metrics = _trl_loss(trl_type, lp_trl, old, adv, mask, eps_low=eps_low, eps_high=eps_high,
                                     max_completion_length=L, beta=beta, ref=ref)
    trl_val.backward()

    lp_ours = base.clone().requires_grad_(True)
    our_val, stats = policy_loss(lp_ours, old, adv, mask, eps_low=eps_low, eps_high=eps_high,
                                 aggregation=ours, max_completion_length=L, ref_logps=ref, beta=beta)
    our_val.backward()
    assert our_val.item() == pytest.approx(trl_val.item(), abs=1e-6)
    assert torch.allclose(lp_ours.grad, lp_trl.grad, atol=1e-6)
    m = stats.metrics()
    assert m["clip/low_frac"] == pytest.approx(trl_metrics["clip_ratio/low_mean"][0], abs=1e-6)
    assert m["clip/high_frac"] == pytest.approx(trl_metrics["clip_ratio/high_mean"][0], abs=1e-6)
    assert m["clip/low_frac"] + m["clip/high_frac"] > 0  # the test exercises the clip
