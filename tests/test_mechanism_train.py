"""The mechanism arms and diagnostics through the real trainer (tiny in-memory model, 2 phases x 2 steps)."""

from __future__ import annotations

import json

import pytest
import torch

from spurious.rl.config import TrainConfig


def _train(tmp_path, name, **kw):
    from spurious.models import tiny_model_and_tokenizer
    from spurious.rl import train

    model, tok = tiny_model_and_tokenizer("100K", seed=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = [{"prompt": f"{i} + {i} =", "answer": str(2 * i)} for i in range(8)]
    cfg = TrainConfig(name=name, output_dir=str(tmp_path), prompts_per_phase=2, group_size=4, minibatch_size=4,
                      phases=2, optimizer="sgd", momentum=0.0, learning_rate=0.5, max_completion_tokens=8,
                      template="none", max_prompt_tokens=None, save_every_phases=0, rollout_log_every=0,
                      report_to=[], progress=False, loss_aggregation="token-mean", save_final=False, **kw)
    res = train(cfg, model=model, tokenizer=tok, dataset=data,
                accuracy_fn=lambda rs, ans: [r.strip().endswith(a) for r, a in zip(rs, ans)])
    rows = [json.loads(line) for line in (res.run_dir / "metrics.jsonl").read_text().splitlines()]
    moved = sum(float((res.model.state_dict()[k] - v).abs().sum()) for k, v in before.items())
    return rows, moved


@pytest.mark.parametrize("name,kw", [
    ("rloo-gspo", {"reward": "random", "advantage": "rloo", "surrogate": "gspo"}),
    ("cispo-neg", {"reward": "random", "surrogate": "cispo", "advantage_sign": "negative"}),
    ("flip", {"reward": "flip", "reward_params": {"reward": "constant", "p": 0.5}, "advantage": "reinforce"}),
])
def test_arms_train_and_log_the_diagnostics(tmp_path, name, kw):
    rows, moved = _train(tmp_path, name, **kw)
    phases = [r for r in rows if r["kind"] == "phase"]
    steps = [r for r in rows if r["kind"] == "step"]
    assert len(phases) == 2 and len(steps) == 4 and moved > 0
    for key in ("cov/logp_old_adv", "entropy_attr/low_clip", "entropy_attr/high_clip", "dlogp/all",
                "fork/tokens_frac/top20", "adv/pos_frac", "adv/neg_frac"):
        assert all(key in r for r in steps) and all(key in p for p in phases), key
    first = [s for s in steps if s["step_in_phase"] == 0]
    assert all(s["dlogp/all"] == pytest.approx(0.0, abs=1e-6) for s in first)  # on-policy: nothing moved yet
    if kw.get("advantage_sign") == "negative":
        assert all(s["adv/pos_frac"] == 0.0 for s in steps)


def test_no_signal_control_does_not_move_and_entropy_term_does(tmp_path):
    _, still = _train(tmp_path, "constant", reward="constant")
    assert still == 0.0  # every advantage is 0: the update machinery alone changes nothing
    rows, moved = _train(tmp_path, "entmin", reward="constant", entropy_coef=-1.0)
    assert moved > 0
    assert all(r["adv/pos_frac"] == 0.0 == r["adv/neg_frac"] for r in rows if r["kind"] == "step")
    assert torch.isfinite(torch.tensor([r["entropy"] for r in rows if r["kind"] == "phase"])).all()
