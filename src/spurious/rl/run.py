"""``train(config)``: validate, build the dataset, load the model, run :class:`SpuriousGRPOTrainer`, resume.

Order matters: everything that can be checked without a model (config, reward, dataset, run folder,
checkpoint) is checked first, so a bad run fails in seconds, naming the field.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from spurious.data import Problem, get_template, load_problems
from spurious.io import InputError, append_jsonl
from spurious.models import load_or_build, save_model
from spurious.provenance import provenance
from spurious.rewards import Reward, get_reward
from spurious.rewards.user import FunctionReward
from spurious.rl.config import ConfigError, TrainConfig, save_config
from spurious.rl.eval_during_training import eval_callbacks
from spurious.rl.records import RunRecorder
from spurious.rl.trainer import SpuriousGRPOTrainer
from spurious.run_files import CHECKPOINT_DIR, list_checkpoints, read_metrics

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


@dataclass
class TrainResult:
    """What :func:`train` returns: the run folder, its per-phase and per-step metrics, the trained model."""

    run_dir: Path
    phases: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    model: Any = None
    tokenizer: Any = None
    already_complete: bool = False  # a resume found the run at its end point and changed nothing

    @property
    def final(self) -> dict[str, Any]:
        return self.phases[-1] if self.phases else {}


def num_processes() -> int:
    """Data-parallel world size as set by ``accelerate launch`` / torchrun (1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def with_launcher_deepspeed(config: TrainConfig) -> TrainConfig:
    """``config`` with ``deepspeed`` set to the JSON that ``accelerate launch`` was given, if it names none.

    ``accelerate launch --config_file <yaml with deepspeed_config_file>`` passes the JSON through the
    environment; the trainer needs it in ``GRPOConfig(deepspeed=...)`` *before* the model is built, so that
    ZeRO-3 partitions the model while loading it (and the run's config.yaml records it for resume).
    """
    launched = os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"
    path = os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE")
    if config.deepspeed is None and launched and path and path.lower() != "none":
        return config.replace(deepspeed=str(Path(path).resolve()))
    return config


def completed_steps(run_dir: Path) -> int:
    """The last optimizer step recorded in ``<run>/metrics.jsonl`` (0 when there is none)."""
    return max((int(r.get("optimizer_step") or 0) for r in read_metrics(run_dir)), default=0)


# ------------------------------------------------------------------------------------------ inputs


def resolve_reward(config: TrainConfig, reward=None):
    """A :class:`Reward` from ``reward`` (a Reward, or a plain function as in ``docs/rewards.md``'s user
    rewards) or from ``config.reward``/``reward_params``."""

    if reward is not None:
        return reward if isinstance(reward, Reward) else FunctionReward(reward)
    try:
        built = get_reward(config.reward, **config.reward_params)
    except (ValueError, TypeError, KeyError) as e:
        raise ConfigError("reward", str(e)) from e
    # random parts are keyed by the run seed unless reward_params fixes one explicitly
    return built if "seed" in config.reward_params else built.with_seed(config.seed)


def load_dataset_rows(config: TrainConfig) -> list[dict[str, Any]]:
    """Problems as ``{"problem", "answer", "problem_id"}`` rows, from a name, a JSONL/JSON/parquet file or the hub."""

    src = config.dataset
    cols = {"problem_column": config.problem_column, "answer_column": config.answer_column}
    if src.startswith("hub:"):
        import datasets

        hub_id, _, split = src[4:].partition(":")
        ds = datasets.load_dataset(hub_id, split=split or "train")
        rows = _rows_from_table(ds, src, config)
    elif Path(src).suffix in (".parquet", ".json") and Path(src).exists():
        import datasets

        kind = "parquet" if src.endswith(".parquet") else "json"
        rows = _rows_from_table(datasets.load_dataset(kind, data_files=src, split="train"), src, config)
    else:
        try:
            problems = load_problems(src, limit=config.dataset_limit, **(cols if Path(src).exists() else {}))
        except ValueError as e:
            if isinstance(e, InputError):
                raise
            raise ConfigError("dataset", str(e)) from e
        rows = [{"problem": p.problem, "answer": p.answer, "problem_id": p.id} for p in problems]
    if config.dataset_limit is not None:
        rows = rows[:config.dataset_limit]
    if len(rows) < config.prompts_per_phase:
        raise ConfigError("dataset", f"{src} has {len(rows)} problems, fewer than prompts_per_phase "
                                     f"{config.prompts_per_phase}")
    return rows


def _rows_from_table(ds, src: str, config: TrainConfig) -> list[dict[str, Any]]:
    for col in (config.problem_column, config.answer_column):
        if col not in ds.column_names:
            raise InputError(src, None, f"missing column (columns: {ds.column_names})", field=col)
    out = []
    for i, r in enumerate(ds):
        out.append({"problem": str(r[config.problem_column]), "answer": str(r[config.answer_column]),
                    "problem_id": str(r.get("id", f"{Path(src).stem}-{i}"))})
        if config.dataset_limit is not None and len(out) >= config.dataset_limit:
            break
    return out


def rows_from_memory(dataset: Any, config: TrainConfig) -> list[dict[str, Any]]:
    """In-memory datasets: a list of Problem, a list of dicts, or a ``datasets.Dataset``.

    Dict rows need ``answer`` and either ``prompt`` (used as is: text or chat messages) or ``problem``.
    """

    rows = []
    for i, item in enumerate(dataset):
        if isinstance(item, Problem):
            rows.append({"problem": item.problem, "answer": item.answer, "problem_id": item.id})
            continue
        item = dict(item)
        if "answer" not in item:
            raise InputError("<dataset>", i + 1, "missing", field="answer")
        if "prompt" not in item and "problem" not in item:
            raise InputError("<dataset>", i + 1, "missing (need 'prompt' or 'problem')", field="prompt")
        item.setdefault("problem_id", str(item.get("id", i)))
        rows.append(item)
    if len(rows) < config.prompts_per_phase:
        raise ConfigError("dataset", f"{len(rows)} rows, fewer than prompts_per_phase {config.prompts_per_phase}")
    return rows


def build_trl_dataset(rows: list[dict[str, Any]], config: TrainConfig, tokenizer):
    """The TRL dataset: ``prompt`` (chat messages, or text for raw templates / assistant prefixes),
    ``prompt_text`` (the prompt as the model reads it, for the rollout records), ``answer``, ``prompt_index``
    (the row: the rollout key), ``problem_id``. Prompts over ``max_prompt_tokens`` are dropped."""
    import datasets


    template = get_template(config.template)
    out = []
    dropped = 0
    for row in rows:
        if "prompt" in row:
            prompt = row["prompt"]
        elif template.is_chat and not template.assistant_prefix:
            prompt = template.messages(row["problem"])
        else:
            prompt = template.render(row["problem"], tokenizer)
        text = prompt if isinstance(prompt, str) else tokenizer.apply_chat_template(
            prompt, tokenize=False, add_generation_prompt=True)
        if config.max_prompt_tokens and \
                len(tokenizer(text, add_special_tokens=False)["input_ids"]) > config.max_prompt_tokens:
            dropped += 1
            continue
        out.append({"prompt": prompt, "prompt_text": text, "answer": str(row["answer"]), "prompt_index": len(out),
                    "problem_id": str(row["problem_id"])})
    if len(out) < config.prompts_per_phase:
        raise ConfigError("max_prompt_tokens", f"only {len(out)} prompts fit in {config.max_prompt_tokens} tokens")
    return datasets.Dataset.from_list(out), dropped


# ------------------------------------------------------------------------------------------ TRL config


def vllm_stop_kwargs(config: TrainConfig) -> dict[str, Any]:
    """vLLM sampling parameters that end a completion at the template's stop string, kept in the text as
    evaluation keeps it (``{}`` for templates without one). The transformers backend has no tokenizer at
    ``generate`` for stop strings; ``SpuriousGRPOTrainer._generate_single_turn`` cuts there instead."""

    stop = get_template(config.template).stop
    return {"stop": list(stop), "include_stop_str_in_output": True} if stop else {}


def grpo_config(config: TrainConfig, n_processes: int, *, world_size: int | None = None):
    """The ``trl.GRPOConfig`` implementing ``config`` on ``n_processes`` processes.

    ``world_size`` makes the config (TRL's batch checks, DeepSpeed's "auto" values) believe it runs on that
    many processes without starting them: :func:`spurious.rl.preflight.dry_run` uses it.
    """
    import torch
    from trl import GRPOConfig

    if world_size is not None:
        GRPOConfig = type("GRPOConfig", (GRPOConfig,), {"world_size": property(lambda self: world_size)})  # noqa: N806

    sched = config.schedule(n_processes)
    run_dir = config.run_dir
    save_steps = config.save_every_phases * sched["optimizer_steps_per_phase"]
    optim = {"adamw": "adamw_torch", "sgd": "sgd"}[config.optimizer]
    kwargs: dict[str, Any] = dict(
        output_dir=str(run_dir / "checkpoints"),
        per_device_train_batch_size=sched["per_device_train_batch_size"],
        gradient_accumulation_steps=sched["gradient_accumulation_steps"],
        steps_per_generation=sched["steps_per_generation"],
        num_generations=sched["num_generations"],
        num_iterations=1,
        max_steps=sched["max_steps"],
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_steps,
        optim=optim,
        adam_beta1=config.adam_beta1, adam_beta2=config.adam_beta2, adam_epsilon=config.adam_epsilon,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        epsilon=config.eps_low, epsilon_high=config.eps_high,
        beta=config.beta,
        loss_type="grpo",  # unused: SpuriousGRPOTrainer computes the loss itself
        scale_rewards={"official": "group", "rloo": "none", "reinforce": "none"}.get(config.advantage,
                                                                                     config.advantage),
        max_completion_length=config.max_completion_tokens,
        temperature=config.temperature, top_p=config.top_p, top_k=config.top_k,
        mask_truncated_completions=config.mask_truncated_completions,
        seed=config.seed,
        logging_steps=1,
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 1,
        save_total_limit=config.save_total_limit,
        report_to=list(config.report_to) or "none",
        disable_tqdm=True,
        remove_unused_columns=False,
        bf16=config.bf16,
        activation_checkpointing=config.gradient_checkpointing,
        use_cpu=not torch.cuda.is_available(),
        use_vllm=config.use_vllm,
        log_completions=False,
        ddp_find_unused_parameters=False,
    )
    if config.optimizer == "sgd":
        kwargs["optim_args"] = f"momentum={config.momentum}"
    if config.use_vllm:
        kwargs.update(vllm_mode=config.vllm_mode, vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization,
                      vllm_server_host=config.vllm_server_host, vllm_server_port=config.vllm_server_port,
                      vllm_tensor_parallel_size=config.vllm_tensor_parallel_size,
                      # the paper applies no vLLM-vs-trainer correction (docs/paper.md §3.3); our loss ignores it anyway
                      vllm_importance_sampling_correction=False)
        stop = vllm_stop_kwargs(config)
        if stop:
            kwargs["generation_kwargs"] = stop
    if config.deepspeed:
        kwargs["deepspeed"] = config.deepspeed
    return GRPOConfig(**kwargs)


# ------------------------------------------------------------------------------------------ checkpoints


def checkpoint_problems(folder: Path) -> list[str]:
    """What a complete checkpoint folder lacks (empty: complete).

    One process writes ``rng_state.pth``; N processes write ``rng_state_0.pth`` .. ``rng_state_{N-1}.pth``.
    The optimizer state is ``optimizer.pt``, or under DeepSpeed a ``global_step<N>/`` folder (named by the
    ``latest`` file) holding every rank's ``*optim_states.pt``.
    """
    folder = Path(folder)
    missing = [f for f in ("trainer_state.json", "scheduler.pt") if not (folder / f).exists()]
    if not any((folder / w).exists() for w in WEIGHT_FILES):
        missing.append("model.safetensors")
    if not (folder / "rng_state.pth").exists():
        ranks = sorted(int(p.stem.rsplit("_", 1)[1]) for p in folder.glob("rng_state_*.pth")
                       if p.stem.rsplit("_", 1)[1].isdigit())
        if not ranks or ranks != list(range(len(ranks))):
            missing.append("rng_state.pth (or rng_state_<rank>.pth for every rank)")
    if not (folder / "optimizer.pt").exists():
        latest = folder / "latest"
        tag = latest.read_text().strip() if latest.exists() else ""
        if not tag or not any((folder / tag).glob("*optim_states.pt")):
            missing.append("optimizer.pt (or DeepSpeed's latest + global_step*/ optimizer states)")
    return missing


def find_checkpoint(run_dir: Path) -> Path:
    """The latest checkpoint of a run; a clear error when there is none or it is damaged.

    ``trainer_state.json`` is written last, so a newer folder without it is a save cut short by the
    interruption itself: it is skipped (with a warning). A folder that has it but lacks another file
    (:func:`checkpoint_problems`) is corrupt: an error, never a silent restart.
    """
    ckdir = Path(run_dir) / CHECKPOINT_DIR
    cands = [folder for _, folder in list_checkpoints(run_dir)]
    while cands and not (cands[-1] / "trainer_state.json").exists():
        warnings.warn(f"{cands[-1]}: save was interrupted (no trainer_state.json); resuming from an earlier one")
        cands.pop()
    if not cands:
        raise InputError(ckdir, None, "no complete checkpoint to resume from (checkpoints are written every "
                                      "save_every_phases phases)")
    last = cands[-1]
    missing = checkpoint_problems(last)
    if missing:
        raise InputError(last, None, f"checkpoint is corrupt: missing {', '.join(missing)}")
    try:
        state = json.loads((last / "trainer_state.json").read_text())
        int(state["global_step"])
    except (ValueError, KeyError) as e:
        raise InputError(last / "trainer_state.json", None, f"unreadable trainer state ({e})") from e
    return last


# ------------------------------------------------------------------------------------------ train


def train(config: TrainConfig, *, model=None, tokenizer=None, dataset=None, reward=None,
          callbacks: Sequence[Any] = (), accuracy_fn: Callable | None = None, resume: bool = False,
          overwrite: bool = False) -> TrainResult:
    """Run GRPO as ``config`` says; returns the run folder and its metrics.

    ``model``/``tokenizer``/``dataset``/``reward`` override what ``config`` names (in-memory use: the
    organism passes a tiny model, a dataset of dicts and a :class:`Reward`). ``accuracy_fn(responses,
    answers) -> list[bool]`` replaces the project grader for each rollout's ``correct`` (and the ``accuracy``
    metric). ``resume`` continues
    from the run folder's latest checkpoint. ``callbacks`` are ``transformers.TrainerCallback`` objects.
    """

    nproc = num_processes()
    config = with_launcher_deepspeed(config)
    config.validate(nproc)
    reward_obj = resolve_reward(config, reward)
    rows = rows_from_memory(dataset, config) if dataset is not None else load_dataset_rows(config)
    run_dir = config.run_dir
    checkpoint = None
    if resume:
        done = completed_steps(run_dir)
        if done >= config.total_optimizer_steps:
            return _finished_run(config)
        checkpoint = find_checkpoint(run_dir)
    elif (run_dir / "metrics.jsonl").exists() and not overwrite:
        raise InputError(run_dir, None, "run folder already has metrics: resume it (--resume) or choose another "
                                        "name (--name) / --overwrite")
    is_main = int(os.environ.get("RANK", "0")) == 0
    if is_main and not resume and overwrite and run_dir.exists():
        shutil.rmtree(run_dir)
    fresh = not resume and not run_dir.exists()  # removed again if the run fails before its first checkpoint
    if is_main:  # an unwritable output fails now, not after the model has loaded
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(run_dir, None, f"cannot create the run folder: {e.strerror or e}") from e

    import transformers
    from transformers.trainer_callback import PrinterCallback, ProgressCallback


    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*", category=FutureWarning)
    if "tensorboard" in config.report_to:
        os.environ["TENSORBOARD_LOGGING_DIR"] = str(run_dir / "tensorboard")
    # GRPOConfig first: with a DeepSpeed ZeRO-3 config it makes the model load partitioned over the ranks.
    args = grpo_config(config, nproc)
    _setup_distributed(args)
    if model is None or tokenizer is None:
        model, tokenizer = load_or_build(config.model, dtype=config.dtype)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    train_ds, dropped = build_trl_dataset(rows, config, tokenizer)
    recorder = RunRecorder(run_dir, total_phases=config.total_phases, progress=config.progress, enabled=is_main)
    if is_main:
        facts = provenance(seed=config.seed, num_processes=nproc, schedule=config.schedule(nproc),
                           reward=repr(reward_obj), dataset_rows=len(train_ds), prompts_dropped_too_long=dropped)
        if checkpoint is None:
            save_config(config, run_dir / "config", facts)
        else:  # keep the original provenance; record each resume (and a possibly new end point)

            save_config(config, run_dir / "config", None)
            append_jsonl(run_dir / "resumes.jsonl", {"checkpoint": str(checkpoint), "config": config.to_dict(),
                                                     **facts})
    if config.beta != 0.0 or (config.use_vllm and config.vllm_mode == "colocate"):  # both reload from a path
        _ensure_reference_path(model, tokenizer, run_dir)
    trainer = SpuriousGRPOTrainer(
        model=model, args=args, train_dataset=train_ds, processing_class=tokenizer, callbacks=list(callbacks),
        spurious_config=config, reward=reward_obj, accuracy_fn=accuracy_fn, recorder=recorder)
    for cb in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(cb)
    for cb in eval_callbacks(trainer):  # evaluation during training (eval_every_phases)
        trainer.add_callback(cb)
    steps_done = 0
    if checkpoint is not None:
        steps_done = json.loads((checkpoint / "trainer_state.json").read_text())["global_step"]
        recorder.truncate_to(steps_done, config.optimizer_steps_per_phase)
    recorder.start(completed_phases=steps_done // config.optimizer_steps_per_phase)
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        trainer.finish()
    except BaseException:
        recorder.stop()
        if fresh and is_main:
            _remove_if_no_checkpoint(run_dir)
        raise
    recorder.stop()
    if config.save_final:
        save_final(trainer, tokenizer, run_dir / "final")
    return TrainResult(run_dir=run_dir, phases=recorder.read("phase"), steps=recorder.read("step"),
                       model=trainer.model, tokenizer=tokenizer)


def _remove_if_no_checkpoint(run_dir: Path) -> None:
    """A new run that failed before writing any checkpoint has nothing to resume: its folder would only block a
    plain rerun, so it goes."""
    if not list_checkpoints(run_dir):
        shutil.rmtree(run_dir, ignore_errors=True)


def _setup_distributed(args) -> None:
    """Start the process group now, before the model is built: under ZeRO-3, ``zero.Init`` partitions the
    weights while loading and needs DeepSpeed's communication layer (``deepspeed.comm``) to know the ranks."""
    args.device  # noqa: B018 - TrainingArguments sets up torch.distributed lazily, on first use
    if args.deepspeed:
        import deepspeed
        from deepspeed.accelerator import get_accelerator

        deepspeed.init_distributed(dist_backend=get_accelerator().communication_backend_name())


def _finished_run(config: TrainConfig) -> TrainResult:
    """Resuming a run that already reached its end point changes nothing: it says so and returns its records."""
    recorder = RunRecorder(config.run_dir, total_phases=config.total_phases, progress=False, enabled=False)
    return TrainResult(run_dir=config.run_dir, phases=recorder.read("phase"), steps=recorder.read("step"),
                       already_complete=True)


def save_final(trainer, tokenizer, path: Path) -> None:
    """Write the trained model to ``path`` (``from_pretrained`` loads it). Every process must call it: under
    ZeRO-3 each rank holds a slice of the weights, and gathering them is a collective; the main process writes."""

    acc = trainer.accelerator
    if getattr(trainer, "is_deepspeed_enabled", False):
        state = acc.get_state_dict(trainer.deepspeed)  # full weights on the main process
        if acc.is_main_process:
            acc.unwrap_model(trainer.model).save_pretrained(str(path), state_dict=state)
            tokenizer.save_pretrained(str(path))
    elif acc.is_main_process:
        save_model(trainer.model, tokenizer, path)
    acc.wait_for_everyone()


def _ensure_reference_path(model, tokenizer, run_dir: Path) -> None:
    """TRL builds the KL reference, and the colocated vLLM engine, by loading the policy from
    ``config._name_or_path``; an in-memory model (tiny, SmolLM2 from GGUF, the organism) has no such path, so its
    initial weights go to ``<run>/reference``."""
    from accelerate import PartialState


    src = getattr(model.config, "_name_or_path", "") or ""
    path = Path(src)
    if path.is_dir():
        if (path / "config.json").exists() and any((path / w).exists() for w in WEIGHT_FILES):
            return  # a saved model folder: TRL reloads it
    elif "/" in src and not path.is_absolute() and not src.startswith("."):
        return  # a hub id: TRL reloads it
    ref = run_dir / "reference"
    partitioned = [p for p in model.parameters() if hasattr(p, "ds_id")]
    if partitioned:  # built under ZeRO-3: each rank holds a slice; gathering them is a collective
        import deepspeed

        with deepspeed.zero.GatheredParameters(partitioned):
            if PartialState().is_main_process and not (ref / "config.json").exists():
                save_model(model, tokenizer, ref)
        PartialState().wait_for_everyone()
    else:
        with PartialState().main_process_first():
            if not (ref / "config.json").exists():
                save_model(model, tokenizer, ref)
    model.config._name_or_path = str(ref)
    model.name_or_path = str(ref)  # what the vLLM engine loads
