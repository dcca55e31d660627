"""``spurious eval`` / ``spurious label`` on the command line, and checkpoint curves of a training run."""

import json

import pytest
from typer.testing import CliRunner

from spurious.cli import app
from spurious.eval.checkpoints import curve_from_summaries
from spurious.run_files import list_checkpoints


@pytest.fixture
def bench(tmp_path):
    f = tmp_path / "b.jsonl"
    f.write_text("".join(json.dumps({"id": str(i), "problem": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n"
                         for i in range(2)))
    return f


def test_eval_command_tiny_model(tmp_path, bench):
    out = tmp_path / "ev"
    r = CliRunner().invoke(app, ["eval", "--model", "tiny:100K", "--benchmarks", str(bench), "--max-new-tokens", "4",
                                 "--out", str(out), "--template", "qwen-math"])
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    assert s["benchmarks"][str(bench)]["n_problems"] == 2 and s["model"] == "tiny:100K"
    assert "pass@1" in r.output


def test_eval_command_needs_model_or_run():
    r = CliRunner().invoke(app, ["eval"])
    assert r.exit_code != 0


def test_curve_smoothing_and_final():
    summaries = [{"benchmarks": {"m": {"headline": "pass@1", **{k: v for k in (
        "score", "pass_at_k_raw", "pass_at_k_unbiased", "maj_at_k", "code_frequency", "format_rate", "boxed_rate",
        "parsable_rate", "truncation_rate", "mean_length", "accuracy_with_code", "accuracy_with_language")}}}}
                 for v in (0.2, 0.4, 0.6)]
    c = curve_from_summaries([0, 8, 16], summaries, window=2)["m"]["score"]
    assert c["raw"] == [0.2, 0.4, 0.6] and c["smoothed"] == pytest.approx([0.2, 0.3, 0.5])
    assert c["final"] == pytest.approx(0.5) and c["gain"] == pytest.approx(0.3)


def test_eval_run_evaluates_base_and_checkpoints(tmp_path, bench):
    from spurious.models import save_model, tiny_model_and_tokenizer

    run = tmp_path / "runs" / "r"
    model, tok = tiny_model_and_tokenizer("100K")
    for step in (16, 8):
        save_model(model, tok, run / "checkpoints" / f"checkpoint-{step}")
    (run / "config.yaml").write_text("model: tiny:100K\nprompts_per_phase: 4\ngroup_size: 4\nminibatch_size: 2\n")
    assert [s for s, _ in list_checkpoints(run)] == [8, 16]
    r = CliRunner().invoke(app, ["eval", "--run", str(run), "--benchmarks", str(bench), "--max-new-tokens", "3"])
    assert r.exit_code == 0, r.output
    curve = json.loads((run / "eval" / "curve.json").read_text())
    assert curve["steps"] == [0, 8, 16] and curve["phases"] == [0, 1, 2]
    sc = curve["curves"][str(bench)]["score"]
    assert len(sc["raw"]) == 3 and sc["final"] == pytest.approx(sc["smoothed"][-1])
    assert (run / "eval" / "step-8" / "summary.json").exists()


def test_label_command_tiny_model(tmp_path, bench):
    out = tmp_path / "lab.jsonl"
    r = CliRunner().invoke(app, ["label", "--model", "tiny:100K", "--dataset", str(bench), "--out", str(out),
                                 "--samples", "2", "--max-new-tokens", "3"])
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 2 and (tmp_path / "lab.meta.json").exists()
    assert "agreement with ground truth" in r.output


def test_changed_settings_give_a_one_line_error(tmp_path, bench):
    out = tmp_path / "ev"
    args = ["eval", "--model", "tiny:100K", "--benchmarks", str(bench), "--max-new-tokens", "2", "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    r = CliRunner().invoke(app, args[:-4] + ["--max-new-tokens", "3", "--out", str(out)])
    assert r.exit_code == 2 and "other settings" in r.output


def test_eval_baselines_every_template(tmp_path, bench):
    from spurious.data.templates import TEMPLATES

    out = tmp_path / "bl"
    r = CliRunner().invoke(app, ["eval", "--model", "tiny:100K", "--benchmarks", str(bench), "--max-new-tokens", "3",
                                 "--baselines", "--out", str(out)])
    assert r.exit_code == 0, r.output
    table = json.loads((out / "baselines.json").read_text())
    assert {row["template"] for row in table["rows"]} | set(table["skipped"]) == set(TEMPLATES)
    best = table["strongest"][str(bench)]
    scores = [row["score"] for row in table["rows"]]
    assert best["score"] == max(scores)
    ref = next(row["score"] for row in table["rows"] if row["template"] == "qwen-math")
    assert table["gap"][str(bench)] == best["score"] - ref
    assert (out / "qwen-math" / "summary.json").exists() and "strongest baseline" in r.output


def test_eval_baselines_refuses_a_run(tmp_path):
    r = CliRunner().invoke(app, ["eval", "--run", str(tmp_path), "--baselines"])
    assert r.exit_code == 2 and "--baselines" in r.output


def test_baseline_table_strongest_and_gap():
    from spurious.eval.baselines import baseline_table

    s = lambda score: {"benchmarks": {"m": {"score": score, "headline": "pass@1", "boxed_rate": 0.5}}}
    t = baseline_table({"qwen-math": s(0.2), "sober": s(0.5), "none": s(0.5), "r1": s(None)}, {"x": "why"})
    assert t["strongest"]["m"] == {"template": "sober", "score": 0.5}
    assert abs(t["gap"]["m"] - 0.3) < 1e-12 and t["skipped"] == {"x": "why"}
    assert baseline_table({"sober": s(0.5)})["gap"]["m"] is None
