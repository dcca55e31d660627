"""Evaluation during training: the paper's benchmark curves from one run, without a checkpoint per phase.

:class:`EvalDuringTraining` (a ``transformers.TrainerCallback``) evaluates the base model before the first
phase and the policy after every ``eval_every_phases`` phases (and after the last one), with
:func:`spurious.eval.runner.evaluate` and the paper's protocol (MATH-500 greedy, AMC/AIME avg@8, unless the
``eval_*`` fields of :class:`~spurious.rl.config.TrainConfig` say otherwise). The generator is the run's own
colocated vLLM engine when ``use_vllm`` (its weights are synced first), else the transformers backend on the
training model.

Each evaluation writes ``<run>/eval-training/phase-<P>/summary.json`` (and ``samples.jsonl`` unless
``eval_keep_samples`` is false) and one ``metrics.jsonl`` line per benchmark::

    kind "eval", phase (completed phases: 0 = the base model), optimizer_step, benchmark, headline,
    accuracy (the headline: pass@1 or avg@k), pass_at_k_raw, maj_at_k, code_frequency, format_rate,
    truncation_rate, mean_length, samples, n_problems, fingerprint (of the generation settings, the same at
    every phase), backend, seconds

Evaluation does not change training: the RNG states are restored afterwards and the model's train/eval mode
is put back. With several processes every process evaluates (ZeRO-3 gathers and weight sync are collective;
the seeds are per sample, so all get the same result) and only the main process writes.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from transformers import TrainerCallback

from spurious.eval.backends import TransformersBackend, VLLMBackend
from spurious.eval.runner import evaluate

ROW_METRICS = ("pass_at_k_raw", "maj_at_k", "code_frequency", "format_rate", "truncation_rate", "mean_length",
               "samples", "n_problems")
EVAL_DIR = "eval-training"


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Restore Python's, NumPy's and torch's (CPU and CUDA) RNG states on exit."""
    import numpy as np
    import torch

    states = (random.getstate(), np.random.get_state(), torch.get_rng_state(),
              torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        if states[3] is not None:
            torch.cuda.set_rng_state_all(states[3])


def eval_rows(summary: dict[str, Any], *, phase: int, optimizer_step: int, backend: str, seconds: float
              ) -> list[dict[str, Any]]:
    """The ``metrics.jsonl`` lines of one evaluation (one per benchmark of ``evaluate``'s summary)."""
    rows = []
    for bench, s in summary["benchmarks"].items():
        rows.append({"kind": "eval", "phase": phase, "optimizer_step": optimizer_step, "benchmark": bench,
                     "headline": s["headline"], "accuracy": s["score"], **{k: s[k] for k in ROW_METRICS},
                     "fingerprint": s["fingerprint"], "backend": backend, "seconds": seconds})
    return rows


class EvalDuringTraining(TrainerCallback):
    """Evaluates ``trainer``'s policy every ``eval_every_phases`` phases (see the module docstring)."""

    def __init__(self, trainer: Any):
        self.trainer = trainer
        self.config = trainer.sp
        self.steps_per_phase = self.config.optimizer_steps_per_phase
        self.last_step: int | None = None

    # ------------------------------------------------------------------ schedule

    def on_train_begin(self, args, state, control, **kwargs):
        if state.global_step == 0:  # a resumed run already has its earlier evaluations
            self.evaluate(phase=0, optimizer_step=0)

    def on_step_end(self, args, state, control, **kwargs):
        step = state.global_step
        last = step >= state.max_steps
        if step % self.steps_per_phase and not last:
            return
        phases_done = -(-step // self.steps_per_phase)
        if phases_done % self.config.eval_every_phases == 0 or last:
            self.evaluate(phase=phases_done, optimizer_step=step)

    # ------------------------------------------------------------------ evaluation

    def backend(self):
        """The run's colocated vLLM engine (weights synced to the current step), else transformers."""
        tr, cfg = self.trainer, self.config
        generation = getattr(tr, "vllm_generation", None)
        if cfg.use_vllm and generation is not None and getattr(generation, "mode", None) == "colocate":
            if tr.state.global_step != tr._last_loaded_step:
                generation.sync_weights()
                tr._last_loaded_step = tr.state.global_step  # TRL's own tag: no second sync for the next phase
            return VLLMBackend.from_engine(generation.llm, tr.processing_class, cfg.model,
                                           colocated_with="training")
        return TransformersBackend(tr.model, tr.processing_class, batch_size=cfg.eval_batch_size)

    def evaluate(self, phase: int, optimizer_step: int) -> list[dict[str, Any]]:
        """Evaluate now; write the summary and the metric lines (main process); return the lines."""
        if self.last_step == optimizer_step:
            return []
        self.last_step = optimizer_step
        tr, cfg = self.trainer, self.config
        main = tr.accelerator.is_main_process
        out = cfg.run_dir / EVAL_DIR / f"phase-{phase:05d}"
        if main and out.exists():  # left by a run killed after this point: its samples are not reused
            shutil.rmtree(out)
        was_training = tr.model.training
        t0 = time.perf_counter()
        with preserved_rng(), tempfile.TemporaryDirectory(prefix="spurious-eval-") as scratch:
            try:
                backend = self.backend()
                summary = evaluate(
                    backend, list(cfg.eval_benchmarks), template=cfg.eval_template or cfg.template,
                    samples=cfg.eval_samples, temperature=cfg.eval_temperature,
                    max_new_tokens=cfg.eval_max_new_tokens, limit=cfg.eval_limit, grader=cfg.eval_grader,
                    out_dir=out if main else Path(scratch), batch_size=cfg.eval_batch_size, seed=cfg.seed,
                    model_name=cfg.model, show=False,
                    extra_provenance={"run": str(cfg.run_dir), "phase": phase, "optimizer_step": optimizer_step})
            finally:
                tr.model.train(was_training)
        if main and not cfg.eval_keep_samples:
            (out / "samples.jsonl").unlink(missing_ok=True)
        rows = eval_rows(summary, phase=phase, optimizer_step=optimizer_step, backend=backend.name,
                         seconds=time.perf_counter() - t0)
        if main and tr.sp_recorder is not None:
            for row in rows:
                tr.sp_recorder.write(row)
        return rows


def eval_callbacks(trainer: Any) -> list[EvalDuringTraining]:
    """``[EvalDuringTraining(trainer)]`` when the run's config asks for evaluation during training, else ``[]``."""
    return [EvalDuringTraining(trainer)] if trainer.sp.eval_every_phases else []
