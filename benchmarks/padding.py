"""Padding waste of the training forward passes: TRL's full-width batches vs our per-micro-batch trimming.

TRL pads a process's whole generation batch to its longest prompt + longest completion, and every forward pass
(old log-probs, training) runs at that width. ``SpuriousGRPOTrainer`` trims each micro-batch to its own longest
prompt and completion (``spurious.rl.trainer.padding_window``). For one process of the paper's schedule (64 x 16
rollouts per phase over 8 processes = 128 rollouts each, micro-batches of 4), with prompt lengths from the
DeepScaleR prompts and completion lengths drawn from a long-tailed distribution capped at 3,072 tokens (median
~700, ~5 % truncated), this prints

* tokens processed per phase (padded width x rows) vs real tokens, for both layouts, and their ratio;
* the measured time of the same forward passes on a tiny model (lengths scaled by 1/16 to fit the CPU),
  padded vs trimmed, interleaved so machine load hits both alike.

    OMP_NUM_THREADS=1 python benchmarks/padding.py [--seed 0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MAX_COMPLETION = 3072
ROLLOUTS_PER_PROCESS = 128
MICRO_BATCH = 4


def prompt_lengths(n: int, rng: random.Random) -> list[int]:
    """Qwen-math prompts: DeepScaleR problem lengths (characters / 3.5 ~ tokens) plus the template's ~60 tokens."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "deepscaler.jsonl"
    if data.exists():
        import json

        chars = [len(json.loads(line)["problem"]) for line in data.read_text().splitlines()[:5000]]
    else:  # a long-tailed stand-in with the same median
        chars = [int(rng.lognormvariate(math.log(250), 0.6)) for _ in range(5000)]
    groups = [60 + int(rng.choice(chars) / 3.5) for _ in range(n // 16)]
    return [g for g in groups for _ in range(16)]  # 16 rollouts share a prompt


def completion_lengths(n: int, rng: random.Random) -> list[int]:
    return [min(MAX_COMPLETION, max(8, int(rng.lognormvariate(math.log(700), 0.75)))) for _ in range(n)]


def layout_tokens(p: list[int], c: list[int]) -> tuple[int, int, int]:
    """(real, TRL padded, trimmed per micro-batch) tokens of one process's phase, micro-batches in shuffled order."""
    real = sum(p) + sum(c)
    padded = len(p) * (max(p) + max(c))
    trimmed = sum(MICRO_BATCH * (max(p[i:i + MICRO_BATCH]) + max(c[i:i + MICRO_BATCH]))
                  for i in range(0, len(p), MICRO_BATCH))
    return real, padded, trimmed


def forward_seconds(model, p: list[int], c: list[int], trim: bool) -> float:
    """Time the forward passes of one phase (micro-batches of MICRO_BATCH) on left/right-padded batches."""
    import torch

    from spurious.rl.trainer import padding_window

    width_p, width_c = max(p), max(c)
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(p), MICRO_BATCH):
            rows_p, rows_c = p[i:i + MICRO_BATCH], c[i:i + MICRO_BATCH]
            mask = torch.zeros(len(rows_p), width_p + width_c, dtype=torch.long)
            for r, (lp, lc) in enumerate(zip(rows_p, rows_c)):
                mask[r, width_p - lp:width_p + lc] = 1
            ids = torch.randint(3, model.config.vocab_size, mask.shape) * mask
            lead, keep = padding_window(mask, width_c) if trim else (0, width_c)
            end = width_p + keep
            model(input_ids=ids[:, lead:end], attention_mask=mask[:, lead:end])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scale", type=int, default=16, help="divide lengths by this for the timed forward passes")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    p = prompt_lengths(ROLLOUTS_PER_PROCESS, rng)
    c = completion_lengths(ROLLOUTS_PER_PROCESS, rng)
    order = list(range(ROLLOUTS_PER_PROCESS))
    rng.shuffle(order)  # TRL shuffles the generation batch before splitting it into micro-batches
    p, c = [p[i] for i in order], [c[i] for i in order]
    real, padded, trimmed = layout_tokens(p, c)
    print(f"one process, one phase ({ROLLOUTS_PER_PROCESS} rollouts, micro-batches of {MICRO_BATCH}); completion "
          f"median {statistics.median(c):.0f}, truncated {sum(x == MAX_COMPLETION for x in c) / len(c):.1%}")
    print(f"  real tokens            {real:>9,}")
    print(f"  TRL padded (full width){padded:>9,}  = {padded / real:.2f}x real")
    print(f"  trimmed per micro-batch{trimmed:>9,}  = {trimmed / real:.2f}x real")
    print(f"  padded / trimmed       {padded / trimmed:.2f}x fewer tokens processed")

    from spurious.models import tiny_model_and_tokenizer

    model, _ = tiny_model_and_tokenizer("1M", max_position_embeddings=4096)
    model.eval()
    sp, sc = [max(1, x // a.scale) for x in p], [max(1, x // a.scale) for x in c]
    forward_seconds(model, sp[:8], sc[:8], trim=False)  # warm-up
    full, cut = [], []
    for _ in range(a.repeats):
        full.append(forward_seconds(model, sp, sc, trim=False))
        cut.append(forward_seconds(model, sp, sc, trim=True))
    print(f"forward passes on tiny:1M, lengths / {a.scale} ({a.repeats} interleaved repeats, medians): padded "
          f"{statistics.median(full):.2f} s, trimmed {statistics.median(cut):.2f} s = "
          f"{statistics.median(full) / statistics.median(cut):.2f}x faster")


if __name__ == "__main__":
    main()
