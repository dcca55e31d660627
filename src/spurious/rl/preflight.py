"""``dry_run(config, n)``: every check a launch on ``n`` processes would make, without loading a model.

It resolves the reward and the dataset as :func:`spurious.rl.run.train` does, builds the real
``trl.GRPOConfig`` for ``n`` processes (so accelerate's DeepSpeed-plugin checks run on it), and, for a
DeepSpeed config, fills its ``"auto"`` values the way the HF trainer does and validates the result with
DeepSpeed's own ``DeepSpeedConfig`` (the batch arithmetic for ``n`` ranks is checked here, since DeepSpeed
reads the world size from a running process group). A config that would crash at launch fails
here, naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spurious.errors import warn
from spurious.models import TINY_PRESETS, parse_tiny_name
from spurious.rl.config import ConfigError, TrainConfig
from spurious.rl.run import grpo_config, load_dataset_rows, resolve_reward, with_launcher_deepspeed


def dry_run(config: TrainConfig, n_processes: int) -> dict[str, Any]:
    """The resolved config, schedule, reward and TRL/DeepSpeed batch settings for ``n_processes``."""
    config = with_launcher_deepspeed(config)
    config.validate(n_processes)
    reward = resolve_reward(config)
    rows = load_dataset_rows(config)
    # Checking a cluster's launch from a machine without DeepSpeed (a laptop, a login node) is allowed: the
    # DeepSpeed checks are then skipped, and the result and a warning say so.
    check_deepspeed = bool(config.deepspeed) and deepspeed_installed()
    if config.deepspeed and not check_deepspeed:
        warn(f"DeepSpeed is not installed here: {config.deepspeed} was not checked (bash scripts/setup-distributed.sh)")
    try:
        args = grpo_config(config if check_deepspeed else config.replace(deepspeed=None), n_processes,
                           world_size=n_processes)
    except (ValueError, ImportError, RuntimeError) as e:
        raise ConfigError("deepspeed" if config.deepspeed else "trl", f"GRPOConfig rejects it: {e}") from e
    out: dict[str, Any] = {
        "config": config.to_dict(),
        "schedule": config.schedule(n_processes),
        "num_processes": n_processes,
        "reward": repr(reward),
        "dataset_rows": len(rows),
        "trl": {k: getattr(args, k) for k in ("per_device_train_batch_size", "gradient_accumulation_steps",
                                                 "steps_per_generation", "generation_batch_size", "num_generations",
                                                 "max_steps", "save_steps", "use_vllm", "bf16")},
    }
    if check_deepspeed:
        out["deepspeed"] = deepspeed_check(args, n_processes, hidden_size(config.model))
    elif config.deepspeed:
        out["deepspeed"] = {"file": config.deepspeed, "checked": False, "why": "DeepSpeed is not installed here"}
    return out


def deepspeed_installed() -> bool:
    try:
        import deepspeed  # noqa: F401
    except ImportError:
        return False
    return True


def hidden_size(model: str) -> int | None:
    """The model's hidden size from its config alone (tiny preset, local folder or cached hub config)."""
    tiny = parse_tiny_name(model)
    if tiny is not None:
        return TINY_PRESETS.get(tiny[0], {}).get("hidden_size")
    cfg_path = Path(model) / "config.json"
    if cfg_path.exists():
        return json.loads(cfg_path.read_text()).get("hidden_size")
    try:
        from transformers import AutoConfig

        return getattr(AutoConfig.from_pretrained(model), "hidden_size", None)
    except (OSError, ValueError):
        return None


def deepspeed_check(args, n_processes: int, hidden: int | None) -> dict[str, Any]:
    """The DeepSpeed config as the trainer will fill it for ``n_processes`` data-parallel ranks, validated by
    ``deepspeed.runtime.config.DeepSpeedConfig``. ``hidden`` fills the model-size ``"auto"`` values (the trainer's rule);
    unknown (a hub model not cached here), DeepSpeed's defaults stand in for them and the result says so."""
    try:
        from deepspeed.runtime.config import DeepSpeedConfig
    except ImportError as e:
        raise ConfigError("deepspeed", "DeepSpeed is not installed (bash scripts/setup-distributed.sh)") from e
    hf = args.hf_deepspeed_config  # trainer_config_process(args) has filled the batch/optimizer "auto" values
    cfg = json.loads(json.dumps(hf.config))
    zero = cfg.get("zero_optimization", {})
    model_keys = {"reduce_bucket_size": lambda h: h * h, "stage3_prefetch_bucket_size": lambda h: int(0.9 * h * h),
                  "stage3_param_persistence_threshold": lambda h: 10 * h}
    stand_ins = []
    for key, rule in model_keys.items():
        if zero.get(key) == "auto":
            if hidden:
                zero[key] = rule(hidden)
            else:
                del zero[key]
                stand_ins.append(key)
    left = [k for k, v in _walk(cfg) if v == "auto"]
    if left:
        raise ConfigError("deepspeed", f"{args.deepspeed}: 'auto' values the trainer does not fill: {left}")

    micro, accum = cfg.get("train_micro_batch_size_per_gpu"), cfg.get("gradient_accumulation_steps")
    if cfg.get("train_batch_size") != micro * accum * n_processes:
        raise ConfigError("deepspeed", f"{args.deepspeed}: train_batch_size {cfg.get('train_batch_size')} is not "
                                       f"micro-batch {micro} x accumulation {accum} x {n_processes} processes")
    # DeepSpeedConfig takes the world size from a running process group (1 here): check it as one rank's share.
    one_rank = {**cfg, "train_batch_size": micro * accum}
    try:
        ds = DeepSpeedConfig(one_rank)
    except (AssertionError, ValueError, KeyError, TypeError) as e:
        raise ConfigError("deepspeed", f"{args.deepspeed}: DeepSpeed rejects it: {e}") from e
    return {"file": str(args.deepspeed), "checked": True, "zero_stage": ds.zero_optimization_stage,
            "train_batch_size": cfg["train_batch_size"], "micro_batch_per_gpu": ds.train_micro_batch_size_per_gpu,
            "gradient_accumulation_steps": ds.gradient_accumulation_steps, "bf16": ds.bfloat16_config.enabled,
            "grad_accum_dtype": ds.grad_accum_dtype,
            "model_size_defaults_for": stand_ins}


def _walk(d: Any, prefix: str = ""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _walk(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), d
