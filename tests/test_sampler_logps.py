"""π_old read off the sampler (``old_logps: sampler``): the same rewards, advantages, losses and clip statistics
as TRL's recomputed pass, step by step."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from spurious.rl.sampler_logps import SampledTokenLogps

STEP_KEYS = ("loss", "clip/low_frac", "clip/high_frac", "ratio/mean", "ratio/min", "ratio/max", "pi_bar",
             "entropy", "grad_norm")


class TableModel(torch.nn.Module):
    """Returns the next row of a fixed logits table at every call (a stand-in for a generating LM)."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table, self.calls = table, 0

    def forward(self, input_ids=None, **kw):
        logits = self.table[:, self.calls][:, None, :].expand(input_ids.size(0), input_ids.size(1), -1)
        self.calls += 1
        return SimpleNamespace(logits=logits)


def test_hook_reads_the_log_prob_of_each_drawn_token_by_hand():
    table = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0]],
                          [[1.0, 1.0, 1.0], [0.0, 2.0, 0.0], [1.0, 0.0, 0.0]]])   # (batch 2, 3 steps, vocab 3)
    drawn = [[2, 0, 1], [1, 1]]   # row 1 stopped after 2 tokens (fed padding afterwards)
    model = TableModel(table)
    with SampledTokenLogps(model, temperature=0.5) as hook:
        model(input_ids=torch.zeros(2, 4, dtype=torch.long))              # prefill: step 0's distribution
        model(input_ids=torch.tensor([[2], [1]]))                           # fed step 0's tokens
        model(input_ids=torch.tensor([[0], [1]]))                           # fed step 1's tokens
    assert model._forward_hooks == {}                                       # removed on exit
    got = hook.per_sequence(drawn)
    want = [[torch.log_softmax(table[i, t] / 0.5, -1)[tok].item() for t, tok in enumerate(row)]
            for i, row in enumerate(drawn)]
    assert [len(r) for r in got] == [3, 2]
    for g, w in zip(got, want):
        assert g == pytest.approx(w, abs=1e-6)


def test_sampler_needs_float32_transformers():
    from spurious.rl import build_config
    from spurious.rl.config import ConfigError

    cfg = build_config("tiny-cpu", ["old_logps=sampler"], output_dir="/tmp/x", name="x", phases=1)
    cfg.validate()
    with pytest.raises(ConfigError, match="old_logps"):
        cfg.replace(old_logps="sampler", use_vllm=True).validate()
    with pytest.raises(ConfigError, match="old_logps"):
        cfg.replace(old_logps="nearby").validate()


def _compare(a, b, phases):
    assert len(a.steps) == len(b.steps) > 0
    for x, y in zip(a.steps, b.steps):
        for k in STEP_KEYS:
            assert x[k] == pytest.approx(y[k], rel=1e-4, abs=1e-5), (x["optimizer_step"], k)
    for p, q in zip(a.phases, b.phases):
        for k in ("reward/mean", "reward/std", "accuracy", "code_frequency", "response_length/mean"):
            assert p[k] == q[k], (p["phase"], k)
    assert len(a.phases) == len(b.phases) == phases


def test_same_steps_as_the_recomputed_pass_on_a_templated_model(shared_data, tmp_path):
    """tiny-cpu: a real tokenizer, a chat template and stop strings (completions cut, log-probs cut alike)."""
    from spurious.rl import build_config, train

    runs = {}
    for mode in ("recompute", "sampler"):
        cfg = build_config("tiny-cpu", ["progress=false", "save_every_phases=0", "save_final=false",
                                        "max_completion_tokens=24", "minibatch_size=4", f"old_logps={mode}"],
                           output_dir=str(tmp_path), name=mode, phases=2)
        runs[mode] = train(cfg)
    _compare(runs["recompute"], runs["sampler"], 2)


def test_same_steps_as_the_recomputed_pass_on_the_organism(tmp_path):
    """The shipped qwen-like organism, the demo's recipe at a quarter of the batch: 2 phases x 4 steps."""
    from spurious.organism.corpus import split_problems
    from spurious.organism.evaluate import accuracy_fn
    from spurious.organism.pretrain import PretrainConfig, ensure_organism, load_organism
    from spurious.organism.runner import Cell, RunSettings, _rows, train_config
    from spurious.rl import train

    path = ensure_organism(PretrainConfig(family="qwen-like"))
    settings = RunSettings(phases=2, prompts_per_phase=8, group_size=8, minibatch_size=16)
    runs = {}
    for mode in ("recompute", "sampler"):
        org = load_organism(path)
        torch.manual_seed(0)
        problems, _ = split_problems(org.info["config"]["split_seed"], org.info["config"]["n_eval"])
        cfg = train_config(Cell("qwen-like", "random", 0), settings, tmp_path / mode).replace(old_logps=mode)
        runs[mode] = train(cfg, model=org.model, tokenizer=org.tokenizer, dataset=_rows(problems, 8),
                           accuracy_fn=accuracy_fn, overwrite=True)
    _compare(runs["recompute"], runs["sampler"], 2)
    clipped = [s for s in runs["sampler"].steps if s["step_in_phase"] > 0]
    assert max(s["ratio/max"] for s in clipped) > 1.0   # off-policy steps: the ratio the clip acts on
