"""The mechanism plan: its arms map onto TrainConfig, and its fixed verdict rules on hand-made evidence."""

import json

import pytest

from spurious.analysis.stats import ols_slope
from spurious.organism import mechanism as mech
from spurious.organism.plans import PLANS, get_plan
from spurious.organism.runner import Cell, RunSettings, train_config


def test_plan_is_registered_with_its_arms():
    assert "mechanism" in PLANS
    spec = get_plan("mechanism")
    assert spec.families == ("qwen-like",) and len(spec.cells()) == 31 and spec.settings.phases == 40
    assert set(mech.FLIP_ARMS) <= set(spec.arms) and "entropy-min" in spec.arms
    assert {a: len(spec.arms[a]) for a in mech.CONTROL_ARMS} == {"constant-kl": 2, "noise": 2}
    s = RunSettings(phases=spec.settings.phases)
    phases = [train_config(c, s, "/tmp").phases for c in spec.cells()]
    assert (phases.count(40), phases.count(20)) == (23, 8)


def test_arms_map_onto_train_config(tmp_path):
    s = RunSettings()
    cfg = train_config(Cell("qwen-like", "random-rloo", 0), s, tmp_path)
    assert cfg.advantage == "rloo" and cfg.learning_rate == pytest.approx(2 * s.learning_rate)
    cfg = train_config(Cell("qwen-like", "random-eps0.3-0.1", 0), s, tmp_path)
    assert (cfg.eps_low, cfg.eps_high) == (0.3, 0.1)
    cfg = train_config(Cell("qwen-like", "gt-flip0.4", 0), s, tmp_path)
    assert cfg.reward == "flip" and cfg.reward_params == {"reward": "ground_truth", "p": 0.4} and cfg.phases == 20
    cfg = train_config(Cell("qwen-like", "entropy-min", 0), s, tmp_path)
    assert cfg.reward == "constant" and cfg.entropy_coef < 0
    cfg = train_config(Cell("qwen-like", "constant-kl", 0), s, tmp_path)
    assert cfg.reward == "constant" and cfg.beta == 0.04 and cfg.entropy_coef == 0
    assert train_config(Cell("qwen-like", "noise", 0), s, tmp_path).reward == "noise"
    for c in get_plan("mechanism").cells():
        train_config(c, s, tmp_path).validate()


def test_ols_slope_by_hand():
    b, lo, hi = ols_slope([0, 1, 2, 3], [1.0, 3.0, 2.0, 5.0])
    # mean x 1.5, mean y 2.75, Sxx 5, Sxy = (-1.5)(-1.75) + (-0.5)(0.25) + (0.5)(-0.75) + (1.5)(2.25) = 5.5
    assert b == pytest.approx(1.1)
    # intercept 2.75 - 1.1 * 1.5 = 1.1; fitted 1.1, 2.2, 3.3, 4.4; residuals -0.1, 0.8, -1.3, 0.6; SSE 2.70
    half = 4.302653 * (2.70 / 2 / 5) ** 0.5  # t(0.975, df 2) = 4.302653; se = sqrt(SSE / (n - 2) / Sxx)
    assert (lo, hi) == (pytest.approx(1.1 - half, abs=1e-4), pytest.approx(1.1 + half, abs=1e-4))
    assert ols_slope([1, 1, 1], [1, 2, 3]) is None and ols_slope([0, 1], [0, 1]) is None


def _ci(values):
    return mech._ci(values)


def _row(arm, acc, maj=None, ent=None, attr=(0.0, 0.0)):
    maj = maj if maj is not None else [0.0] * len(acc)
    ent = ent if ent is not None else [0.0] * len(acc)
    return {"arm": arm, "n": len(acc), "accuracy": _ci(acc), "majority_frequency": _ci(maj),
            "accuracy_values": acc, "majority_values": maj, "entropy_values": ent, "entropy_change": _ci(ent),
            "entropy_attr/low_clip": attr[0], "entropy_attr/high_clip": attr[1], "cov/logp_old_adv": 0.0,
            "clip/low_frac": 0.01, "clip/high_frac": 0.01}


def test_entropy_claim_rules():
    rows = {"random": _row("random", [0, 0, 0], ent=[-0.02, -0.03, -0.025]),
            "random-eps0.1-0.3": _row("random-eps0.1-0.3", [0, 0, 0], ent=[0.01, 0.012, 0.011]),
            "random-eps0.3-0.1": _row("random-eps0.3-0.1", [0, 0, 0], ent=[-0.05, -0.06, -0.055])}
    assert mech.claim_entropy(rows).verdict == "supported"
    rows["random-eps0.1-0.3"], rows["random-eps0.3-0.1"] = (dict(rows["random-eps0.3-0.1"]),
                                                            dict(rows["random-eps0.1-0.3"]))
    assert mech.claim_entropy(rows).verdict == "not supported"  # the opposite ordering
    rows = {k: _row(k, [0, 0, 0], ent=[-0.01, 0.01, 0.0]) for k in ("random", "random-eps0.1-0.3",
                                                                      "random-eps0.3-0.1")}
    assert mech.claim_entropy(rows).verdict == "inconclusive"
    assert mech.claim_entropy({}).verdict == "inconclusive"


def test_estimator_claim_rules():
    grpo = _row("random", [0] * 4, maj=[0.05, 0.06, 0.04, 0.05])
    flat = [-0.01, 0.01, 0.002]
    rows = {"random": grpo, "random-rloo": _row("random-rloo", [0] * 3, maj=flat),
            "random-reinforce": _row("random-reinforce", [0] * 3, maj=flat)}
    assert mech.claim_estimators(rows).verdict == "supported"
    rows["random-rloo"] = _row("random-rloo", [0] * 3, maj=[0.04, 0.05, 0.045])
    assert mech.claim_estimators(rows).verdict == "not supported"
    rows["random-rloo"] = _row("random-rloo", [0], maj=flat[:1])
    assert mech.claim_estimators(rows).verdict == "inconclusive"  # one seed: no interval


def test_flip_claim_rules():
    falling = {a: _row(a, [0.2 - p * 0.3 + d for d in (-0.01, 0.0, 0.01)]) for a, p in mech.FLIP_ARMS.items()}
    assert mech.claim_flip(falling).verdict == "supported"
    flat = {a: _row(a, [0.2 + d for d in (-0.01, 0.0, 0.01)]) for a in mech.FLIP_ARMS}
    assert mech.claim_flip(flat).verdict == "not supported"
    noisy = {a: _row(a, [0.2 + d for d in (-0.3, 0.0, 0.3)]) for a in mech.FLIP_ARMS}
    assert mech.claim_flip(noisy).verdict == "inconclusive"


def test_entropy_min_claim_rules():
    fell = [-0.02, -0.025, -0.03]
    assert mech.claim_entropy_min({"entropy-min": _row("entropy-min", [0.0, 0.005, -0.005], ent=fell)}
                                  ).verdict == "supported"
    assert mech.claim_entropy_min({"entropy-min": _row("entropy-min", [0.1, 0.12, 0.11], ent=fell)}
                                  ).verdict == "not supported"
    j = mech.claim_entropy_min({"entropy-min": _row("entropy-min", [0.0, 0.005, -0.005], ent=[0.0, 0.01, -0.01])})
    assert j.verdict == "inconclusive" and "did not demonstrably fall" in j.evidence


def test_run_measures_read_metrics(tmp_path):
    rows = [{"kind": "phase", "phase": i, "entropy": 1.0 - 0.1 * i, "entropy_attr/high_clip": -0.01}
            for i in range(7)] + [{"kind": "step", "entropy": 9.0}]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    m = mech.run_measures(tmp_path)
    assert m["entropy_change"] == pytest.approx((0.8 + 0.7 + 0.6 + 0.5 + 0.4) / 5 - 1.0)
    assert m["entropy_attr/high_clip"] == pytest.approx(-0.01) and m["clip/low_frac"] is None
    md = mech.markdown(mech.judge_mechanism({}), {})
    assert md.count("inconclusive") == 4


def test_no_signal_controls_table_lists_the_controls_beside_the_random_arm():
    rows = {a: _row(a, [0.0, 0.01], maj=[0.1, 0.12]) for a in ("random", "noise", "constant-kl", "gt-flip0")}
    table = mech.control_rows(rows)
    assert [t["arm"] for t in table] == ["constant-kl", "noise", "random"]
    assert table[0]["majority Δ"] == mech.format_ci(rows["constant-kl"]["majority_frequency"])
    assert "KL" in table[0]["what it is"] and set(table[0]) >= {"accuracy Δ", "entropy Δ", "seeds"}
    assert mech.control_rows({"gt-flip0": rows["gt-flip0"]}) == []
    md = mech.markdown([], rows)
    assert "| constant-kl |" in md and md.index("what it is") < md.index("H attr. low clip")


def test_mechanism_report_shows_controls_and_diagnostics(tmp_path):
    from spurious.organism.grid import summarize
    from spurious.organism.plans import with_overrides

    spec = with_overrides(get_plan("mechanism"), arms=("random", "constant-kl", "noise"))
    runs = tmp_path / "runs"
    for arm, d in (("random", 0.1), ("constant-kl", 0.0), ("noise", 0.08)):
        for seed in (0, 1):
            run = runs / Cell("qwen-like", arm, seed).name
            run.mkdir(parents=True)
            sampled = {"accuracy": 0.5, "code_frequency": 0.8, "boxed_rate": 1.0}
            delta = {k: d + 0.01 * seed for k in ("accuracy", "greedy_accuracy", "code_frequency",
                                                  "majority_frequency", "boxed_rate")}
            (run / "result.json").write_text(json.dumps({"delta": delta, "before": {"sampled": sampled},
                                                         "after": {"sampled": sampled}, "wall_seconds": 1.0}))
            (run / "metrics.jsonl").write_text("".join(json.dumps(
                {"kind": "phase", "phase": i, "entropy": 1.0 - d * i, "clip/low_frac": d}) + "\n" for i in range(3)))
    report, judgements = mech.write_mechanism_report(tmp_path, spec, summarize(spec, runs), wall_seconds=1.0,
                                                     mode="test")
    html = report.read_text()
    assert "No-signal controls" in html and "Training diagnostics" in html and "the KL-only control" in html
    assert "phases per run</dt><dd>40</dd>" in html  # no flip arm (20 phases) in this plan
    md = (tmp_path / "mechanism.md").read_text()
    assert "| constant-kl | no reward signal" in md and "+0.005 [-0.059, +0.069] (n=2)" in md
    assert len(judgements) == 4
