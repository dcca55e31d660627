"""The mechanism arms: RLOO / REINFORCE advantages, sign masks, CISPO / GSPO (parity with TRL 1.16), the
entropy term, the flip / constant / noise rewards and their TrainConfig fields."""

from __future__ import annotations

import pytest
import torch
from test_rl_loss import _trl_loss

from spurious.rewards import Sample, get_reward
from spurious.rl.advantages import compute_advantages, mask_advantage_sign, rloo_advantages
from spurious.rl.config import ConfigError, TrainConfig
from spurious.rl.loss import per_token_surrogate, policy_loss

# ----------------------------------------------------------------------------- advantages


def test_rloo_and_reinforce_by_hand():
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])  # two groups of 3
    # group 1: baselines (0+0)/2, (1+0)/2, (1+0)/2 -> A = 1, -0.5, -0.5; group 2: (0+0)... -> 1 - 1 = 0 etc.
    assert torch.allclose(rloo_advantages(r, 3), torch.tensor([1.0, -0.5, -0.5, 0.0, 0.0, 0.0]))
    reinforce = compute_advantages(r, 3, mode="reinforce")
    assert torch.allclose(reinforce, torch.tensor([2 / 3, -1 / 3, -1 / 3, 0.0, 0.0, 0.0]))
    assert torch.allclose(compute_advantages(r, 3, mode="rloo"), reinforce * 3 / 2)  # = G/(G-1) x reinforce
    with pytest.raises(ValueError, match="group_size"):
        rloo_advantages(r, 4)


def test_rloo_matches_trl_rloo_trainer_formula():
    g = torch.Generator().manual_seed(0)
    r = torch.rand(4 * 8, generator=g)
    grouped = r.view(-1, 8)
    trl = (r - ((grouped.sum(1, keepdim=True) - grouped) / 7).view(-1))  # TRL 1.16 RLOOTrainer, no normalisation
    assert torch.allclose(rloo_advantages(r, 8), trl)


def test_sign_masks():
    a = torch.tensor([1.5, -0.5, 0.0, -2.0])
    assert torch.equal(mask_advantage_sign(a, "positive"), torch.tensor([1.5, 0.0, 0.0, 0.0]))
    assert torch.equal(mask_advantage_sign(a, "negative"), torch.tensor([0.0, -0.5, 0.0, -2.0]))
    assert mask_advantage_sign(a, "both") is a
    r = torch.tensor([1.0, 0.0, 0.0, 0.0])
    pos = compute_advantages(r, 4, sign="positive", eps=0.0)
    assert pos[0] > 0 and torch.equal(pos[1:], torch.zeros(3))
    with pytest.raises(ValueError, match="sign"):
        mask_advantage_sign(a, "up")


# ----------------------------------------------------------------------------- surrogates


def _offpolicy(seed=3, b=6, t=7):
    g = torch.Generator().manual_seed(seed)
    old = (-torch.rand(b, t, generator=g) * 3).double()
    base = old + torch.randn(b, t, generator=g).double() * 0.4
    adv = torch.randn(b, generator=g).double()
    mask = torch.ones(b, t, dtype=torch.long)
    mask[1, 4:] = 0
    mask[3, 2:] = 0
    return old, base, adv, mask


def test_cispo_same_value_and_gradient_as_trl():
    old, base, adv, mask = _offpolicy()
    cap = 1.3  # TRL's epsilon_high under loss_type="cispo"
    assert (torch.exp(base - old)[mask.bool()] > cap).any()  # the cap binds somewhere
    lp_trl = base.clone().requires_grad_(True)
    trl_val, _ = _trl_loss("cispo", lp_trl, old, adv, mask, eps_low=0.2, eps_high=cap, max_completion_length=9)
    trl_val.backward()
    lp = base.clone().requires_grad_(True)
    val, _ = policy_loss(lp, old, adv, mask, surrogate="cispo", cispo_max_ratio=cap, aggregation="token-mean")
    val.backward()
    assert val.item() == pytest.approx(trl_val.item(), abs=1e-6)
    assert torch.allclose(lp.grad, lp_trl.grad, atol=1e-6)


def test_gspo_same_value_and_gradient_as_trl_sequence_level():
    old, base, adv, mask = _offpolicy(seed=5)
    lp_trl = base.clone().requires_grad_(True)
    trl_val, _ = _trl_loss("grpo", lp_trl, old, adv, mask, eps_low=0.2, eps_high=0.2, max_completion_length=9,
                           level="sequence")
    trl_val.backward()
    lp = base.clone().requires_grad_(True)
    val, _ = policy_loss(lp, old, adv, mask, surrogate="gspo", aggregation="seq-mean-token-mean")
    val.backward()
    assert val.item() == pytest.approx(trl_val.item(), abs=1e-6)
    assert torch.allclose(lp.grad, lp_trl.grad, atol=1e-6)


def test_gspo_sequence_ratio_by_hand():
    old = torch.zeros(1, 3)
    new = torch.tensor([[0.3, -0.1, 5.0]])   # masked last token must not count
    mask = torch.tensor([[1, 1, 0]])
    s = torch.exp(torch.tensor(0.1))  # mean of 0.3, -0.1
    out = per_token_surrogate(new, old, torch.tensor([1.0]), surrogate="gspo", mask=mask)
    assert torch.allclose(out, -torch.clamp(s, 0.8, 1.2).expand(1, 3) * 1.0)
    with pytest.raises(ValueError, match="mask"):
        per_token_surrogate(new, old, torch.tensor([1.0]), surrogate="gspo")


def test_entropy_term_gradient_by_hand():
    lp = torch.zeros(1, 4, requires_grad=True)
    ent = torch.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0]])
    adv = torch.zeros(1)  # no reward signal: only the entropy term acts
    loss, _ = policy_loss(lp, lp.detach(), adv, mask, aggregation="token-mean", entropies=ent, entropy_coef=-0.5)
    assert loss.item() == pytest.approx(0.5 * (1 + 2 + 3) / 3)  # L = -coef * mean H over the 3 tokens
    loss.backward()
    assert torch.allclose(ent.grad, torch.tensor([[0.5 / 3, 0.5 / 3, 0.5 / 3, 0.0]]))  # descent lowers H
    with pytest.raises(ValueError, match="entropies"):
        policy_loss(lp, lp.detach(), adv, mask, entropy_coef=0.1)


# ----------------------------------------------------------------------------- rewards


def _samples(n=64, answer="1", response="\\boxed{1}"):
    return [Sample(prompt="", response=response, answer=answer, step=2, prompt_index=i // 8, sample_index=i % 8)
            for i in range(n)]


def test_flip_half_of_a_constant_is_the_random_reward_draw_for_draw():
    ss = _samples()
    for seed in (0, 7):
        flip = get_reward("flip", reward="constant", p=0.5).with_seed(seed)
        rand = get_reward("random", gamma=0.5).with_seed(seed)
        assert flip(ss) == rand(ss)
    assert sum(get_reward("flip", reward="constant", p=0.5)(ss)) not in (0, len(ss))


def test_flip_rates_and_reproducibility():
    ss = _samples(400)
    assert get_reward("flip", reward="gt", p=0.0)(ss) == [1.0] * 400   # every response is correct
    assert get_reward("flip", reward="gt", p=1.0)(ss) == [0.0] * 400
    f = get_reward("flip", reward="gt", p=0.2)
    v = f(ss)
    assert v == f(list(reversed(ss)))[::-1]  # per sample, whatever the order
    assert 0.12 < 1 - sum(v) / 400 < 0.28 and f.last_stats["flipped_frac"] == pytest.approx(1 - sum(v) / 400)
    # a smaller p flips a subset of what a larger p flips (same draws)
    low = get_reward("flip", reward="gt", p=0.1)(ss)
    assert all(a >= b for a, b in zip(low, v))
    assert get_reward("flip(reward='gt', p=0.2)").name == "flip(ground_truth,p=0.2)"
    with pytest.raises(ValueError, match="p must be"):
        get_reward("flip", reward="gt", p=1.5)


def test_constant_and_noise_controls():
    ss = _samples()
    assert get_reward("constant")(ss) == [0.0] * len(ss)
    assert compute_advantages(torch.tensor(get_reward("constant", value=1.0)(ss)), 8).abs().sum() == 0
    noise = get_reward("noise")
    v = noise(ss)
    assert v == noise(ss) and v != noise.with_seed(1)(ss)
    t = torch.tensor(v)
    assert abs(float(t.mean())) < 0.4 and 0.7 < float(t.std()) < 1.3
    with pytest.raises(ValueError, match="std"):
        get_reward("noise", std=-1)


# ----------------------------------------------------------------------------- config


def test_config_fields_validate():
    for ok in ({"advantage": "rloo"}, {"advantage": "reinforce", "advantage_sign": "negative"},
               {"surrogate": "cispo", "cispo_max_ratio": 4.0}, {"surrogate": "gspo"}, {"entropy_coef": -0.01},
               {"reward": "flip", "reward_params": {"reward": "gt", "p": 0.4}}):
        TrainConfig(**ok).validate()
    for field, bad in (("advantage_sign", "up"), ("cispo_max_ratio", 0.0), ("entropy_coef", float("nan")),
                       ("advantage", "ppo"), ("surrogate", "sapo")):
        with pytest.raises(ConfigError, match=field):
            TrainConfig(**{field: bad}).validate()
