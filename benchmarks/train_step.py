"""Cost of our trainer over plain TRL, and of TRL's sequential math-verify reward over our pooled grader.

Part A: time per rollout phase of ``SpuriousGRPOTrainer`` (our loss, advantages, clip statistics, ground-truth
grading of every rollout, rollout logs, metrics.jsonl) vs a plain ``trl.GRPOTrainer`` (loss_type "grpo"), same
tiny model, data, schedule (8 prompts x 8 rollouts, 2 optimizer steps per phase) and random reward. Runs
alternate (ours, TRL, ours, TRL, ...) so machine load hits both alike; the first phase (warm-up) is dropped.

Part B: scoring 1,024 realistic MATH-500 completions with ``trl.rewards.accuracy_reward`` (math-verify, one pair
after another in the main process) vs our ground-truth reward (``spurious.grading.grade_many``: exact fast
paths, cache, deadline-bounded process pool).

    OMP_NUM_THREADS=1 python benchmarks/train_step.py [--phases 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def phase_times(trainer, steps_per_phase: int) -> list[tuple[float, float]]:
    """Attach a callback; returns the list it fills with (wall, CPU) seconds per phase.

    CPU time (this process) is far less sensitive than wall time to other jobs on a shared machine.
    """
    from transformers import TrainerCallback

    out: list[tuple[float, float]] = []

    class Clock(TrainerCallback):
        def __init__(self):
            self.t = None

        def on_step_begin(self, args, state, control, **kw):
            if self.t is None:
                self.t = (time.perf_counter(), time.process_time())

        def on_step_end(self, args, state, control, **kw):
            if state.global_step % steps_per_phase == 0:
                now = (time.perf_counter(), time.process_time())
                out.append((now[0] - self.t[0], now[1] - self.t[1]))
                self.t = now

    trainer.add_callback(Clock())
    return out


class Timers:
    """Wall time spent inside our instrumentation functions (patched in for the measurement)."""

    def __init__(self):
        self.total = 0.0

    def wrap(self, owner, name):
        original = getattr(owner, name)

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                self.total += time.perf_counter() - t

        setattr(owner, name, timed)


def instrumentation_timers() -> Timers:
    import spurious.measure as measure_mod
    import spurious.rl.loss as loss_mod
    import spurious.rl.trainer as trainer_mod
    from spurious.rl.records import RunRecorder
    from spurious.rl.stats import StepStats

    timers = Timers()
    timers.wrap(loss_mod, "token_stats")          # clip / ratio / pi_bar / entropy sums per micro-batch
    timers.wrap(measure_mod, "flag_behaviour")     # code, format, boxed flags of every rollout
    timers.wrap(StepStats, "metrics")
    timers.wrap(trainer_mod.SpuriousGRPOTrainer, "_record_step")     # metrics.jsonl lines
    timers.wrap(trainer_mod.SpuriousGRPOTrainer, "_rollout_metrics")  # the phase's rollout metrics
    timers.wrap(trainer_mod.SpuriousGRPOTrainer, "_write_rollouts")  # rollouts/step_XXXXX.jsonl.gz
    return timers


def run_ours(cfg, rows, reward):
    from transformers.trainer_callback import PrinterCallback

    from spurious.models import tiny_model_and_tokenizer
    from spurious.rl.records import RunRecorder
    from spurious.rl.run import build_trl_dataset, grpo_config
    from spurious.rl.trainer import SpuriousGRPOTrainer

    model, tok = tiny_model_and_tokenizer("1M", seed=0)
    ds, _ = build_trl_dataset(rows, cfg, tok)
    rec = RunRecorder(cfg.run_dir, total_phases=cfg.phases, progress=False)
    tr = SpuriousGRPOTrainer(model=model, args=grpo_config(cfg, 1), train_dataset=ds, processing_class=tok,
                             spurious_config=cfg, reward=reward, recorder=rec)
    tr.remove_callback(PrinterCallback)
    times = phase_times(tr, cfg.optimizer_steps_per_phase)
    tr.train()
    return times[1:]


def run_plain_trl(cfg, rows, reward):
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOTrainer

    from spurious.models import tiny_model_and_tokenizer
    from spurious.rewards.trl import trl_reward_func
    from spurious.rl.run import build_trl_dataset, grpo_config

    model, tok = tiny_model_and_tokenizer("1M", seed=0)
    ds, _ = build_trl_dataset(rows, cfg, tok)
    args = grpo_config(cfg, 1)
    args.loss_type = "grpo"
    fn = trl_reward_func(reward, steps_per_generation=cfg.optimizer_steps_per_phase)
    tr = GRPOTrainer(model=model, reward_funcs=[fn], args=args, train_dataset=ds, processing_class=tok)
    tr.remove_callback(PrinterCallback)
    times = phase_times(tr, cfg.optimizer_steps_per_phase)
    tr.train()
    return times[1:]


def part_a(phases: int, repeats: int) -> None:
    import transformers

    from spurious.data import load_problems
    from spurious.rewards import get_reward
    from spurious.rl.config import TrainConfig

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    problems = load_problems("math500", limit=128)
    rows = [{"problem": p.problem, "answer": p.answer, "problem_id": p.id} for p in problems]
    reward = get_reward("random", gamma=0.5)
    ours, plain = [], []
    timers = instrumentation_timers()
    for r in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            cfg = TrainConfig(name=f"ours{r}", output_dir=d, model="tiny:1M", prompts_per_phase=8, group_size=8,
                              minibatch_size=32, phases=phases, learning_rate=1e-3, max_completion_tokens=32,
                              max_prompt_tokens=192, save_every_phases=0, rollout_log_every=1, report_to=[],
                              progress=False, loss_aggregation="seq-mean-token-mean")  # = TRL's "grpo"
            ours += run_ours(cfg, rows, reward)
            plain += run_plain_trl(cfg.replace(name=f"trl{r}"), rows, reward)
    wo, wp = statistics.median(t[0] for t in ours), statistics.median(t[0] for t in plain)
    co, cp = statistics.median(t[1] for t in ours), statistics.median(t[1] for t in plain)
    per_phase_instr = timers.total / (repeats * phases)
    print(f"A. per rollout phase (64 rollouts x 32 tokens, 2 optimizer steps; tiny 1M Qwen2; same loss, same "
          f"data; median of {len(ours)} phases each)")
    print(f"   {'':24s} {'wall ms':>9s} {'CPU ms':>9s}")
    print(f"   {'plain TRL GRPOTrainer':24s} {wp * 1000:9.1f} {cp * 1000:9.1f}")
    print(f"   {'SpuriousGRPOTrainer':24s} {wo * 1000:9.1f} {co * 1000:9.1f}")
    print(f"   ratio ours/TRL: wall {wo / wp:.3f}, CPU {co / cp:.3f}")
    print(f"   time inside our instrumentation (stats, grading, records): {per_phase_instr * 1000:.1f} ms per phase "
          f"= {100 * per_phase_instr / wp:.1f}% of a TRL phase")


def realistic_completions(n: int):
    import random

    from spurious.data import load_problems

    rng = random.Random(0)
    problems = load_problems("math500")
    comps, golds = [], []
    for i in range(n):
        p = problems[i % len(problems)]
        kind = i % 4
        if kind == 0:
            text = f"Let me compute step by step. ... so the final answer is $\\boxed{{{p.answer}}}$."
        elif kind == 1:
            text = f"After simplifying we get \\boxed{{{p.answer} + {rng.randint(1, 9)}}}."
        elif kind == 2:
            text = f"We find x. Therefore the answer is \\boxed{{ {p.answer} }}"
        else:
            text = f"The answer is {rng.randint(0, 999)}."
        comps.append(text)
        golds.append(p.answer)
    return comps, golds


def part_b(n: int) -> None:
    from trl.rewards import accuracy_reward

    from spurious.grading.grader import clear_cache
    from spurious.rewards import Sample, get_reward

    comps, golds = realistic_completions(n)
    t = time.perf_counter()
    trl_vals = accuracy_reward([[{"role": "assistant", "content": c}] for c in comps], golds)
    t_trl = time.perf_counter() - t
    gt = get_reward("ground_truth")
    samples = [Sample(prompt="", response=c, answer=g, prompt_index=i) for i, (c, g) in enumerate(zip(comps, golds))]
    gt(samples[:4])  # start the worker pool outside the timing, as a training run does once
    clear_cache()
    t = time.perf_counter()
    ours = gt(samples)
    t_ours = time.perf_counter() - t
    agree = sum((a or 0.0) == b for a, b in zip(trl_vals, ours)) / n
    print(f"B. scoring {n} MATH-500-style completions (1/4 correct boxed, 1/4 wrong boxed, 1/4 spaced box, "
          f"1/4 no box)")
    print(f"   TRL accuracy_reward (sequential math-verify): {t_trl:6.2f} s")
    print(f"   spurious ground_truth (pooled grade_many)    : {t_ours:6.2f} s   ratio TRL/ours = "
          f"{t_trl / t_ours:.1f}x   verdict agreement {agree:.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phases", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--completions", type=int, default=1024)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    part_a(a.phases, a.repeats)
    part_b(a.completions)


if __name__ == "__main__":
    main()
