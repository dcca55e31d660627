"""Time per rollout phase of the organism's recipe: π_old recomputed (TRL's pass) vs read off the sampler.

One demo cell (qwen-like, clipped random reward, 32 x 16 rollouts, 8 SGD steps) through ``spurious.rl.train``
under both settings of ``TrainConfig.old_logps``; runs alternate (recompute, sampler, recompute, ...) so machine
load hits both alike, and each run's first phase (warm-up) is dropped. Prints the median wall time per phase and per
part (generation, update) of each, the CPU time per phase of the whole run (less sensitive to other jobs), and
their ratios. ``tests/test_sampler_logps.py`` checks that both give the
same rewards, advantages, losses and clip statistics step by step.

    python benchmarks/phase_time.py [--phases 8] [--repeats 3]
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

MODES = ("recompute", "sampler")


def run_once(mode: str, phases: int, out: str) -> tuple[list[dict], float]:
    """One training run; its phases after the first, and its CPU seconds per phase."""
    import torch

    from spurious.organism.corpus import split_problems
    from spurious.organism.evaluate import accuracy_fn
    from spurious.organism.pretrain import PretrainConfig, ensure_organism, load_organism
    from spurious.organism.runner import Cell, RunSettings, _rows, train_config
    from spurious.rl import train

    org = load_organism(ensure_organism(PretrainConfig(family="qwen-like")))
    torch.manual_seed(0)
    problems, _ = split_problems(org.info["config"]["split_seed"], org.info["config"]["n_eval"])
    cfg = train_config(Cell("qwen-like", "random", 0), RunSettings(phases=phases), out).replace(old_logps=mode)
    cpu = time.process_time()
    result = train(cfg, model=org.model, tokenizer=org.tokenizer, dataset=_rows(problems, cfg.prompts_per_phase),
                   accuracy_fn=accuracy_fn, overwrite=True)
    return result.phases[1:], (time.process_time() - cpu) / phases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phases", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    times: dict[str, dict[str, list[float]]] = {m: {"phase": [], "generation": [], "update": []} for m in MODES}
    cpu: dict[str, list[float]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for mode in MODES:
                phases, cpu_per_phase = run_once(mode, args.phases, os.path.join(tmp, f"{mode}{r}"))
                cpu[mode].append(cpu_per_phase)
                for p in phases:
                    for part in times[mode]:
                        times[mode][part].append(p[f"time/{part}"])
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; {args.repeats} runs x {args.phases - 1} phases each")
    med = {m: {k: statistics.median(v) for k, v in parts.items()} for m, parts in times.items()}
    for m in MODES:
        print(f"{m:>9}: phase {med[m]['phase']:.3f} s  generation {med[m]['generation']:.3f} s  "
              f"update {med[m]['update']:.3f} s  (median of {len(times[m]['phase'])}); "
              f"CPU {statistics.median(cpu[m]):.3f} s per phase (whole run, median of {len(cpu[m])})")
    print(f"ratio recompute / sampler: phase {med['recompute']['phase'] / med['sampler']['phase']:.2f}x, "
          f"update {med['recompute']['update'] / med['sampler']['update']:.2f}x, "
          f"CPU per phase {statistics.median(cpu['recompute']) / statistics.median(cpu['sampler']):.2f}x")


if __name__ == "__main__":
    main()
