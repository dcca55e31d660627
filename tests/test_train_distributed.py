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

    args = ["--preset", "tiny-cpu", "-o", str(tmp_path), "--phases", "2", "--no-progress",
            "--set", "save_every_phases=0"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533"]
    two = subprocess.run(torchrun + ["-m", "spurious", "train", *args, "--name", "two"], cwd=REPO, env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    one = train(build_config("tiny-cpu", ["progress=false", "save_every_phases=0"], output_dir=str(tmp_path),
                             name="one", phases=2))
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
