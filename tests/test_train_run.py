"""End-to-end training on tiny models: the paper's schedule, records, programmatic API, CLI, resume, errors."""

from __future__ import annotations

import gzip
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from spurious.io import InputError
from spurious.rl.config import ConfigError, TrainConfig, build_config

REPO = Path(__file__).resolve().parents[1]
SPURIOUS = [sys.executable, "-m", "spurious"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1",
       "TRANSFORMERS_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}


def _cfg(tmp_path, *sets, **kw) -> TrainConfig:
    kw.setdefault("name", "run")
    return build_config("tiny-cpu", ["progress=false", *sets], output_dir=str(tmp_path), **kw)


def _rollouts(run_dir: Path, phase: int) -> list[dict]:
    with gzip.open(run_dir / "rollouts" / f"step_{phase:05d}.jsonl.gz", "rt") as fh:
        return [json.loads(line) for line in fh]


def _deterministic(rec: dict) -> dict:
    """A metrics line without its wall-clock timings (``time/*``, ``grader/seconds``), which no rerun repeats."""
    return {k: v for k, v in rec.items() if not (k.startswith("time/") or k.endswith("/seconds"))}


# ----------------------------------------------------------------------------- schedule


def test_paper_schedule_counts_and_off_policy_steps(shared_data, tmp_path):
    """4 prompts x 4 rollouts, mini-batch 4 -> 4 optimizer steps per phase; only the first is on-policy."""
    from spurious.rl import train

    cfg = _cfg(tmp_path, "minibatch_size=4", "phases=2", "learning_rate=0.05", "save_every_phases=0")
    res = train(cfg)
    assert [p["phase"] for p in res.phases] == [0, 1]
    assert [s["optimizer_step"] for s in res.steps] == list(range(1, 9))
    assert all(p["optimizer_steps"] == 4 for p in res.phases)
    for s in res.steps:
        if s["step_in_phase"] == 0:  # on-policy: rho == 1 exactly, the clip cannot act
            assert s["ratio/min"] == s["ratio/max"] == 1.0
            assert s["clip/low_frac"] == s["clip/high_frac"] == 0.0
        else:
            assert s["ratio/min"] < 1.0 or s["ratio/max"] > 1.0
    assert any(s["clip/low_frac"] + s["clip/high_frac"] > 0 for s in res.steps), "lr 0.05 should trigger the clip"
    for phase in (0, 1):
        rows = _rollouts(res.run_dir, phase)
        assert len(rows) == 16
        groups = Counter(r["prompt_index"] for r in rows)
        assert len(groups) == 4 and set(groups.values()) == {4}
        assert sorted(r["sample_index"] for r in rows) == [0, 1, 2, 3] * 4 or \
            sorted(r["sample_index"] for r in rows) == sorted([0, 1, 2, 3] * 4)
        assert {"phase", "problem_id", "prompt", "response", "answer", "reward", "correct", "code", "format"} <= set(
            rows[0])
        assert sum(r["reward"] for r in rows) / 16 == pytest.approx(res.phases[phase]["reward/mean"])


def test_one_update_per_phase_never_clips(shared_data, tmp_path):
    """Ablation arm 3 ("batch = rollouts"): one optimizer step per phase, rho == 1, clip fraction exactly 0."""
    from spurious.rl import train

    res = train(_cfg(tmp_path, "minibatch_size=16", "phases=3", "learning_rate=0.05", "save_every_phases=0",
                     "rollout_log_every=0"))
    assert len(res.steps) == 3 and all(s["step_in_phase"] == 0 for s in res.steps)
    for s in res.steps:
        assert s["ratio/min"] == s["ratio/max"] == 1.0
        assert s["clip/low_frac"] == 0.0 and s["clip/high_frac"] == 0.0
    assert res.phases[-1]["pi_bar"] > 0 and res.phases[-1]["entropy"] > 0


def test_max_steps_mid_phase_writes_a_short_phase_line(shared_data, tmp_path):
    from spurious.rl import train

    res = train(_cfg(tmp_path, "minibatch_size=4", "save_every_phases=0", "rollout_log_every=0", max_steps=6))
    assert [s["optimizer_step"] for s in res.steps] == list(range(1, 7))
    assert [(p["phase"], p["optimizer_steps"]) for p in res.phases] == [(0, 4), (1, 2)]


def test_micro_batching_gives_the_same_updates(shared_data, tmp_path):
    """Gradient accumulation (micro-batch 2) must not change the optimizer steps (token-mean loss)."""
    from spurious.rl import train

    sets = ["minibatch_size=8", "phases=1", "save_every_phases=0", "rollout_log_every=0",
            "loss_aggregation=token-mean", "optimizer=sgd", "learning_rate=0.1"]
    whole = train(_cfg(tmp_path, *sets, name="whole"))
    micro = train(_cfg(tmp_path, *sets, "micro_batch_size=2", name="micro"))
    assert len(micro.steps) == len(whole.steps) == 2
    for a, b in zip(whole.steps, micro.steps):
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-4)
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4, abs=1e-7)
        assert b["ratio/max"] == pytest.approx(a["ratio/max"], rel=1e-5)


def test_programmatic_api_in_memory_model_dataset_reward_sgd(tmp_path):
    """The organism's use: in-memory model/tokenizer/dataset, a Reward object, plain SGD, raw prompts."""
    from spurious.models import tiny_model_and_tokenizer
    from spurious.rewards.base import Reward
    from spurious.rl import train

    class EndsWithSeven(Reward):
        name = "ends_with_7"

        def score(self, samples):
            return [1.0 if s.response.strip().endswith("7") else 0.0 for s in samples]

    model, tok = tiny_model_and_tokenizer("100K", seed=1)
    data = [{"prompt": f"{i} + {i} =", "answer": str(2 * i)} for i in range(8)]
    cfg = TrainConfig(name="mem", output_dir=str(tmp_path), prompts_per_phase=2, group_size=4, minibatch_size=4,
                      phases=3, optimizer="sgd", momentum=0.0, learning_rate=0.5, max_completion_tokens=8,
                      template="none", max_prompt_tokens=None, save_every_phases=0, rollout_log_every=0,
                      report_to=[], progress=False, loss_aggregation="seq-mean-token-mean", save_final=False)
    res = train(cfg, model=model, tokenizer=tok, dataset=data, reward=EndsWithSeven(),
                accuracy_fn=lambda rs, ans: [r.strip().endswith(a) for r, a in zip(rs, ans)])
    assert [p["phase"] for p in res.phases] == [0, 1, 2]
    assert all(0.0 <= p["accuracy"] <= 1.0 for p in res.phases)
    assert res.model is not None and (res.run_dir / "metrics.jsonl").exists()
    assert not (res.run_dir / "final").exists() and not list(res.run_dir.glob("checkpoints/checkpoint-*"))


# ----------------------------------------------------------------------------- errors before any model loads


@pytest.fixture
def no_model_loading(monkeypatch):
    import spurious.models as models
    import spurious.rl.run as run

    def boom(*a, **k):
        raise AssertionError("a model was loaded before the config was validated")

    monkeypatch.setattr(run, "load_or_build", boom)  # the name train() calls
    monkeypatch.setattr(models, "load_or_build", boom)
    monkeypatch.setattr(models, "load_model_and_tokenizer", boom)


def test_bad_configs_fail_before_loading_a_model(tmp_path, no_model_loading):
    from spurious.rl import train

    with pytest.raises(ConfigError, match="'reward'"):
        train(_cfg(tmp_path, reward="no_such_reward"))
    with pytest.raises(ConfigError, match="'minibatch_size'"):
        train(_cfg(tmp_path, "minibatch_size=6"))
    with pytest.raises(ConfigError, match="'loss_aggregation'"):
        train(_cfg(tmp_path, "loss_aggregation=sum"))
    with pytest.raises(ConfigError, match="'colour'"):
        _cfg(tmp_path, "colour=blue")
    bad = tmp_path / "noanswer.jsonl"
    bad.write_text(json.dumps({"id": "a", "problem": "1+1?"}) + "\n")
    with pytest.raises(InputError, match=r"noanswer.jsonl:1: field 'answer'"):
        train(_cfg(tmp_path, dataset=str(bad)))
    with pytest.raises(ConfigError, match="'dataset'"):
        train(_cfg(tmp_path, dataset="no_such_set"))


def test_unknown_preset_key(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("model: tiny:100K\nlearning_rat: 0.1\n")
    with pytest.raises(ConfigError, match="'learning_rat'"):
        build_config(str(p))
    with pytest.raises(ConfigError, match="unknown preset"):
        build_config("no-such-preset")


def test_presets_resolve_to_the_paper_schedule():
    paper = build_config("paper")
    assert paper.rollouts_per_phase == 1024 and paper.optimizer_steps_per_phase == 8
    s = paper.schedule(num_processes=8)
    assert s["per_device_train_batch_size"] * s["gradient_accumulation_steps"] * 8 == 128
    assert s["steps_per_generation"] == 8 * s["gradient_accumulation_steps"]
    assert (paper.eps_low, paper.eps_high, paper.beta, paper.learning_rate) == (0.2, 0.2, 0.0, 5e-7)
    assert Path(paper.deepspeed).exists()
    from spurious.rl.run import grpo_config

    args = grpo_config(paper.replace(deepspeed=None, bf16=False), 8)  # deepspeed is not installable on CPU
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps, args.steps_per_generation,
            args.num_iterations) == (4, 4, 32, 1)
    assert args.use_vllm and args.vllm_importance_sampling_correction is False
    assert (args.adam_beta1, args.adam_beta2, args.adam_epsilon, args.max_grad_norm) == (0.9, 0.95, 1e-8, 1.0)
    for name in ("paper-1.5b", "smollm2-cpu", "tiny-cpu"):
        build_config(name).validate()


# ----------------------------------------------------------------------------- CLI, resume after SIGKILL


def _run_cli(args, **kw):
    return subprocess.run(SPURIOUS + ["train", *args], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=300, **kw)


def test_cli_end_to_end_then_sigkill_and_resume_matches(shared_data, tmp_path):
    common = ["--preset", "tiny-cpu", "-o", str(tmp_path), "--phases", "4", "--no-progress"]
    full = _run_cli(common + ["--name", "full"])
    assert full.returncode == 0, full.stderr[-3000:]
    ref = [json.loads(x) for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in ref if r["kind"] == "phase"] == [0, 1, 2, 3]
    cfg = json.loads((tmp_path / "full" / "config.json").read_text())
    assert cfg["config"]["model"] == "tiny:100K" and "versions" in cfg and "git_commit" in cfg

    # The same run, killed once its phase-1 checkpoint exists, then resumed.
    proc = subprocess.Popen(SPURIOUS + ["train", *common, "--name", "killed"], cwd=REPO, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = tmp_path / "killed" / "checkpoints" / "checkpoint-4" / "trainer_state.json"
    deadline = time.time() + 240
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the run never wrote its phase-1 checkpoint"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.skip("the run finished before it could be killed")
    # resume with a later end point (5 phases): the first 4 must equal the uninterrupted 4-phase run
    resumed = _run_cli(["--resume", str(tmp_path / "killed"), "--no-progress", "--phases", "5"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = [json.loads(x) for x in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in got if r["kind"] == "phase"] == [0, 1, 2, 3, 4]
    got = got[:len(ref)]
    assert [(r["kind"], r["optimizer_step"]) for r in got] == [(r["kind"], r["optimizer_step"]) for r in ref]
    resumes = (tmp_path / "killed" / "resumes.jsonl").read_text().splitlines()
    assert len(resumes) == 1 and json.loads(resumes[0])["config"]["phases"] == 5
    for a, b in zip(ref, got):
        a, b = _deterministic(a), _deterministic(b)
        assert a.keys() == b.keys()
        for k in a:
            want = pytest.approx(a[k], rel=1e-5, abs=1e-7) if isinstance(a[k], float) else a[k]
            assert b[k] == want, (a["kind"], a["optimizer_step"], k)
    for phase in range(4):
        ra, rb = _rollouts(tmp_path / "full", phase), _rollouts(tmp_path / "killed", phase)
        assert [r["response"] for r in ra] == [r["response"] for r in rb]


def test_resume_refuses_missing_or_corrupt_checkpoint(tmp_path):
    from spurious.rl.run import find_checkpoint

    with pytest.raises(InputError, match="no complete checkpoint"):
        find_checkpoint(tmp_path)
    ck = tmp_path / "checkpoints" / "checkpoint-4"
    ck.mkdir(parents=True)
    for f in ("trainer_state.json", "rng_state.pth", "scheduler.pt", "model.safetensors"):
        (ck / f).write_text("{\"global_step\": 4}" if f.endswith(".json") else "x")
    with pytest.raises(InputError, match="corrupt: missing optimizer.pt"):
        find_checkpoint(tmp_path)
    (ck / "optimizer.pt").write_text("x")
    assert find_checkpoint(tmp_path) == ck
    (tmp_path / "checkpoints" / "checkpoint-6").mkdir()  # a save cut short by the kill
    with pytest.warns(UserWarning, match="interrupted"):
        assert find_checkpoint(tmp_path) == ck
    r = _run_cli(["--resume", str(tmp_path / "nothing-here")])
    assert r.returncode != 0 and "config.yaml" in (r.stderr + r.stdout)


def test_dataset_sources_parquet_json_and_column_errors(tmp_path):
    import datasets

    from spurious.rl.run import load_dataset_rows

    rows = [{"id": f"q{i}", "question": f"{i}+1?", "solution": str(i + 1)} for i in range(6)]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "d.parquet"))
    (tmp_path / "d.json").write_text(json.dumps(rows))
    for name in ("d.parquet", "d.json"):
        cfg = TrainConfig(dataset=str(tmp_path / name), problem_column="question", answer_column="solution",
                          prompts_per_phase=2, dataset_limit=4)
        got = load_dataset_rows(cfg)
        assert got[0] == {"problem": "0+1?", "answer": "1", "problem_id": "q0"} and len(got) == 4
    with pytest.raises(InputError, match="field 'answer'"):
        load_dataset_rows(TrainConfig(dataset=str(tmp_path / "d.parquet"), problem_column="question",
                                      prompts_per_phase=2))
    with pytest.raises(ConfigError, match="fewer than prompts_per_phase"):
        load_dataset_rows(TrainConfig(dataset=str(tmp_path / "d.json"), problem_column="question",
                                      answer_column="solution", prompts_per_phase=64))


def test_same_training_as_plain_trl_when_configured_alike(shared_data, tmp_path):
    """Our trainer with TRL's loss ("grpo" = seq-mean-token-mean) and advantages reproduces plain TRL exactly:
    same rewards (spurious.rewards.trl adapter keys samples as we do), losses, gradient norms, clip fractions."""
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOTrainer

    from spurious.models import tiny_model_and_tokenizer
    from spurious.rewards import get_reward
    from spurious.rewards.trl import trl_reward_func
    from spurious.rl import train
    from spurious.rl.run import build_trl_dataset, grpo_config, load_dataset_rows

    cfg = _cfg(tmp_path, "minibatch_size=8", "phases=2", "learning_rate=0.05", "save_every_phases=0",
               "rollout_log_every=0", "loss_aggregation=seq-mean-token-mean", "advantage=group",
               "track_accuracy=false", "save_final=false", name="ours")
    reward = get_reward("random", gamma=0.5)
    ours = train(cfg)

    model, tok = tiny_model_and_tokenizer("100K")
    ds, _ = build_trl_dataset(load_dataset_rows(cfg), cfg, tok)
    args = grpo_config(cfg.replace(name="trl"), 1)
    args.loss_type = "grpo"
    trl = GRPOTrainer(model=model, args=args, train_dataset=ds, processing_class=tok,
                      reward_funcs=[trl_reward_func(reward, seed=cfg.seed,
                                                      steps_per_generation=cfg.optimizer_steps_per_phase)])
    trl.remove_callback(PrinterCallback)
    trl.train()
    hist = [h for h in trl.state.log_history if "loss" in h]
    assert len(hist) == len(ours.steps) == 4
    for h, s in zip(hist, ours.steps):
        assert s["loss"] == pytest.approx(h["loss"], rel=1e-4, abs=1e-6)
        assert s["grad_norm"] == pytest.approx(h["grad_norm"], rel=1e-4)
        assert s["clip/low_frac"] == pytest.approx(h["clip_ratio/low_mean"], abs=1e-6)
        assert s["clip/high_frac"] == pytest.approx(h["clip_ratio/high_mean"], abs=1e-6)
        assert s["entropy"] == pytest.approx(h["entropy"], rel=1e-4)
    for p, h in zip(ours.phases, hist[::2]):
        assert p["reward/mean"] == pytest.approx(h["reward"])


@pytest.mark.parametrize("sets", [
    ["advantage=official", "surrogate=no-clip", "loss_aggregation=dr-grpo", "beta=0.04", "kl_estimator=k1"],
    ["advantage=none", "surrogate=official-no-old-logprob", "loss_aggregation=token-mean", "optimizer=sgd",
     "eps_high=0.28"],
])
def test_loss_and_advantage_modes_run_end_to_end(shared_data, tmp_path, sets):
    import torch

    from spurious.rl import train
    from spurious.rl.advantages import compute_advantages

    cfg = _cfg(tmp_path, "phases=1", "save_every_phases=0", "save_final=false", *sets)
    res = train(cfg)
    assert len(res.steps) == 2 and all(math.isfinite(s["loss"]) for s in res.steps)
    if cfg.beta:
        assert all("kl" in s for s in res.steps) and res.steps[0]["kl"] == pytest.approx(0.0, abs=1e-6)
    rows = sorted(_rollouts(res.run_dir, 0), key=lambda r: (r["prompt_index"], r["sample_index"]))
    want = compute_advantages(torch.tensor([r["reward"] for r in rows]), cfg.group_size, mode=cfg.advantage,
                              lengths=torch.tensor([r["length"] for r in rows]))
    assert [r["advantage"] for r in rows] == pytest.approx(want.tolist(), abs=1e-5)


def test_cli_dry_run_prints_the_schedule_without_loading_anything():
    r = _run_cli(["--preset", "paper", "--dry-run", "--set", "reward_params.gamma=0.3", "--reward", "random"])
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["config"]["reward_params"] == {"gamma": 0.3}
    sched = out["schedule"]  # one process, micro-batches of 4: 32 accumulation steps per optimizer step
    assert sched["optimizer_steps_per_phase"] == 8 and sched["gradient_accumulation_steps"] == 32
    assert sched["steps_per_generation"] == 8 * 32
    bad = _run_cli(["--preset", "paper", "--dry-run", "--set", "group_size=15"])
    assert bad.returncode == 2 and "minibatch_size" in bad.stderr
