"""``TrainConfig``: every knob of a GRPO run, its validation, presets, and the mapping onto TRL's GRPOConfig.

The schedule follows the paper (docs/paper.md §3.3): each *rollout phase* samples ``prompts_per_phase`` prompts x
``group_size`` rollouts, scores them once, then takes ``rollouts_per_phase / minibatch_size`` optimizer
steps, each on a distinct mini-batch of ``minibatch_size`` rollouts (one pass, ``num_iterations=1``). The
first step of a phase is on-policy (ratio == 1); the others are off-policy and only there can the clip act.

TRL mapping (docs/training.md, "The schedule"; checked on real runs by tests/test_train_run.py):
``per_device_train_batch_size = micro_batch_size`` (rollouts per forward pass per process),
``gradient_accumulation_steps = minibatch_size / (num_processes * micro_batch_size)``,
``steps_per_generation = optimizer_steps_per_phase * gradient_accumulation_steps``, ``num_iterations = 1``.
(Setting ``gradient_accumulation_steps = optimizer steps`` instead is the trap that yields ONE update per phase.)
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spurious.assignments import parse_assignment
from spurious.data.templates import get_template
from spurious.errors import SpuriousError
from spurious.grading import GRADERS
from spurious.io import InputError, atomic_open, write_json
from spurious.rl.advantages import ADVANTAGE_MODES, ADVANTAGE_SIGNS
from spurious.rl.loss import AGGREGATIONS, KL_ESTIMATORS, SURROGATES

PRESET_DIR = Path(__file__).resolve().parents[1] / "presets"
OPTIMIZERS = ("adamw", "sgd")
VLLM_MODES = ("colocate", "server")
OLD_LOGPS = ("recompute", "sampler")


class ConfigError(SpuriousError):
    """A bad configuration value; the message names the field."""

    def __init__(self, field_name: str, message: str, source: str | None = None):
        where = f"{source}: " if source else ""
        super().__init__(f"{where}config field '{field_name}': {message}")
        self.field = field_name


@dataclass
class TrainConfig:
    """A GRPO run. Defaults are the paper's recipe (docs/paper.md §3.2) except model, data and sizes."""

    # what is trained, on what
    name: str = "run"                      # run folder name: <output_dir>/<name>
    output_dir: str = "runs"
    model: str = "tiny:1M"                 # HF folder, hub id, "smollm2-135m-instruct" or "tiny:<preset>"
    dtype: str = "float32"                 # float32 | bfloat16 (GPU)
    dataset: str = "deepscaler"            # registered name, .jsonl/.json/.parquet path, or "hub:<id>[:split]"
    dataset_limit: int | None = None       # use only the first N problems
    problem_column: str = "problem"
    answer_column: str = "answer"
    template: str = "qwen-math"            # spurious.data.get_template name or a "{problem}" string
    max_prompt_tokens: int | None = 1024   # prompts longer than this are dropped (reported), see docs
    # reward
    reward: str = "ground_truth"           # spurious.rewards.get_reward spec
    reward_params: dict[str, Any] = field(default_factory=dict)
    # schedule (docs/paper.md §3.3)
    prompts_per_phase: int = 64
    group_size: int = 16
    minibatch_size: int = 128              # rollouts per optimizer step (all processes together)
    micro_batch_size: int | None = None    # rollouts per forward pass per process (None: minibatch/processes)
    phases: int = 300
    max_steps: int | None = None           # stop after this many optimizer steps (overrides phases)
    # optimisation
    learning_rate: float = 5e-7
    lr_scheduler: str = "constant"
    warmup_steps: float = 0.0              # optimizer steps; a value < 1 is a fraction of all steps
    optimizer: str = "adamw"               # adamw | sgd
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    adam_epsilon: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0                  # sgd only
    max_grad_norm: float = 1.0
    # loss (spurious.rl.loss, spurious.rl.advantages)
    eps_low: float = 0.2
    eps_high: float = 0.2
    surrogate: str = "clip"                # clip | no-clip | official-no-old-logprob | cispo | gspo
    cispo_max_ratio: float = 5.0           # cispo: cap on the (detached) importance weight (TRL's epsilon_high)
    loss_aggregation: str = "official"     # token-mean | seq-mean-token-mean | dr-grpo | official
    official_micro_batch: int = 4          # sequences per micro-batch of the "official" aggregation
    advantage: str = "official"            # official (group z + token whitening, the paper's code) | group | batch |
    #                                        none | rloo (leave-one-out) | reinforce (group-mean baseline)
    advantage_sign: str = "both"           # both | positive | negative: keep only A > 0 / A < 0 (arXiv 2506.01347)
    advantage_unbiased_std: bool = True
    advantage_eps: float = 1e-4
    beta: float = 0.0                      # KL coefficient (0: no reference model)
    kl_estimator: str = "k3"
    entropy_coef: float = 0.0              # loss - entropy_coef * token entropy (TRL's sign); < 0 minimises entropy
    # sampling
    max_completion_tokens: int = 3072
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    mask_truncated_completions: bool = False
    seed: int = 42
    # records
    save_every_phases: int = 50            # checkpoints (0: only the final model)
    save_total_limit: int | None = None    # keep only the newest N checkpoints (None: all, for evaluation curves)
    save_final: bool = True                # write the trained model to <run>/final
    rollout_log_every: int = 1             # write rollouts/step_XXXXX.jsonl.gz every N phases (0: never)
    track_accuracy: bool = True            # grade rollouts against the ground truth whatever the reward
    code_rule: str = "python"              # spurious.code_reasoning rule
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])
    progress: bool = True                  # rich progress display on the terminal
    # hardware
    bf16: bool = False
    gradient_checkpointing: bool = False
    trim_padding: bool = True              # forward passes skip the columns that are padding in every row
    old_logps: str = "recompute"           # recompute: a no-grad forward pass after generation (TRL's);
    #                                        sampler: the log-probs the transformers sampler drew from (fp32 only)
    use_vllm: bool = False
    vllm_mode: str = "colocate"            # colocate | server
    vllm_gpu_memory_utilization: float = 0.3
    vllm_server_host: str = "0.0.0.0"
    vllm_server_port: int = 8000
    vllm_tensor_parallel_size: int = 1
    deepspeed: str | None = None           # path to a DeepSpeed JSON config (ZeRO-3 for the paper presets)
    # evaluation during training (spurious.rl.eval_during_training; rows "kind": "eval" in metrics.jsonl)
    eval_every_phases: int = 0             # evaluate the base model and every N phases (0: never; paper: 1)
    eval_benchmarks: list[str] = field(default_factory=lambda: ["math500", "amc23", "aime24", "aime25"])
    eval_samples: int | None = None        # samples per problem for every benchmark (None: paper, 1 or avg@8)
    eval_temperature: float | None = None  # None: the paper's (greedy MATH-500, 0.6 AMC/AIME)
    eval_max_new_tokens: int = 3072
    eval_limit: int | None = None          # first N problems of each benchmark
    eval_template: str | None = None       # None: the training template
    eval_grader: str = "default"           # spurious.grading grader: default | official
    eval_batch_size: int = 16              # transformers backend only
    eval_keep_samples: bool = True         # keep <run>/eval-training/phase-N/samples.jsonl (summary.json always)

    # ---------------------------------------------------------------- derived schedule

    @property
    def rollouts_per_phase(self) -> int:
        return self.prompts_per_phase * self.group_size

    @property
    def optimizer_steps_per_phase(self) -> int:
        return self.rollouts_per_phase // self.minibatch_size

    @property
    def total_optimizer_steps(self) -> int:
        return self.max_steps if self.max_steps else self.phases * self.optimizer_steps_per_phase

    @property
    def total_phases(self) -> int:
        return -(-self.total_optimizer_steps // self.optimizer_steps_per_phase)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def schedule(self, num_processes: int = 1) -> dict[str, int]:
        """The TRL batch settings for ``num_processes`` data-parallel processes (validates divisibility)."""
        self.validate(num_processes)
        per_device = self.minibatch_size // num_processes
        micro = self.micro_batch_size or per_device
        accum = per_device // micro
        return {
            "per_device_train_batch_size": micro,
            "gradient_accumulation_steps": accum,
            "steps_per_generation": self.optimizer_steps_per_phase * accum,
            "num_generations": self.group_size,
            "num_iterations": 1,
            "max_steps": self.total_optimizer_steps,
            "optimizer_steps_per_phase": self.optimizer_steps_per_phase,
            "rollouts_per_phase": self.rollouts_per_phase,
        }

    # ---------------------------------------------------------------- validation

    def validate(self, num_processes: int = 1, source: str | None = None) -> None:
        """Raise :class:`ConfigError` naming the first bad field: its type (:func:`type_problem`), then its
        value. Loads nothing heavy (no model, no dataset)."""
        def bad(f, msg):
            raise ConfigError(f, msg, source)

        for f in dataclasses.fields(self):
            problem = type_problem(getattr(self, f.name), f.type)
            if problem:
                bad(f.name, problem)
        for f in ("prompts_per_phase", "group_size", "minibatch_size", "phases", "max_completion_tokens"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                bad(f, f"must be a positive integer, got {v!r}")
        if self.group_size < 2:
            bad("group_size", "GRPO needs at least 2 rollouts per prompt")
        if self.rollouts_per_phase % self.minibatch_size:
            bad("minibatch_size", f"{self.minibatch_size} does not divide the {self.rollouts_per_phase} rollouts "
                                  f"per phase (prompts_per_phase {self.prompts_per_phase} x group_size "
                                  f"{self.group_size})")
        if self.minibatch_size % num_processes:
            bad("minibatch_size", f"{self.minibatch_size} rollouts per optimizer step cannot be split evenly "
                                  f"over {num_processes} processes")
        per_device = self.minibatch_size // num_processes
        if self.micro_batch_size is not None and (self.micro_batch_size < 1 or per_device % self.micro_batch_size):
            bad("micro_batch_size", f"{self.micro_batch_size} must divide the {per_device} rollouts per "
                                    f"process per optimizer step")
        choices = {"optimizer": OPTIMIZERS, "surrogate": SURROGATES, "loss_aggregation": AGGREGATIONS,
                   "advantage": ADVANTAGE_MODES, "advantage_sign": ADVANTAGE_SIGNS, "kl_estimator": KL_ESTIMATORS,
                   "vllm_mode": VLLM_MODES,
                   "dtype": ("float32", "bfloat16", "float16")}
        for f, allowed in choices.items():
            if getattr(self, f) not in allowed:
                bad(f, f"{getattr(self, f)!r} is not one of {list(allowed)}")
        for f in ("eps_low", "eps_high", "beta", "learning_rate", "max_grad_norm", "temperature"):
            v = getattr(self, f)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                bad(f, f"must be a non-negative number, got {v!r}")
        if self.cispo_max_ratio <= 0:
            bad("cispo_max_ratio", f"must be > 0, got {self.cispo_max_ratio!r}")
        if not math.isfinite(self.entropy_coef):
            bad("entropy_coef", f"must be a finite number, got {self.entropy_coef!r}")
        if self.temperature == 0:
            bad("temperature", "GRPO samples rollouts: temperature must be > 0")
        if self.official_micro_batch < 1:
            bad("official_micro_batch", "must be >= 1")
        if self.old_logps not in OLD_LOGPS:
            bad("old_logps", f"{self.old_logps!r} is not one of {list(OLD_LOGPS)}")
        if self.old_logps == "sampler" and (self.use_vllm or self.bf16 or self.dtype != "float32"):
            bad("old_logps", "'sampler' needs the transformers backend in float32 (vLLM and half precision "
                             "sample from a distribution that differs from the trainer's; use 'recompute')")
        for f in ("save_every_phases", "rollout_log_every"):
            if getattr(self, f) < 0:
                bad(f, "must be >= 0")
        if not isinstance(self.reward_params, dict):
            bad("reward_params", "must be a mapping")
        if self.deepspeed is not None and not Path(self.deepspeed).exists():
            bad("deepspeed", f"file not found: {self.deepspeed}")
        if self.save_total_limit is not None and self.save_total_limit < 1:
            bad("save_total_limit", f"must be >= 1 or null (keep every checkpoint), got {self.save_total_limit}")
        if self.max_steps is not None and self.max_steps < 1:
            bad("max_steps", f"must be a positive integer or null, got {self.max_steps}")
        if self.dataset_limit is not None and self.dataset_limit < 1:
            bad("dataset_limit", f"must be a positive integer or null, got {self.dataset_limit}")
        if self.max_prompt_tokens is not None and self.max_prompt_tokens < 1:
            bad("max_prompt_tokens", f"must be a positive integer or null, got {self.max_prompt_tokens}")
        if not self.name or Path(self.name).name != self.name or self.name in (".", ".."):
            bad("name", f"{self.name!r} must be a plain folder name (no '/', '..'): the run folder is "
                        f"<output_dir>/<name>")

        try:
            get_template(self.template)
        except ValueError as e:
            bad("template", str(e))
        self.validate_eval(bad)

    def validate_eval(self, bad) -> None:
        """The evaluation-during-training fields; ``bad(field, message)`` raises."""
        for f in ("eval_every_phases",):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                bad(f, f"must be an integer >= 0, got {v!r}")
        for f in ("eval_max_new_tokens", "eval_batch_size", "eval_samples", "eval_limit"):
            v = getattr(self, f)
            if v is None and f in ("eval_samples", "eval_limit"):
                continue
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                bad(f, f"must be a positive integer, got {v!r}")
        if self.eval_temperature is not None and (not isinstance(self.eval_temperature, (int, float))
                                                  or isinstance(self.eval_temperature, bool)
                                                  or self.eval_temperature < 0):
            bad("eval_temperature", f"must be a number >= 0, got {self.eval_temperature!r}")
        if not isinstance(self.eval_benchmarks, list) or not all(isinstance(b, str) and b for b in
                                                                  self.eval_benchmarks):
            bad("eval_benchmarks", f"must be a list of benchmark names or .jsonl paths, got {self.eval_benchmarks!r}")
        if self.eval_every_phases and not self.eval_benchmarks:
            bad("eval_benchmarks", "is empty while eval_every_phases > 0")

        if self.eval_grader not in GRADERS:
            bad("eval_grader", f"{self.eval_grader!r} is not one of {list(GRADERS)}")

    # ---------------------------------------------------------------- (de)serialisation

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str | None = None) -> "TrainConfig":
        unknown = sorted(set(d) - cls.field_names())
        if unknown:
            raise ConfigError(unknown[0], f"unknown key (known keys: {', '.join(sorted(cls.field_names()))})",
                              source)
        return cls(**d)

    def replace(self, **changes: Any) -> "TrainConfig":
        unknown = sorted(set(changes) - self.field_names())
        if unknown:
            raise ConfigError(unknown[0], "unknown key")
        return dataclasses.replace(self, **changes)


_SCALARS = {"int": int, "float": (int, float), "str": str, "bool": bool}


def type_problem(value: Any, annotation: str) -> str | None:
    """Why ``value`` does not fit a field annotated ``annotation`` (``"int | None"``, ``"list[str]"``, ...), or None.

    ``bool`` is not accepted for ``int``/``float`` (YAML's ``true`` is no count) and an ``int`` is a ``float``.
    """
    options = [a.strip() for a in str(annotation).split("|")]
    if "None" in options and value is None:
        return None
    for opt in options:
        base = opt.split("[", 1)[0]
        if base in _SCALARS:
            if isinstance(value, _SCALARS[base]) and (base == "bool" or not isinstance(value, bool)):
                return None
        elif base == "list" and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return None
        elif base == "dict" and isinstance(value, dict):
            return None
    want = " or ".join("null" if o == "None" else o for o in options)
    return f"must be {want}, got {value!r} ({type(value).__name__})"


# -------------------------------------------------------------------- presets and overrides


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """The YAML file of a preset name, or ``name`` itself when it is a path (a .yaml/.yml suffix or a separator)."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or os.sep in name or "/" in name:
        if p.is_file():
            return p
        raise ConfigError("preset", f"{name}: {'not a file' if p.exists() else 'file not found'}")
    cand = PRESET_DIR / f"{name}.yaml"
    if not cand.exists():
        raise ConfigError("preset", f"unknown preset {name!r}: choose from {preset_names()} or give a YAML path")
    return cand


def load_preset(name: str) -> dict[str, Any]:
    """A preset's key/values (YAML); ``extends: <preset>`` inherits another preset first."""
    path = preset_path(name)
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError("preset", f"{path} must hold a mapping")
    parent = data.pop("extends", None)
    base = load_preset(parent) if parent else {}
    base.update(data)
    unknown = sorted(set(base) - TrainConfig.field_names())
    if unknown:
        raise ConfigError(unknown[0], "unknown key", str(path))
    # paths inside presets (deepspeed configs) are relative to the preset folder
    if base.get("deepspeed") and not os.path.isabs(base["deepspeed"]):
        base["deepspeed"] = str((PRESET_DIR / base["deepspeed"]).resolve())
    return base


def apply_overrides(values: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Apply ``key=value`` strings (values read by :func:`spurious.assignments.parse_value`);
    ``reward_params.gamma=0.3`` sets one entry of a mapping field."""
    out = dict(values)
    for a in assignments:
        if "=" not in a:
            raise ConfigError(a, "expected key=value")
        key, value = parse_assignment(a, option="--set")
        top, _, sub = key.partition(".")
        if top not in TrainConfig.field_names():
            raise ConfigError(top, "unknown key")
        if sub:
            d = dict(out.get(top) or {})
            d[sub] = value
            out[top] = d
        else:
            out[top] = value
    return out


def build_config(preset: str | None = None, overrides: list[str] = (), **explicit: Any) -> TrainConfig:
    """Preset, then ``--set`` overrides, then explicit keyword values (None values are ignored).

    A preset's ``reward_params`` belong to the preset's reward: when the reward is changed (by ``--set reward=``
    or ``reward=...``) they are dropped, and only the ``reward_params`` the overrides set remain.
    """
    base = load_preset(preset) if preset else {}
    given = {k: v for k, v in explicit.items() if v is not None}
    values = {**apply_overrides(base, list(overrides)), **given}
    if values.get("reward") != base.get("reward", values.get("reward")):
        values = {**apply_overrides({**base, "reward_params": {}}, list(overrides)), **given}
    return TrainConfig.from_dict(values, source=f"preset {preset}" if preset else None)


def save_config(config: TrainConfig, path: Path, extra: dict[str, Any] | None) -> None:
    """Write ``<path>.yaml`` (the resolved config) and, unless ``extra`` is None, ``<path>.json`` with it."""
    path = Path(path)
    with atomic_open(path.parent / f"{path.name}.yaml") as fh:
        yaml.safe_dump(config.to_dict(), fh, sort_keys=False)
    if extra is not None:
        write_json(path.parent / f"{path.name}.json", {"config": config.to_dict(), **extra})


def read_config(run_dir: Path) -> TrainConfig:
    p = Path(run_dir) / "config.yaml"
    if not p.exists():
        raise InputError(p, None, "no config.yaml: not a spurious run folder (give runs/<name>)")
    return TrainConfig.from_dict(yaml.safe_load(p.read_text()), source=str(p))
