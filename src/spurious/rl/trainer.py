"""``SpuriousGRPOTrainer``: TRL's GRPOTrainer with our advantages, loss, instrumentation and rollout records.

TRL keeps generation, data distribution, the reward call, accumulation, checkpointing and logging back-ends.
Where each of TRL's steps hands over to our code, for one rollout phase (the call order)::

    GRPOTrainer.training_step                                        (TRL)
    └─ _prepare_inputs                               [ours, below]   deferred old log-probs per micro-batch
       └─ _generate_and_score_completions            [ours]          times the phase; then, on TRL's output:
          ├─ _generate -> _generate_single_turn      [ours]          cuts completions at the template's stop string;
          │                                                          old_logps: sampler -> the drawn tokens' log-probs
          ├─ _calculate_rewards                      (TRL)           calls reward_funcs[0], our adapter:
          │    TRLRewardFunction.__call__             spurious.rewards.trl: Rollout records keyed by rollout_keys,
          │      measure_rollouts                     spurious.measure: graded once, code/format flags,
          │      reward(samples)                      the Reward (grades reused through Sample.grades)
          ├─ TRL's advantages                          replaced by compute_advantages (the paper's estimator)
          └─ phase metrics + rollouts/step_XXXXX.jsonl.gz from the adapter's Rollouts
    compute_loss -> _compute_loss                    [ours]          policy_loss + clip statistics (StepStats)
       └─ _get_per_token_logps_and_entropies         [ours]          TRL's forward pass, trimmed of padding
    log                                              [ours]          one metrics.jsonl line per step / per phase

State between hooks, each documented where it is set: the adapter's ``last_rollouts`` (the batch just scored);
``_phase`` (this phase's rollout metrics and timings, written with its last optimizer step); ``_step_stats``
(clip statistics of the optimizer step being accumulated); ``_old_logps_pending`` (a phase generated whose old
log-probs ``_prepare_inputs`` must compute, or, with ``old_logps: sampler``, take from the sampler).

* Padding: :func:`padding_window` drops the columns that are padding in every row of a chunk; the same numbers
  at a fraction of the padded width. So that the old log-probs come from exactly the passes training makes
  (first-step ratio exactly 1), ``_prepare_inputs`` computes them per training micro-batch after TRL's shuffle
  and split, in place of TRL's pass over the generation batch.
* ``old_logps: sampler`` (transformers backend, float32): no such pass at all; π_old is the log-prob each token had
  when the sampler drew it (:mod:`spurious.rl.sampler_logps`), equal to the recomputed one up to float rounding.
* Metrics: ``metrics.jsonl`` keys are documented in docs/training.md.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from accelerate.utils import gather_object
from trl import GRPOTrainer
from trl.models.utils import disable_gradient_checkpointing

from spurious.data import get_template
from spurious.grading import grader_metrics, grader_stats
from spurious.measure import AccuracyFn, measure_rollouts
from spurious.rewards.ground_truth import GroundTruthReward
from spurious.rewards.trl import TRLRewardFunction
from spurious.rl.advantages import compute_advantages
from spurious.rl.config import TrainConfig
from spurious.rl.loss import policy_loss
from spurious.rl.records import RunRecorder
from spurious.rl.sampler_logps import SampledTokenLogps
from spurious.rl.stats import DIAGNOSTIC_PREFIXES, StepStats
from spurious.rl.vllm_colocate import adapt_colocated_engine, run_seeded_engines
from spurious.rollout import Rollout

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


def cut_at_stop(ids: list[int], decode, stop: Sequence[str]) -> list[int]:
    """The shortest prefix of ``ids`` whose text contains a stop string (all of ``ids`` when none occurs): the
    completion up to and including the stop string, as evaluation keeps it."""
    if not stop or not any(s in decode(ids) for s in stop):
        return ids
    lo, hi = 1, len(ids)  # the text of ids[:hi] contains a stop string; find the least such hi
    while lo < hi:
        mid = (lo + hi) // 2
        if any(s in decode(ids[:mid]) for s in stop):
            hi = mid
        else:
            lo = mid + 1
    return ids[:hi]


def diagnostic_grading(config: TrainConfig, reward: Any) -> tuple[str, str | None]:
    """``(grader, extract)`` of the per-rollout ``correct`` diagnostic: a ground-truth reward's own grading (so it
    is graded once and the accuracy is the reward's), else the default grader; extraction follows the template's
    answer style (``<answer>`` for r1) unless the reward sets one."""
    r1 = "r1" if get_template(config.template).r1_style else None
    if isinstance(reward, GroundTruthReward):
        return reward.grader, reward.extract or r1
    return "default", r1


@dataclass
class PhaseState:
    """What one rollout phase measured before its optimizer steps: rollout metrics and the generation/reward
    timings (written into the phase's metrics line after its last step)."""

    start: float = field(default_factory=time.perf_counter)
    generation: float = 0.0
    reward: float = 0.0
    rollout: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)


class SpuriousGRPOTrainer(GRPOTrainer):
    """GRPOTrainer whose reward, advantage, loss and metrics follow ``spurious_config`` (a TrainConfig).

    ``reward`` is a :class:`spurious.rewards.base.Reward`; it reaches TRL wrapped in the adapter
    :class:`spurious.rewards.trl.TRLRewardFunction`, as for any TRL user. ``accuracy_fn(responses, answers)``
    replaces the project grader for the ``correct`` diagnostic (the organism's exact parser).
    """

    def __init__(self, *args: Any, spurious_config: TrainConfig, reward, accuracy_fn: AccuracyFn | None = None,
                 recorder: RunRecorder | None = None, **kwargs: Any):
        cfg = spurious_config
        grader, extract = diagnostic_grading(cfg, reward)

        def measure(rollouts: list[Rollout]):
            return measure_rollouts(rollouts, grader=grader, extract=extract, accuracy_fn=accuracy_fn,
                                    grade=cfg.track_accuracy)

        # seed=None: the reward is already seeded by the run (spurious.rl.run.resolve_reward)
        self.reward_func = TRLRewardFunction(reward, seed=None, steps_per_generation=cfg.optimizer_steps_per_phase,
                                             measure=measure)
        with run_seeded_engines(cfg.seed):  # vLLM: the run seed decides generations
            super().__init__(*args, reward_funcs=[self.reward_func], **kwargs)
        adapt_colocated_engine(self)  # vLLM's CPU build: weight sync by in-place reload
        self.sp = cfg
        self.sp_recorder = recorder
        self.sp_steps_per_phase = cfg.optimizer_steps_per_phase
        self.stop_strings = get_template(cfg.template).stop
        self._phase = PhaseState()
        self._step_stats = StepStats()       # the optimizer step being accumulated
        self._last_step_metrics: dict[str, float] = {}
        self._old_logps_pending = False      # a phase was generated: _prepare_inputs computes its old log-probs
        self._defer_old_logps = False        # inside generation: TRL's old-log-prob pass is skipped

    @property
    def current_phase(self) -> int:
        """The rollout phase being trained (generation happens at the phase's first optimizer step)."""
        return self.state.global_step // self.sp_steps_per_phase

    def _is_main(self) -> bool:
        return self.accelerator.is_main_process

    # ------------------------------------------------------------------ generation and rewards

    def _generate_single_turn(self, prompt_ids, *args, **kwargs):
        """TRL's generation, timed; with the transformers backend, each completion cut at the template's stop
        string (vLLM stops there itself: ``generation_kwargs`` in :func:`spurious.rl.run.grpo_config`)."""
        t = time.perf_counter()
        sampler = self._sampler_logps()
        with sampler or contextlib.nullcontext():
            completion_ids, logprobs = super()._generate_single_turn(prompt_ids, *args, **kwargs)
        if sampler is not None:
            logprobs = sampler.per_sequence(completion_ids)
        if self.stop_strings and not self.use_vllm:
            decode = self.processing_class.decode
            completion_ids = [cut_at_stop(ids, decode, self.stop_strings) for ids in completion_ids]
            if logprobs is not None:
                logprobs = [lp[:len(ids)] for lp, ids in zip(logprobs, completion_ids)]
        self._phase.generation += time.perf_counter() - t
        return completion_ids, logprobs

    def _sampler_logps(self) -> SampledTokenLogps | None:
        """With ``old_logps: sampler`` (transformers backend, float32), the hook that reads π_old off the
        sampler; ``None`` otherwise."""
        if self.sp.old_logps != "sampler" or self.use_vllm or not self.model.training:
            return None
        return SampledTokenLogps(self.accelerator.unwrap_model(self.model), self.temperature)

    def _generate_and_score_completions(self, inputs):
        if not self.model.training:  # TRL's evaluation loop: TRL's own scoring
            return super()._generate_and_score_completions(inputs)
        self._phase = PhaseState()
        graded_before = grader_stats()
        self._defer_old_logps = self.sp.trim_padding or self.sp.old_logps == "sampler"
        try:
            out = super()._generate_and_score_completions(inputs)
        finally:
            self._defer_old_logps = False
        rollouts = self.reward_func.last_rollouts
        self._phase.reward = self.reward_func.last_seconds
        lengths = out["completion_mask"].sum(1)
        last = out["completion_ids"].gather(1, (lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        ended = torch.isin(last, torch.tensor(self.eos_token_ids, device=last.device))
        for r, n, e in zip(rollouts, lengths.tolist(), ended.tolist()):
            r.length, r.truncated = int(n), (not e) and n >= self.max_completion_length
        rewards = self.accelerator.gather(torch.tensor([r.reward for r in rollouts], dtype=torch.float32,
                                                       device=self.accelerator.device))
        out["advantages"] = self._our_advantages(rewards, out["completion_mask"])
        for r, a in zip(rollouts, out["advantages"].tolist()):
            r.advantage = a
        self._phase.rollout = self._rollout_metrics(rollouts, rewards, grader_metrics(graded_before, grader_stats()))
        every = self.sp.rollout_log_every
        if every and self.current_phase % every == 0:
            self._write_rollouts(rollouts)
        return out

    def _our_advantages(self, rewards: torch.Tensor, completion_mask: torch.Tensor) -> torch.Tensor:
        """:func:`compute_advantages` over the whole batch (all processes), this process's slice."""
        lengths = None
        if self.sp.advantage == "official":
            lengths = self.accelerator.gather(completion_mask.sum(1))
        adv = compute_advantages(rewards, self.sp.group_size, mode=self.sp.advantage,
                                 unbiased=self.sp.advantage_unbiased_std, eps=self.sp.advantage_eps, lengths=lengths,
                                 sign=self.sp.advantage_sign)
        n = completion_mask.size(0)
        i = self.accelerator.process_index
        return adv[i * n:(i + 1) * n].to(completion_mask.device)

    def _rollout_metrics(self, rollouts: list[Rollout], rewards: torch.Tensor, health: dict[str, float]
                         ) -> dict[str, Any]:
        """The phase's rollout metrics, over every process: reward statistics, accuracy, code/format rates,
        length, the grading health (``grader/*``) and the reward's own statistics (``reward/*``)."""
        health.update({f"reward/{k}": float(v) for k, v in (getattr(self.reward_func.reward, "last_stats", None)
                                                            or {}).items()})
        labelled = [r.correct for r in rollouts if r.correct is not None]
        local = torch.tensor([len(rollouts), sum(labelled), len(labelled), sum(bool(r.code) for r in rollouts),
                              sum(bool(r.format) for r in rollouts), sum(r.length for r in rollouts)],
                             dtype=torch.float64, device=self.accelerator.device)
        tot = self.accelerator.reduce(local, reduction="sum") if self.accelerator.num_processes > 1 else local
        n = float(tot[0])
        groups = rewards.view(-1, self.sp.group_size)
        return {
            "reward/mean": float(rewards.mean()),
            "reward/std": float(rewards.std()) if rewards.numel() > 1 else 0.0,
            "reward/frac_zero_std_groups": float((groups.std(dim=1) == 0).float().mean()),
            "accuracy": float(tot[1] / tot[2]) if float(tot[2]) > 0 else None,
            "code_frequency": float(tot[3]) / n,
            "format_rate": float(tot[4]) / n,
            "response_length/mean": float(tot[5]) / n,
            **self._over_processes(health),
        }

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

    def _write_rollouts(self, rollouts: list[Rollout]) -> None:
        """``rollouts/step_<phase>.jsonl.gz``: every process's rollouts of the phase, as Rollout rows."""
        rows = [r.to_row() for r in rollouts]
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
        if self._defer_old_logps and model is self.model and not torch.is_grad_enabled():
            # TRL's old log-probs of the whole generation batch: computed per training micro-batch instead,
            # once TRL has shuffled and split it (_prepare_inputs), with the widths the training passes use.
            self._old_logps_pending = True
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
        if self._old_logps_pending and self.sp.old_logps == "sampler":  # π_old as the sampler computed it
            self._old_logps_pending = False
            for mb in self._buffered_inputs:
                mb["old_per_token_logps"] = mb["sampling_per_token_logps"] * mb["completion_mask"]
        elif self._old_logps_pending:  # a new phase was just generated, shuffled and split
            self._old_logps_pending = False
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
            self._step_stats.merge(stats)
            if self.accelerator.sync_gradients:
                self._last_step_metrics = self._step_stats.reduce(self.accelerator).metrics()
                self._step_stats = StepStats()
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
        rec.update(self._last_step_metrics)
        self._phase.steps.append(rec)
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
        if self._phase.steps and self._is_main() and self.sp_recorder is not None:
            last = self._phase.steps[-1]
            self.sp_recorder.write(self._phase_record(last["phase"], last["optimizer_step"]))

    def _phase_record(self, phase: int, step: int) -> dict[str, Any]:
        steps = [s for s in self._phase.steps if s["phase"] == phase]
        self._phase.steps = []
        rec: dict[str, Any] = {"kind": "phase", "phase": phase, "optimizer_step": step,
                               "optimizer_steps": len(steps)}
        rec.update(self._phase.rollout)
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
        total = time.perf_counter() - self._phase.start
        rec["time/generation"] = self._phase.generation
        rec["time/reward"] = self._phase.reward
        rec["time/update"] = max(total - self._phase.generation - self._phase.reward, 0.0)
        rec["time/phase"] = total
        return rec

