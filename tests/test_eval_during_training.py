"""Evaluation during training with the transformers backend: rows in metrics.jsonl, no effect on training,
curves and the smoothed final value in ``spurious analyze``. (The vLLM variant is in test_distributed_vllm.py.)"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spurious.analysis.curves import extract_curve, training_eval_curve, training_eval_rows
from spurious.analysis.loading import load_run
from spurious.smoothing import smooth_curve
from spurious.rl import train
from spurious.rl.config import ConfigError, build_config
from spurious.rl.eval_during_training import EVAL_DIR

COMPARED = ("loss", "grad_norm", "reward/mean", "ratio/min", "ratio/max", "clip/low_frac", "clip/high_frac")


def _bench(tmp_path, shared_data) -> str:
    path = tmp_path / "bench4.jsonl"
    path.write_text("".join((shared_data / "math500.jsonl").read_text().splitlines(keepends=True)[:4]))
    return str(path)


def _cfg(tmp_path, name, *sets):
    return build_config("tiny-cpu", ["progress=false", "phases=2", "save_every_phases=0", "learning_rate=0.05",
                                     *sets], output_dir=str(tmp_path), name=name)


def _rows(run_dir, kind):
    return [r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if r["kind"] == kind]


def test_eval_every_phase_writes_rows_with_fingerprint_and_leaves_training_unchanged(shared_data, tmp_path):
    bench = _bench(tmp_path, shared_data)
    evals = ["eval_every_phases=1", f"eval_benchmarks=[{bench}]", "eval_max_new_tokens=12", "eval_samples=2",
             "eval_temperature=1.0"]
    with_eval = train(_cfg(tmp_path, "with", *evals))
    without = train(_cfg(tmp_path, "without"))

    rows = _rows(with_eval.run_dir, "eval")
    assert [(r["phase"], r["optimizer_step"]) for r in rows] == [(0, 0), (1, 2), (2, 4)]  # base + each phase
    for r in rows:
        assert r["benchmark"] == bench and r["backend"] == "transformers" and r["headline"] == "avg@2"
        assert r["n_problems"] == 4 and r["samples"] == 2 and 0.0 <= r["accuracy"] <= 1.0
    assert len({r["fingerprint"] for r in rows}) == 1  # the same settings at every phase
    for phase in (0, 1, 2):
        summary = json.loads((with_eval.run_dir / EVAL_DIR / f"phase-{phase:05d}" / "summary.json").read_text())
        assert summary["benchmarks"][bench]["fingerprint"] == rows[0]["fingerprint"]
        assert summary["provenance"]["phase"] == phase
    samples = [[json.loads(x)["response"] for x in
                (with_eval.run_dir / EVAL_DIR / f"phase-{p:05d}" / "samples.jsonl").read_text().splitlines()]
               for p in (0, 2)]
    assert samples[0] != samples[1]  # the policy that was evaluated moved

    # evaluating consumed no training randomness: every step and every rollout is as without evaluation
    a, b = _rows(with_eval.run_dir, "step"), _rows(without.run_dir, "step")
    assert len(a) == len(b) == 4
    for x, y in zip(a, b):
        assert {k: x.get(k) for k in COMPARED} == {k: y.get(k) for k in COMPARED}
    assert _rows(without.run_dir, "eval") == []


def test_analyze_reads_eval_rows_curve_and_smoothed_final(shared_data, tmp_path):
    from spurious.analysis.pipeline import analyze

    bench = _bench(tmp_path, shared_data)
    res = train(_cfg(tmp_path, "run", "eval_every_phases=2", f"eval_benchmarks=[{bench}]",
                     "eval_max_new_tokens=8", "phases=3", "eval_keep_samples=false"))
    rows = _rows(res.run_dir, "eval")
    assert [r["phase"] for r in rows] == [0, 2, 3]  # every 2 phases, and the last one
    assert not (res.run_dir / EVAL_DIR / "phase-00002" / "samples.jsonl").exists()
    # a second benchmark's points, to check the curve and the smoothed final against values that differ
    with open(res.run_dir / "metrics.jsonl", "a") as fh:
        for phase, acc in ((0, 0.1), (2, 0.5), (3, 0.3)):
            fh.write(json.dumps({"kind": "eval", "phase": phase, "optimizer_step": 2 * phase, "benchmark": "fake",
                                 "headline": "pass@1", "accuracy": acc, "fingerprint": "f"}) + "\n")
    run = load_run(res.run_dir)
    curve = training_eval_curve(run, "fake")
    assert curve.steps == [0.0, 2.0, 3.0] and curve.values == [0.1, 0.5, 0.3]
    table = {r["benchmark"]: r for r in training_eval_rows([run], window=2)}
    assert table["fake"]["final"] == pytest.approx(0.4) and table["fake"]["gain"] == pytest.approx(0.3)
    assert table["fake"]["final"] == pytest.approx(smooth_curve([0.1, 0.5, 0.3], 2)[-1])
    assert table[bench]["evaluations"] == 3 and table[bench]["fingerprint"] == rows[0]["fingerprint"]
    # eval lines never leak into the rollout-accuracy curve (they carry an 'accuracy' key too)
    assert extract_curve(run, "accuracy").steps == [0.0, 1.0, 2.0]

    out = analyze([res.run_dir], tmp_path / "analysis", window=2)
    names = {p.name for p in out.files}
    assert "eval_training_fake.png" in names and "eval_training_bench4.png" in names
    saved = json.loads((tmp_path / "analysis" / "tables" / "eval_training.json").read_text())["rows"]
    assert {r["benchmark"]: r["final"] for r in saved}["fake"] == pytest.approx(0.4)
    assert "Evaluation during training" in out.report.read_text()


@pytest.mark.parametrize("setting, field", [("eval_every_phases=-1", "eval_every_phases"),
                                            ("eval_samples=0", "eval_samples"),
                                            ("eval_benchmarks=math500", "eval_benchmarks"),
                                            ("eval_grader=nope", "eval_grader"),
                                            ("eval_temperature=-0.5", "eval_temperature"),
                                            ("eval_max_new_tokens=0", "eval_max_new_tokens")])
def test_bad_eval_fields_are_named(tmp_path, setting, field):
    with pytest.raises(ConfigError) as e:
        _cfg(tmp_path, "bad", setting).validate()
    assert e.value.field == field


@pytest.mark.distributed
def test_eval_during_training_under_zero3_on_two_processes(shared_data, tmp_path):
    """Every process evaluates (ZeRO-3 generation gathers parameters collectively); rank 0 writes the rows."""
    if importlib.util.find_spec("deepspeed") is None:
        pytest.skip("deepspeed is not installed (scripts/setup-distributed.sh)")
    repo = Path(__file__).resolve().parents[1]
    bench = _bench(tmp_path, shared_data)
    sets = ["phases=2", "save_every_phases=0", "learning_rate=0.05", "eval_every_phases=1",
            f"eval_benchmarks=[{bench}]", "eval_max_new_tokens=12", "eval_samples=2", "eval_temperature=1.0",
            f"deepspeed={repo / 'src' / 'spurious' / 'presets' / 'launch' / 'deepspeed-zero3.json'}"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29543",
           "-m", "spurious", "train", "--preset", "tiny-cpu", "--name", "z3", "-o", str(tmp_path), "--no-progress"]
    for s in sets:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, cwd=repo, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = _rows(tmp_path / "z3", "eval")
    assert [(r["phase"], r["optimizer_step"]) for r in rows] == [(0, 0), (1, 2), (2, 4)]
    assert {r["backend"] for r in rows} == {"transformers"} and len({r["fingerprint"] for r in rows}) == 1
    assert len(_rows(tmp_path / "z3", "phase")) == 2
