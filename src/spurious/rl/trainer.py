"""``SpuriousGRPOTrainer``: TRL's GRPOTrainer with our rewards, advantages, loss and instrumentation.

TRL keeps doing generation, data distribution, accumulation, checkpointing and logging back-ends. We replace
six hooks, minimally:

* ``_calculate_rewards`` - scores rollouts with a :class:`spurious.rewards.base.Reward` keyed by global
  (phase, prompt index, sample index); group-level rewards see whole groups even when a group is spread
  over processes. Also grades every rollout against the ground truth, detects code reasoning and the boxed
  format, logs the reward's grading health (``grader/*``: timeouts, errors, no-answer rate; ``reward/*``: the
  reward's own statistics such as majority-vote label accuracy), and writes the phase's rollouts.
* ``_generate_and_score_completions`` - replaces TRL's advantages by :func:`spurious.rl.advantages.compute_advantages`.
* ``_compute_loss`` - :func:`spurious.rl.loss.policy_loss` and its clipping statistics.
* ``_get_per_token_logps_and_entropies`` - TRL's forward pass on each chunk trimmed of its all-padding columns
  (:func:`padding_window`); the same numbers at a fraction of the padded width. So that the old log-probs come
  from exactly the passes training makes (first-step ratio exactly 1), ``_prepare_inputs`` computes them per
  training micro-batch after TRL's shuffle and split, in place of TRL's pass over the generation batch.
* ``log`` - writes one ``metrics.jsonl`` line per optimizer step and one per phase (see docs/training.md).
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from accelerate.utils import gather_object
from trl import GRPOTrainer
from trl.models.utils import disable_gradient_checkpointing

from spurious.grading import grader_metrics, grader_stats
from spurious.rl.advantages import compute_advantages
from spurious.rl.config import TrainConfig
from spurious.rl.loss import policy_loss
from spurious.rl.records import RunRecorder
from spurious.rl.rollouts import build_samples, prompt_text, score_diagnostics
from spurious.rl.stats import DIAGNOSTIC_PREFIXES, StepStats
from spurious.rl.vllm_colocate import adapt_colocated_engine, run_seeded_engines

_MEAN_OVER_STEPS = ("clip/low_frac", "clip/high_frac", "pi_bar", "entropy", "ratio/mean", "loss", "grad_norm", "kl")


def padding_window(attention_mask: torch.Tensor, completion_width: int) -> tuple[int, int]:
    """``(lead, keep)`` for a batch laid out as [left-padded prompt | right-padded completion]: ``lead`` leading
    columns are padding in every row, and only the first ``keep`` completion columns hold a token in any row
    (at least 1, so an all-masked batch still has a column to score)."""
    prompt = attention_mask[:, :attention_mask.size(1) - completion_width]
    completion = attention_mask[:, attention_mask.size(1) - completion_width:]
    used = prompt.any(dim=0).nonzero()
    lead = int(used[0]) if used.numel() else prompt.size(1)
    cols = completion.any(dim=0).nonzero()
    keep = int(cols[-1]) + 1 if cols.numel() else 1
    return lead, keep


class SpuriousGRPOTrainer(GRPOTrainer):
    """GRPOTrainer whose reward, advantage, loss and metrics follow ``spurious_config`` (a TrainConfig)."""

    def __init__(self, *args: Any, spurious_config: TrainConfig, reward, accuracy_fn=None,
                 recorder: RunRecorder | None = None, **kwargs: Any):
        with run_seeded_engines(spurious_config.seed):  # vLLM: the run seed decides generations
            super().__init__(*args, **kwargs)
        adapt_colocated_engine(self)  # vLLM's CPU build: weight sync by in-place reload
        self.sp = spurious_config
        self.sp_reward = reward
        self.sp_accuracy_fn = accuracy_fn
        self.sp_recorder = recorder
        self.sp_steps_per_phase = spurious_config.optimizer_steps_per_phase
        self._sp_step_stats = StepStats()
        self._sp_last_step_metrics: dict[str, float] = {}
        self._sp_phase_steps: list[dict[str, Any]] = []
        self._sp_rollout: dict[str, float] = {}
        self._sp_time = {"generation": 0.0, "reward": 0.0}
        self._sp_phase_start = time.perf_counter()
        self._sp_global_rewards: torch.Tensor | None = None
        self._sp_prompt_cache: dict[int, str] = {}
        self._sp_pending_rollouts: list[dict[str, Any]] | None = None
        self._sp_defer_old_logps = False    # inside TRL's generation step: its old-log-prob pass is deferred
        self._sp_old_logps_pending = False  # deferred: _prepare_inputs computes them per micro-batch

    # ------------------------------------------------------------------ helpers

    @property
    def current_phase(self) -> int:
        """The rollout phase being trained (generation happens at the phase's first optimizer step)."""
        return self.state.global_step // self.sp_steps_per_phase

    def _is_main(self) -> bool:
        return self.accelerator.is_main_process

    # ------------------------------------------------------------------ generation and rewards

    def _generate(self, prompts: list):
        t = time.perf_counter()
        out = super()._generate(prompts)
        self._sp_time["generation"] += time.perf_counter() - t
        return out

    def _generate_and_score_completions(self, inputs):
        training = self.model.training
        if training:
            self._sp_phase_start = time.perf_counter()
            self._sp_time = {"generation": 0.0, "reward": 0.0}
        self._sp_pending_rollouts = None
        self._sp_defer_old_logps = training and self.sp.trim_padding
        try:
            out = super()._generate_and_score_completions(inputs)
        finally:
            self._sp_defer_old_logps = False
        if training and self._sp_global_rewards is not None:
            out["advantages"] = self._our_advantages(out["completion_mask"])
            if self._sp_pending_rollouts is not None:
                self._write_rollouts(out["advantages"].tolist())
        return out

    def _our_advantages(self, completion_mask: torch.Tensor) -> torch.Tensor:
        rewards = self._sp_global_rewards
        lengths = None
        if self.sp.advantage == "official":
            lengths = self.accelerator.gather(completion_mask.sum(1))
        adv = compute_advantages(rewards, self.sp.group_size, mode=self.sp.advantage,
                                 unbiased=self.sp.advantage_unbiased_std, eps=self.sp.advantage_eps, lengths=lengths,
                                 sign=self.sp.advantage_sign)
        n = completion_mask.size(0)
        i = self.accelerator.process_index
        return adv[i * n:(i + 1) * n].to(completion_mask.device)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        t = time.perf_counter()
        device = self.accelerator.device
        phase = self.current_phase
        n = len(prompts)
        offset = self.accelerator.process_index * n
        samples = build_samples(prompts, completions, inputs, phase=phase, group_size=self.sp.group_size,
                                offset=offset)
        graded_before = grader_stats()
        if getattr(self.sp_reward, "group_level", False) and self.accelerator.num_processes > 1:
            everyone = gather_object(samples)  # score whole groups; each process keeps its slice
            local = list(self.sp_reward(everyone))[offset:offset + n]
        else:
            local = list(self.sp_reward(samples))
        reward_health = grader_metrics(graded_before, grader_stats())
        reward_health.update({f"reward/{k}": float(v) for k, v in (getattr(self.sp_reward, "last_stats", None)
                                                                   or {}).items()})
        rewards = self.accelerator.gather(torch.tensor(local, dtype=torch.float32, device=device))

        responses = [s.response for s in samples]
        answers = [row.get("answer") for row in inputs]
        diag = score_diagnostics(responses, answers,
                                 accuracy_fn=self.sp_accuracy_fn if self.sp.track_accuracy else None,
                                 code_rule=self.sp.code_rule)
        lengths = [len(ids) for ids in completion_ids_list]
        labelled = [c for c in diag["correct"] if c is not None]
        local_sums = torch.tensor([n, sum(labelled), len(labelled), sum(diag["code"]), sum(diag["format"]),
                                   sum(lengths)], dtype=torch.float64, device=device)
        tot = self.accelerator.reduce(local_sums, reduction="sum") if self.accelerator.num_processes > 1 \
            else local_sums
        total_n = float(tot[0])
        groups = rewards.view(-1, self.sp.group_size)
        self._sp_rollout = {
            "reward/mean": float(rewards.mean()),
            "reward/std": float(rewards.std()) if rewards.numel() > 1 else 0.0,
            "reward/frac_zero_std_groups": float((groups.std(dim=1) == 0).float().mean()),
            "accuracy": float(tot[1] / tot[2]) if float(tot[2]) > 0 else None,
            "code_frequency": float(tot[3]) / total_n,
            "format_rate": float(tot[4]) / total_n,
            "response_length/mean": float(tot[5]) / total_n,
            **self._over_processes(reward_health),
        }
        every = self.sp.rollout_log_every
        if every and phase % every == 0:
            self._sp_pending_rollouts = self._rollout_rows(phase, inputs, prompts, samples, local, diag, lengths)
        self._sp_global_rewards = rewards
        self._sp_time["reward"] += time.perf_counter() - t
        return rewards.unsqueeze(1)

    def _over_processes(self, metrics: dict[str, float]) -> dict[str, float]:
        """Per-process reward/grader metrics for the whole phase: counts add up over processes; ``*_rate`` and
        ``reward/*`` shares are weighted by each process's graded items (``grader/items``)."""
        if self.accelerator.num_processes == 1:
            return metrics
        # the same keys on every rank (a user reward's last_stats may differ by rank), or the reduce would hang
        keys = sorted(set().union(*gather_object([sorted(metrics)])))
        items = metrics.get("grader/items", 0.0)
        weighted = [k.endswith("_rate") or k.startswith("reward/") for k in keys]
        local = torch.tensor([metrics.get(k, 0.0) * (max(items, 1.0) if w else 1.0) for k, w in zip(keys, weighted)] +
                             [max(items, 1.0)], dtype=torch.float64, device=self.accelerator.device)
        total = self.accelerator.reduce(local, reduction="sum").tolist()
        return {k: total[i] / total[-1] if w else total[i] for i, (k, w) in enumerate(zip(keys, weighted))}

    def _render_prompt(self, prompt_index: int, prompt: Any) -> str:
        if prompt_index not in self._sp_prompt_cache:
            if isinstance(prompt, str):
                text = prompt
            else:
                try:
                    text = self.processing_class.apply_chat_template(prompt, tokenize=False,
                                                                     add_generation_prompt=True)
                except Exception:  # noqa: BLE001 - a readable prompt is enough for the log
                    text = prompt_text(prompt)
            self._sp_prompt_cache[prompt_index] = text
        return self._sp_prompt_cache[prompt_index]

    def _rollout_rows(self, phase, inputs, prompts, samples, rewards, diag, lengths) -> list[dict[str, Any]]:
        return [{"phase": phase, "prompt_index": s.prompt_index, "problem_id": row.get("problem_id"),
                 "sample_index": s.sample_index, "prompt": self._render_prompt(s.prompt_index, p),
                 "response": s.response, "length": n, "answer": row.get("answer"), "reward": r,
                 "correct": c, "code": k, "format": f}
                for s, row, p, r, c, k, f, n in zip(samples, inputs, prompts, rewards, diag["correct"], diag["code"],
                                                    diag["format"], lengths)]

    def _write_rollouts(self, advantages: list[float]) -> None:
        rows = self._sp_pending_rollouts
        self._sp_pending_rollouts = None
        for row, a in zip(rows, advantages):
            row["advantage"] = a
        if self.accelerator.num_processes > 1:
            rows = gather_object(rows)
        if self._is_main() and self.sp_recorder is not None:
            self.sp_recorder.write_rollouts(rows[0]["phase"], rows)

    # ------------------------------------------------------------------ forward passes

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, batch_size=None,
                                           compute_entropy=False, **kwargs):
        """TRL's per-token log-probs, each chunk trimmed to its own longest prompt and completion first.

        TRL pads a process's whole generation batch to its longest prompt + longest completion; every forward
        pass (old log-probs, reference, training) then pays for that width. :func:`padding_window` drops the
        columns that are padding in every row of a chunk; the outputs are padded back (with zeros, under a zero
        mask), so callers see TRL's shapes. Multimodal inputs go to TRL unchanged.
        """
        if self._sp_defer_old_logps and model is self.model and not torch.is_grad_enabled():
            # TRL's old log-probs of the whole generation batch: computed per training micro-batch instead,
            # once TRL has shuffled and split it (_prepare_inputs), with the widths the training passes use.
            self._sp_old_logps_pending = True
            return input_ids.new_zeros(input_ids.size(0), logits_to_keep, dtype=torch.float32), None, None
        if not self.sp.trim_padding or any(v is not None for v in kwargs.values()):
            return super()._get_per_token_logps_and_entropies(model, input_ids, attention_mask, logits_to_keep,
                                                              batch_size, compute_entropy, **kwargs)
        batch_size = batch_size or input_ids.size(0)
        logps, entropies, aux = [], [], []
        for start in range(0, input_ids.size(0), batch_size):
            ids, mask = input_ids[start:start + batch_size], attention_mask[start:start + batch_size]
            lead, keep = padding_window(mask, logits_to_keep)
            lp, ent, ax = super()._get_per_token_logps_and_entropies(
                model, ids[:, lead:ids.size(1) - logits_to_keep + keep],
                mask[:, lead:mask.size(1) - logits_to_keep + keep], keep, None, compute_entropy)
            pad = logits_to_keep - keep
            logps.append(torch.nn.functional.pad(lp, (0, pad)))
            if ent is not None:
                entropies.append(torch.nn.functional.pad(ent, (0, pad)))
            if ax is not None:
                aux.append(ax)
        return (torch.cat(logps), torch.cat(entropies) if entropies else None,
                torch.stack(aux).mean() if aux else None)

    def _prepare_inputs(self, generation_batch):
        inputs = super()._prepare_inputs(generation_batch)
        if self._sp_old_logps_pending:  # a new phase was just generated, shuffled and split
            self._sp_old_logps_pending = False
            with torch.no_grad(), disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
                for mb in self._buffered_inputs:
                    ids = torch.cat([mb["prompt_ids"], mb["completion_ids"]], dim=1)
                    mask = torch.cat([mb["prompt_mask"], mb["completion_mask"]], dim=1)
                    mb["old_per_token_logps"], _, _ = self._get_per_token_logps_and_entropies(
                        self.model, ids, mask, mb["completion_ids"].size(1))
        return inputs

    # ------------------------------------------------------------------ loss

    def _token_normalizer(self, mask: torch.Tensor) -> torch.Tensor | None:
        """Token count of the whole optimizer step, per process (DDP averages gradients over processes)."""
        accum = self.current_gradient_accumulation_steps
        if accum == 1 and self.accelerator.num_processes == 1:
            return None
        count = mask.sum().float()
        if accum > 1 and self._buffered_inputs is not None:
            idx = self._step % self.args.steps_per_generation
            start = idx - idx % accum
            window = self._buffered_inputs[start:start + accum]
            count = sum(b["completion_mask"].sum() for b in window).float()
        if self.accelerator.num_processes > 1:
            count = self.accelerator.reduce(count.reshape(1), reduction="sum")[0] / self.accelerator.num_processes
        return count

    def _compute_loss(self, model, inputs):
        prompt_ids, prompt_mask = inputs["prompt_ids"], inputs["prompt_mask"]
        completion_ids, mask = inputs["completion_ids"], inputs["completion_mask"]
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, mask], dim=1)
        logps, entropies, _ = self._get_per_token_logps_and_entropies(
            model, input_ids, attention_mask, completion_ids.size(1), compute_entropy=True)
        old = inputs.get("old_per_token_logps")
        old = logps.detach() if old is None else old
        training = self.model.training
        agg = self.sp.loss_aggregation
        loss, stats = policy_loss(
            logps, old, inputs["advantages"], mask, eps_low=self.sp.eps_low, eps_high=self.sp.eps_high,
            surrogate=self.sp.surrogate, aggregation=agg, max_completion_length=self.max_completion_length,
            micro_batch_size=self.sp.official_micro_batch,
            token_normalizer=self._token_normalizer(mask) if agg == "token-mean" and training else None,
            ref_logps=inputs.get("ref_per_token_logps"), beta=self.sp.beta, kl_estimator=self.sp.kl_estimator,
            entropies=entropies, cispo_max_ratio=self.sp.cispo_max_ratio, entropy_coef=self.sp.entropy_coef)
        if agg != "token-mean" and training:
            loss = loss / self.current_gradient_accumulation_steps
        if training:
            self._sp_step_stats.merge(stats)
            if self.accelerator.sync_gradients:
                self._sp_last_step_metrics = self._sp_step_stats.reduce(self.accelerator).metrics()
                self._sp_step_stats = StepStats()
        return loss

    # ------------------------------------------------------------------ metrics

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self.model.training:
            logs.update(self._record_step(logs))
        super().log(logs, start_time)

    def _record_step(self, logs: dict[str, float]) -> dict[str, float]:
        step = self.state.global_step
        phase = (step - 1) // self.sp_steps_per_phase
        rec: dict[str, Any] = {"kind": "step", "phase": phase, "optimizer_step": step,
                               "step_in_phase": (step - 1) % self.sp_steps_per_phase,
                               "loss": logs.get("loss"), "grad_norm": logs.get("grad_norm"),
                               "lr": logs.get("learning_rate")}
        rec.update(self._sp_last_step_metrics)
        self._sp_phase_steps.append(rec)
        if self._is_main() and self.sp_recorder is not None:
            self.sp_recorder.write(rec)
        extra = {k: v for k, v in rec.items() if isinstance(v, (int, float)) and k not in ("kind",)}
        if step % self.sp_steps_per_phase == 0:
            prec = self._phase_record(phase, step)
            if self._is_main() and self.sp_recorder is not None:
                self.sp_recorder.write(prec)
                self.sp_recorder.update(prec)
            extra.update({f"phase/{k}": v for k, v in prec.items() if isinstance(v, (int, float))})
        return extra

    def finish(self) -> None:
        """Write the phase line of a phase cut short by ``max_steps`` (``optimizer_steps`` tells how short)."""
        if self._sp_phase_steps and self._is_main() and self.sp_recorder is not None:
            last = self._sp_phase_steps[-1]
            self.sp_recorder.write(self._phase_record(last["phase"], last["optimizer_step"]))

    def _phase_record(self, phase: int, step: int) -> dict[str, Any]:
        steps = [s for s in self._sp_phase_steps if s["phase"] == phase]
        self._sp_phase_steps = []
        rec: dict[str, Any] = {"kind": "phase", "phase": phase, "optimizer_step": step,
                               "optimizer_steps": len(steps)}
        rec.update(self._sp_rollout)
        keys = dict.fromkeys(_MEAN_OVER_STEPS + tuple(k for s in steps for k in s
                                                      if k.startswith(("clip/",) + DIAGNOSTIC_PREFIXES)))
        for key in keys:
            vals = [s[key] for s in steps if s.get(key) is not None and not math.isnan(s[key])]
            if vals:
                rec[key] = sum(vals) / len(vals)
        off = [s for s in steps if s["step_in_phase"] > 0]
        for key in ("clip/low_frac", "clip/high_frac"):
            vals = [s[key] for s in off if key in s]
            rec[f"{key}/off_policy"] = sum(vals) / len(vals) if vals else None
        mins = [s["ratio/min"] for s in steps if "ratio/min" in s]
        maxs = [s["ratio/max"] for s in steps if "ratio/max" in s]
        rec["ratio/min"] = min(mins) if mins else None
        rec["ratio/max"] = max(maxs) if maxs else None
        rec["lr"] = steps[-1]["lr"] if steps else None
        total = time.perf_counter() - self._sp_phase_start
        rec["time/generation"] = self._sp_time["generation"]
        rec["time/reward"] = self._sp_time["reward"]
        rec["time/update"] = max(total - self._sp_time["generation"] - self._sp_time["reward"], 0.0)
        rec["time/phase"] = total
        return rec

