"""Two data-parallel CPU processes (torchrun, gloo) agree with one process on rewards and advantages."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1",
       "TRANSFORMERS_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}


def _rollouts(run: Path, phase: int) -> dict:
    with gzip.open(run / "rollouts" / f"step_{phase:05d}.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    return {(r["prompt_index"], r["sample_index"]): r for r in rows}


def test_two_processes_match_one_process(shared_data, tmp_path):
    from spurious.rl import build_config, train

    # group z-score advantages depend on the rewards alone (the official whitening also weighs by response
    # lengths, and the two runs sample different responses: same keys and rewards, other texts)
    args = ["--preset", "tiny-cpu", "-o", str(tmp_path), "--phases", "2", "--no-progress",
            "--set", "save_every_phases=0", "--set", "advantage=group"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533"]
    two = subprocess.run(torchrun + ["-m", "spurious", "train", *args, "--name", "two"], cwd=REPO, env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    one = train(build_config("tiny-cpu", ["progress=false", "save_every_phases=0", "advantage=group"],
                             output_dir=str(tmp_path), name="one", phases=2))
    meta = json.loads((tmp_path / "two" / "config.json").read_text())
    assert meta["num_processes"] == 2 and meta["schedule"]["per_device_train_batch_size"] == 4
    two_metrics = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert len(two_metrics) == len(one.steps) + len(one.phases)  # rank 0 alone writes
    two_phases = [r for r in two_metrics if r["kind"] == "phase"]
    for a, b in zip(one.phases, two_phases):
        for k in ("reward/mean", "reward/std", "reward/frac_zero_std_groups"):
            assert b[k] == pytest.approx(a[k]), k
    for phase in (0, 1):
        ra, rb = _rollouts(tmp_path / "one", phase), _rollouts(tmp_path / "two", phase)
        assert ra.keys() == rb.keys() and len(ra) == 16  # the same prompts, whole groups
        for key in ra:
            assert rb[key]["reward"] == ra[key]["reward"]
            assert rb[key]["advantage"] == pytest.approx(ra[key]["advantage"], abs=1e-6)


def longest_in_group(samples):
    """Group-level test reward: 1 for the longest response of its group (ties: lowest sample index)."""
    best = {}
    for s in samples:
        key = (-len(s.response), s.sample_index)
        if s.group not in best or key < best[s.group]:
            best[s.group] = key
    return [1.0 if (-len(s.response), s.sample_index) == best[s.group] else 0.0 for s in samples]


longest_in_group.group_level = True


def test_group_level_reward_sees_whole_groups_split_over_processes(shared_data, tmp_path):
    """3 prompts x 4 rollouts over 2 processes: the middle group is split 2 + 2, yet is scored as a whole."""
    args = ["--preset", "tiny-cpu", "-o", str(tmp_path), "--name", "split", "--phases", "2", "--no-progress",
            "--reward", "tests.test_train_distributed:longest_in_group", "--set", "prompts_per_phase=3",
            "--set", "minibatch_size=12", "--set", "save_every_phases=0", "--set", "reward_params={}"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29534"]
    r = subprocess.run(torchrun + ["-m", "spurious", "train", *args], cwd=REPO, env=ENV, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    for phase in (0, 1):
        rows = _rollouts(tmp_path / "split", phase)
        assert len(rows) == 12
        groups = {}
        for (pi, si), row in rows.items():
            groups.setdefault(pi, []).append(row)
        for members in groups.values():
            assert len(members) == 4 and sum(m["reward"] for m in members) == 1.0
            best = min(members, key=lambda m: (-len(m["response"]), m["sample_index"]))
            assert best["reward"] == 1.0
