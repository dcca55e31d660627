"""One rollout record from prompt to analysis: the schema, the one keying function, grading once, the stop string,
and `spurious analyze` on a training run alone."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from spurious.rewards import Sample, get_reward
from spurious.rewards.trl import trl_reward_func
from spurious.rl.config import build_config
from spurious.rollout import ROLLOUT_FIELDS, Rollout, prompt_index_of, rollout_keys


def _rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_row_round_trip_keeps_the_schema_order_and_extra_keys():
    r = Rollout(prompt="p", response="r \\boxed{2}", answer="2", problem_id="7", phase=3, prompt_index=5,
                sample_index=1, correct=True, reward=1.0, extra={"seed": 9})
    row = r.to_row()
    assert tuple(row)[:len(ROLLOUT_FIELDS)] == ROLLOUT_FIELDS and row["seed"] == 9
    assert Rollout.from_row(row) == r
    assert Rollout.from_row({"prompt": "", "response": "", "unknown": 1}).extra == {"unknown": 1}
    with pytest.raises(ValueError, match="code_fenced"):
        Rollout(prompt="", response="", code=True).code_flag("fenced")


def test_rollout_keys_count_occurrences_and_hash_text_keys():
    assert rollout_keys([5, 5, 5, 7, 7, 5]) == [(5, 0), (5, 1), (5, 2), (7, 0), (7, 1), (5, 3)]
    h = prompt_index_of("What is 2+2?")
    assert h == prompt_index_of("What is 2+2?") != prompt_index_of("What is 2+3?") and 0 <= h < 2 ** 63
    assert rollout_keys(["a", "b", "a"]) == [(prompt_index_of("a"), 0), (prompt_index_of("b"), 0),
                                            (prompt_index_of("a"), 1)]


def test_adapter_and_reward_command_key_a_batch_alike(tmp_path):
    """The TRL adapter (the trainer's reward route) and `spurious reward` derive the same identities, so a random
    reward gives the same values through both."""
    from typer.testing import CliRunner

    from spurious.cli import app

    indices = [10, 10, 10, 11, 11, 11]
    responses = [f"answer {i}" for i in range(6)]
    f = trl_reward_func(get_reward("random", gamma=0.5), seed=4, steps_per_generation=2)
    via_trl = f(["q"] * 6, responses, trainer_state=SimpleNamespace(global_step=6), prompt_index=indices)
    assert [(r.phase, r.prompt_index, r.sample_index) for r in f.last_rollouts] == \
        [(3, 10, 0), (3, 10, 1), (3, 10, 2), (3, 11, 0), (3, 11, 1), (3, 11, 2)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"response": r, "prompt_index": p, "step": 3}) + "\n"
                           for r, p in zip(responses, indices)))
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["reward", "random", str(src), "-o", str(out), "--seed", "4"])
    assert res.exit_code == 0, res.output
    assert [r["reward"] for r in _rows(out)] == via_trl


def test_a_ground_truth_reward_reuses_the_measured_grades(monkeypatch):
    """The trainer grades each rollout once: measure_rollouts grades, the ground-truth reward reads Sample.grades."""
    import spurious.grading as grading
    import spurious.measure as measure

    calls = []
    real = grading.grade_many

    def counting(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(grading, "grade_many", counting)
    monkeypatch.setattr(measure, "grade_many", counting)
    f = trl_reward_func(get_reward("ground_truth"), measure=lambda rs: measure.measure_rollouts(rs))
    values = f(["q"] * 4, ["\\boxed{4}", "\\boxed{5}", "no answer", "so 4"],
               trainer_state=SimpleNamespace(global_step=0), answer=["4"] * 4, prompt_index=[0] * 4)
    assert values == [1.0, 0.0, 0.0, 0.0] and calls == [4]
    r = f.last_rollouts
    assert [x.correct for x in r] == [True, False, False, False] and r[0].format and not r[2].boxed
    assert [x.reward for x in r] == values
    calls.clear()  # another grader than the measured one: the reward grades for itself
    g = trl_reward_func(get_reward("ground_truth", grader="official"), measure=lambda rs: measure.measure_rollouts(rs))
    g(["q"] * 2, ["\\boxed{4}", "x"], trainer_state=None, answer=["4"] * 2, prompt_index=[0, 0])
    assert calls == [2, 2]


def test_cut_at_stop_keeps_the_completion_up_to_the_stop_string():
    from spurious.rl.trainer import cut_at_stop

    vocab = {i: c for i, c in enumerate("abc</nswer>XYZ ")}
    ids = [vocab_id for ch in "ab</answer>XYZ" for vocab_id, c in vocab.items() if c == ch][:14]

    def decode(x):
        return "".join(vocab[i] for i in x)

    assert decode(cut_at_stop(ids, decode, ("</answer>",))) == "ab</answer>"
    assert cut_at_stop(ids, decode, ("</nope>",)) == ids and cut_at_stop(ids, decode, ()) == ids


def test_the_r1_template_stops_and_grades_training_as_evaluation_does():
    from spurious.rewards import get_reward
    from spurious.rl.run import vllm_stop_kwargs
    from spurious.rl.trainer import diagnostic_grading

    r1 = build_config("tiny-cpu", ["template=r1"])
    assert vllm_stop_kwargs(r1) == {"stop": ["</answer>"], "include_stop_str_in_output": True}
    assert vllm_stop_kwargs(build_config("tiny-cpu")) == {}
    assert diagnostic_grading(r1, get_reward("random")) == ("default", "r1")
    assert diagnostic_grading(r1, get_reward("ground_truth", grader="official")) == ("official", "r1")
    assert diagnostic_grading(build_config("tiny-cpu"), get_reward("ground_truth")) == ("default", None)


def test_training_rollouts_share_the_evaluation_schema_and_analyze_reads_a_run_alone(shared_data, tmp_path):
    """A tiny run's rollout files are Rollout rows keyed (phase, dataset row, 0..G-1); `spurious analyze RUN`
    gives Table 1 and the transition buckets from them, with no evaluation run."""
    from spurious.analysis.pipeline import analyze
    from spurious.rl import train

    cfg = build_config("tiny-cpu", ["progress=false", "phases=2", "dataset_limit=4", "save_every_phases=0",
                                    "save_final=false"], output_dir=str(tmp_path), name="run")
    res = train(cfg)
    rows = _rows(res.run_dir / "rollouts" / "step_00001.jsonl.gz")
    assert len(rows) == 16 and all(tuple(r)[:len(ROLLOUT_FIELDS)] == ROLLOUT_FIELDS for r in rows)
    assert sorted((r["prompt_index"], r["sample_index"]) for r in rows) == [(p, j) for p in range(4) for j in range(4)]
    assert {r["phase"] for r in rows} == {1} and {r["benchmark"] for r in rows} == {"train"}
    assert all(r["prompt"].startswith("<|im_start|>system") for r in rows)  # the rendered chat prompt
    assert all(isinstance(r["correct"], bool) and r["status"] and r["advantage"] is not None for r in rows)
    expected = get_reward("random", gamma=0.5).with_seed(cfg.seed)(
        [Sample("", r["response"], step=1, prompt_index=r["prompt_index"], sample_index=r["sample_index"])
         for r in rows])
    assert [r["reward"] for r in rows] == expected
    out = analyze([res.run_dir], tmp_path / "analysis")
    table1 = json.loads((tmp_path / "analysis" / "tables" / "table1_rollouts.json").read_text())["rows"]
    assert {(r["eval"], r["benchmark"], r["n"]) for r in table1 if r["rule"] == "python"} == \
        {("run@phase1", "train", 16), ("run@phase2", "train", 16)}
    phase2 = next(r for r in table1 if r["eval"] == "run@phase2" and r["rule"] == "python")
    final = [json.loads(line) for line in (res.run_dir / "metrics.jsonl").read_text().splitlines()][-1]
    assert phase2["acc_%"] == pytest.approx(100 * final["accuracy"])  # the phase's logged accuracy
    assert (tmp_path / "analysis" / "tables" / "transitions_rollouts.json").exists()
    assert "Training rollouts" in out.report.read_text()
    diag = json.loads((tmp_path / "analysis" / "tables" / "diagnostics.json").read_text())["runs"]["run"]
    assert {"cov/logp_old_adv", "entropy_attr/high_clip", "dlogp/p<0.1/low_clip", "fork/dlogp/top20"} <= set(diag)
    assert "Training diagnostics" in out.report.read_text() and diag["entropy"]["n"] == 2
