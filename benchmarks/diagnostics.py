"""Cost of the mechanism diagnostics (``spurious.rl.stats.diagnostic_sums`` / ``diagnostic_metrics``).

The same training as ``benchmarks/train_step.py`` part A (tiny 1M Qwen2, 8 prompts x 8 rollouts, 2 optimizer
steps per phase, random reward), run alternately with the diagnostics on and off (off: ``diagnostic_sums``
replaced by a function returning no sums), in one process, so that machine load hits both alike; the first
phase of each run is dropped. Prints the median wall and CPU time per phase of each and their ratio, and the
time spent inside the diagnostic functions as a share of the median phase (a direct measure, far less
sensitive to other jobs than the ratio of two noisy medians).

    OMP_NUM_THREADS=1 python benchmarks/diagnostics.py [--phases 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_step import Timers, run_ours  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phases", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    import torch
    import transformers

    import spurious.rl.stats as stats
    from spurious.data import load_problems
    from spurious.rewards import get_reward
    from spurious.rl.config import TrainConfig

    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    rows = [{"problem": p.problem, "answer": p.answer, "problem_id": p.id} for p in load_problems("math500", limit=128)]
    reward = get_reward("random", gamma=0.5)
    real_sums = stats.diagnostic_sums
    timers = Timers()
    timers.wrap(stats, "diagnostic_sums")
    timers.wrap(stats, "diagnostic_metrics")
    timed_sums = stats.diagnostic_sums
    on, off = [], []
    for r in range(a.repeats):
        for label, out in (("on", on), ("off", off)):
            stats.diagnostic_sums = timed_sums if label == "on" else (lambda *args, **kw: {})
            with tempfile.TemporaryDirectory() as d:
                cfg = TrainConfig(name=f"{label}{r}", output_dir=d, model="tiny:1M", prompts_per_phase=8,
                                  group_size=8, minibatch_size=32, phases=a.phases, learning_rate=1e-3,
                                  max_completion_tokens=32, max_prompt_tokens=192, save_every_phases=0,
                                  rollout_log_every=1, report_to=[], progress=False,
                                  loss_aggregation="seq-mean-token-mean")
                out += run_ours(cfg, rows, reward)
    stats.diagnostic_sums = real_sums
    w_on, w_off = statistics.median(t[0] for t in on), statistics.median(t[0] for t in off)
    c_on, c_off = statistics.median(t[1] for t in on), statistics.median(t[1] for t in off)
    inside = timers.total / (a.repeats * a.phases)  # the "on" runs' phases (warm-up phase included)
    print(f"mechanism diagnostics: median of {len(on)} phases each (64 rollouts x 32 tokens, 2 optimizer steps)")
    print(f"   {'':22s} {'wall ms':>9s} {'CPU ms':>9s}")
    print(f"   {'diagnostics on':22s} {w_on * 1000:9.1f} {c_on * 1000:9.1f}")
    print(f"   {'diagnostics off':22s} {w_off * 1000:9.1f} {c_off * 1000:9.1f}")
    print(f"   ratio on/off: wall {w_on / w_off:.3f}, CPU {c_on / c_off:.3f}")
    print(f"   time inside diagnostic_sums + diagnostic_metrics: {inside * 1000:.2f} ms per phase "
          f"= {100 * inside / w_off:.2f}% of a phase without them")


if __name__ == "__main__":
    main()
