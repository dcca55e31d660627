"""The distributed tier, ZeRO-3 half: two CPU processes (gloo) under the shipped accelerate + DeepSpeed configs.

Run with ``bash scripts/setup-distributed.sh && bash scripts/test.sh -m distributed``. Every test here uses
the documented launch command (``accelerate launch --config_file src/spurious/presets/launch/accelerate-zero3.yaml
--num_processes 2 -m spurious train ...``) or DeepSpeed's own classes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.distributed
deepspeed = pytest.importorskip("deepspeed", reason="DeepSpeed is not installed: bash scripts/setup-distributed.sh")

REPO = Path(__file__).resolve().parents[1]
ACCELERATE_ZERO3 = "src/spurious/presets/launch/accelerate-zero3.yaml"
DEEPSPEED_ZERO3 = REPO / "src/spurious/presets/launch/deepspeed-zero3.json"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1",
       "TRANSFORMERS_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", ACCELERATE_ZERO3,
          "--num_processes", "2"]
# The records a resumed or re-run step must reproduce (time/* and grad-norm rounding aside).
STEP_KEYS = ("loss", "clip/low_frac", "clip/high_frac", "ratio/mean", "ratio/min", "ratio/max", "pi_bar", "entropy")
PHASE_KEYS = ("reward/mean", "reward/std", "reward/frac_zero_std_groups", "code_frequency", "response_length/mean")


def _launch(args: list[str], port: int, **kw):
    return LAUNCH + ["--main_process_port", str(port), "-m", "spurious", "train", *args]


def _metrics(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the launcher and every process below it (torch's elastic agent starts the ranks in their own
    sessions, so a process-group kill would leave them running)."""
    import psutil

    root = psutil.Process(proc.pid)
    family = root.children(recursive=True) + [root]
    for p in family:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=30)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, shared_data):
    """An uninterrupted 3-phase ZeRO-3 run on 2 processes, a checkpoint every phase."""
    out = tmp_path_factory.mktemp("zero3")
    args = ["--preset", "tiny-cpu", "-o", str(out), "--name", "full", "--phases", "3", "--no-progress",
            "--set", "save_total_limit=null"]
    r = subprocess.run(_launch(args, 29541), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    return out


def test_zero3_run_records_its_launch_and_saves_full_final_weights(full_run):
    """final/ must hold the gathered weights (not rank 0's empty partitions) and equal the last checkpoint."""
    from transformers import AutoModelForCausalLM

    run = full_run / "full"
    meta = json.loads((run / "config.json").read_text())
    assert meta["num_processes"] == 2 and Path(meta["config"]["deepspeed"]) == DEEPSPEED_ZERO3.resolve()
    final, last = _weights(run / "final"), _weights(run / "checkpoints" / "checkpoint-6")
    assert final.keys() == last.keys() and all(v.numel() > 0 for v in final.values())
    assert all((final[k] == last[k]).all() for k in final)
    model = AutoModelForCausalLM.from_pretrained(str(run / "final"))
    assert sum(p.numel() for p in model.parameters()) > 10_000
    phases = [r for r in _metrics(run) if r["kind"] == "phase"]
    assert [p["phase"] for p in phases] == [0, 1, 2]


def test_zero3_sigkill_and_resume_reproduces_the_uninterrupted_run(full_run):
    out = full_run
    args = ["--preset", "tiny-cpu", "-o", str(out), "--name", "killed", "--phases", "3", "--no-progress",
            "--set", "save_total_limit=null"]
    proc = subprocess.Popen(_launch(args, 29542), cwd=REPO, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    marker = out / "killed" / "checkpoints" / "checkpoint-2" / "trainer_state.json"
    deadline = time.time() + 400
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the run never wrote its phase-0 checkpoint"
    _kill_tree(proc)
    proc.wait()
    if (out / "killed" / "final").exists():
        pytest.skip("the run finished before it could be killed")
    r = subprocess.run(_launch(["--resume", str(out / "killed"), "--no-progress"], 29543), cwd=REPO, env=ENV,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    ref, got = _metrics(out / "full"), _metrics(out / "killed")
    assert [(r["kind"], r["optimizer_step"]) for r in got] == [(r["kind"], r["optimizer_step"]) for r in ref]
    for a, b in zip(ref, got):
        for k in STEP_KEYS if a["kind"] == "step" else PHASE_KEYS:
            if a.get(k) is None:
                assert b.get(k) is None, (a["optimizer_step"], k)
            else:
                assert b[k] == pytest.approx(a[k], rel=1e-5, abs=1e-7), (a["kind"], a["optimizer_step"], k)
    final_a, final_b = _weights(out / "full" / "final"), _weights(out / "killed" / "final")
    assert all(((final_a[k] - final_b[k]).abs().max() < 1e-6) for k in final_a)
    assert len((out / "killed" / "resumes.jsonl").read_text().splitlines()) == 1


def test_all_masked_completions_on_two_zero3_ranks_do_not_hang(shared_data, tmp_path):
    """mask_truncated_completions with 2-token completions masks (almost) everything; the run must finish."""
    args = ["--preset", "tiny-cpu", "-o", str(tmp_path), "--name", "masked", "--phases", "2", "--no-progress",
            "--set", "mask_truncated_completions=true", "--set", "max_completion_tokens=2",
            "--set", "save_every_phases=0"]
    r = subprocess.run(_launch(args, 29544), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stderr[-4000:]
    steps = [x for x in _metrics(tmp_path / "masked") if x["kind"] == "step"]
    assert len(steps) == 4


PARTITIONED = """
import json, os
os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29545")
from spurious.rl.config import build_config
from spurious.rl.run import _setup_distributed, grpo_config
from spurious.models import load_or_build
cfg = build_config("tiny-cpu", ["deepspeed=%s"])
args = grpo_config(cfg, 1)
_setup_distributed(args)
model, _ = load_or_build(cfg.model)
print(json.dumps([[hasattr(p, "ds_id"), p.numel(), getattr(p, "ds_numel", -1)] for p in model.parameters()]))
"""


def test_zero3_builds_the_model_partitioned():
    """Built after GRPOConfig(deepspeed=ZeRO-3), the model's parameters are ZeRO-3 partitions (empty locally)."""
    r = subprocess.run([sys.executable, "-c", PARTITIONED % DEEPSPEED_ZERO3], cwd=REPO, env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    params = json.loads(r.stdout.strip().splitlines()[-1])
    assert params and all(ds and numel == 0 and full > 0 for ds, numel, full in params)


@pytest.mark.parametrize("preset, sets, n", [
    ("paper", [], 8), ("paper-1.5b", [], 8), ("paper", ["vllm_mode=server", "micro_batch_size=8"], 4),
    ("tiny-cpu", [f"deepspeed={DEEPSPEED_ZERO3}"], 2),
])
def test_shipped_presets_pass_deepspeeds_own_config_class(shared_data, preset, sets, n):
    from spurious.rl.config import build_config
    from spurious.rl.preflight import dry_run

    out = dry_run(build_config(preset, sets), n)
    ds = out["deepspeed"]
    assert ds["zero_stage"] == 3 and ds["grad_accum_dtype"] == "fp32"
    assert ds["train_batch_size"] == out["config"]["minibatch_size"]
    assert ds["micro_batch_per_gpu"] * ds["gradient_accumulation_steps"] * n == ds["train_batch_size"]


def test_a_deepspeed_json_that_contradicts_the_schedule_fails_at_dry_run(shared_data, tmp_path):
    from spurious.rl.config import ConfigError, build_config
    from spurious.rl.preflight import dry_run

    bad = json.loads(DEEPSPEED_ZERO3.read_text())
    bad["train_micro_batch_size_per_gpu"] = 3
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(bad))
    with pytest.raises((ConfigError, ValueError), match="micro"):
        dry_run(build_config("tiny-cpu", [f"deepspeed={path}"]), 2)
