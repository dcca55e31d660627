"""Pre-training, caching, the miniature grid end to end through the real GRPO engine, verdict rules, report."""

import json

import pytest

from spurious.organism.corpus import get_family
from spurious.organism.grid import GridSpec, run_grid, summarize
from spurious.organism.pretrain import PretrainConfig, ensure_organism, load_organism, organism_dir
from spurious.organism.runner import ARMS, Cell, RunSettings, train_config
from spurious.organism.verdicts import claim_a, claim_b, claim_c, claim_d

TINY_PRETRAIN = {"steps": 400, "calibration_samples": 256}


@pytest.fixture(scope="module")
def organism(organism_cache):
    cfg = PretrainConfig(family="qwen-like", **TINY_PRETRAIN)
    return cfg, ensure_organism(cfg)


def test_short_pretraining_is_cached_and_calibrated(organism, organism_cache):
    cfg, path = organism
    assert path == organism_dir(cfg) and str(path).startswith(str(organism_cache))
    info = json.loads((path / "organism.json").read_text())
    p_code = get_family("qwen-like").p_code
    assert info["key"] == cfg.key() and info["family"]["p_code"] == p_code
    cal = info["calibration"]["sampled"]
    # after a SHORT pre-training the style decision and the box are already calibrated
    assert abs(cal["code_frequency"] - p_code) < 0.08, cal
    assert abs(cal["boxed_rate"] - 0.9) < 0.1, cal
    mtime = (path / "organism.json").stat().st_mtime
    assert ensure_organism(cfg) == path and (path / "organism.json").stat().st_mtime == mtime  # cache hit


def test_saved_organism_reloads_identically(organism):
    import torch

    _, path = organism
    a, b = load_organism(path), load_organism(path)
    ids = a.tokenizer(["3+4*5="], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.equal(a.model(ids).logits, b.model(ids).logits)
    assert a.tokenizer.decode(ids[0]) == "3+4*5="


def test_arm_configs_follow_the_recipe(tmp_path):
    s = RunSettings()
    base = train_config(Cell("qwen-like", "random", 0), s, tmp_path)
    assert base.optimizer_steps_per_phase == 8 and base.optimizer == "sgd" and base.momentum == 0
    assert (base.learning_rate, base.eps_low, base.eps_high, base.surrogate) == (0.14, 0.2, 0.2, "clip")
    assert base.max_grad_norm == 0.15 and base.rollouts_per_phase == 512 and base.minibatch_size == 64
    onpolicy = train_config(Cell("qwen-like", "random-onpolicy", 0), s, tmp_path)
    assert onpolicy.optimizer_steps_per_phase == 1 and onpolicy.minibatch_size == 512
    half = train_config(Cell("qwen-like", "random-noclip-half", 0), s, tmp_path)
    assert half.surrogate == "no-clip" and half.learning_rate == pytest.approx(0.07)
    assert train_config(Cell("qwen-like", "random-eps0.1", 0), s, tmp_path).eps_high == 0.1
    assert train_config(Cell("qwen-like", "random-K4", 0), s, tmp_path).optimizer_steps_per_phase == 4
    assert train_config(Cell("qwen-like", "random-noclip", 0), s, tmp_path).surrogate == "no-clip"
    assert train_config(Cell("qwen-like", "gt", 0), s, tmp_path).reward == "ground_truth"
    assert set(ARMS) >= {"gt", "majority_vote", "format", "random", "incorrect"}


def test_miniature_grid_end_to_end(organism, tmp_path):
    """Tiny grid through the real trainer: runs, resumes (skips finished cells), summary and report."""
    from spurious.organism.report import build_demo_report

    spec = GridSpec(families=("qwen-like",), arms={"random": (0,), "random-onpolicy": (0,), "incorrect": (0,)},
                    settings=RunSettings(phases=2, prompts_per_phase=8, group_size=4, minibatch_size=8,
                                         eval_samples=64, label_samples=4, rollout_log_every=1),
                    pretrain=TINY_PRETRAIN)
    events = []
    summary = run_grid(spec, tmp_path, workers=1, on_event=lambda k, d: events.append((k, d)))
    done = [d for k, d in events if k == "cell_done"]
    assert len(done) == 3
    for name in ("qwen-like__random__s0", "qwen-like__random-onpolicy__s0", "qwen-like__incorrect__s0"):
        r = json.loads((tmp_path / "runs" / name / "result.json").read_text())
        assert r["phases_run"] == 2 and "provenance" in r
        phases = [json.loads(x) for x in (tmp_path / "runs" / name / "metrics.jsonl").read_text().splitlines()
                  if '"phase"' in x and json.loads(x)["kind"] == "phase"]
        assert len(phases) == 2 and "code_frequency" in phases[0] and "clip/low_frac" in phases[0]
    steps = [json.loads(x) for x in (tmp_path / "runs" / "qwen-like__random__s0" / "metrics.jsonl").read_text()
             .splitlines() if json.loads(x)["kind"] == "step"]
    assert len(steps) == 2 * 4  # 32 rollouts per phase / 8 per mini-batch
    onp = [json.loads(x) for x in (tmp_path / "runs" / "qwen-like__random-onpolicy__s0" / "metrics.jsonl")
           .read_text().splitlines() if json.loads(x)["kind"] == "step"]
    assert len(onp) == 2 and all(s["clip/low_frac"] == 0 and s["clip/high_frac"] == 0 for s in onp)
    inc = json.loads((tmp_path / "runs" / "qwen-like__incorrect__s0" / "result.json").read_text())
    assert inc["labels"]["labels_wrong"] > 0
    rand = json.loads((tmp_path / "runs" / "qwen-like__random__s0" / "result.json").read_text())
    assert rand["before"]["sampled"] == inc["before"]["sampled"]  # one seed: the same evaluation samples
    assert rand["organism"]["weights_sha256"] == json.loads((organism[1] / "organism.json").read_text())[
        "weights_sha256"]
    g = next(x for x in summary["groups"] if x["arm"] == "random")
    assert g["n"] == 1 and g["accuracy"]["low"] is None  # one seed: no interval
    # resumable: a second invocation runs nothing
    events.clear()
    run_grid(spec, tmp_path, workers=1, on_event=lambda k, d: events.append((k, d)))
    assert not [d for k, d in events if k == "cell_done"]
    report = build_demo_report(tmp_path, spec, summary, wall_seconds=1.0, mode="test")
    html = report.read_text()
    assert "Verdicts" in html and "inconclusive" in html and "Table 1 analogue" in html
    assert "data:image/png;base64" in html
    assert "Mechanism diagnostics" in html and "δ p&lt;0.1: all" in html and "fork top20: δ" in html  # real keys
    assert "organism weights (sha256" in html and rand["organism"]["weights_sha256"] in html
    assert "qwen-like: random 0, random-onpolicy 0, incorrect 0" in html and "seeds planned" in html


def test_a_spent_budget_starts_no_run_and_says_so(organism, tmp_path):
    spec = GridSpec(families=("qwen-like",), arms={"random": (0, 1)}, settings=RunSettings(phases=1),
                    pretrain=TINY_PRETRAIN)
    events = []
    summary = run_grid(spec, tmp_path, workers=1, budget_s=1e-9, on_event=lambda k, d: events.append((k, d)))
    assert summary["cut"] == ["qwen-like__random__s0", "qwen-like__random__s1"] and summary["groups"] == []
    assert [d for k, d in events if k == "cut"] == [{"cells": summary["cut"]}]
    assert not (tmp_path / "runs" / "qwen-like__random__s0").exists()
    assert json.loads((tmp_path / "summary.json").read_text())["budget_seconds"] == 1e-9


def _g(family, arm, acc, maj, n=None):
    from spurious.organism.grid import _ci

    n = n or len(acc)
    return {"family": family, "arm": arm, "n": n, "accuracy": _ci(acc), "majority_frequency": _ci(maj),
            "majority_rose": sum(m > 0 for m in maj), "majority_values": list(maj), "accuracy_values": list(acc)}


def test_verdict_rules_from_intervals():
    up = [0.05, 0.07, 0.06, 0.08, 0.04]
    s = {"groups": [_g("qwen-like", "random", up, [0.05, 0.04, 0.06, 0.03, 0.02]),
                    _g("qwen-like", "random-onpolicy", [0.0, -0.01, 0.01], [0.005, -0.005, 0.0]),
                    _g("bad-code", "random", [-0.02, 0.0, -0.01], [0.01, 0.02, 0.01]),
                    _g("no-code", "random", [0.01, -0.01, 0.0], [0.0, 0.01, -0.01]),
                    *[_g(f, "gt", [0.20, 0.21], [0.1, 0.2]) for f in ("qwen-like", "bad-code", "no-code")]]}
    fams = ["qwen-like", "bad-code", "no-code"]
    assert claim_a(s).verdict == "supported"
    assert claim_b(s).verdict == "supported"
    assert claim_c(s).verdict == "supported"
    assert claim_d(s, fams).verdict == "supported"
    # a drifting control, a helped family, a gt failure, a non-rising majority -> not supported
    bad = {"groups": [_g("qwen-like", "random", [-0.01, -0.02, 0.0], [-0.05, -0.04, 0.01]),
                      _g("qwen-like", "random-onpolicy", [0.0, 0.0, 0.0], [0.05, 0.06, 0.07]),
                      _g("bad-code", "random", [0.05, 0.06, 0.07], [0.0, 0.0, 0.0]),
                      _g("no-code", "random", [0.0, 0.0, 0.01], [0.0, 0.0, 0.0]),
                      _g("qwen-like", "gt", [-0.1, -0.05, -0.08], [0, 0, 0])]}
    assert claim_a(bad).verdict == "not supported"
    assert claim_b(bad).verdict == "not supported"
    assert claim_c(bad).verdict == "not supported"
    assert claim_d(bad, fams).verdict == "not supported"
    # too few seeds -> inconclusive, never supported
    # a control that does not drift, but a clipped arm that does not drift more either -> inconclusive
    weak = {"groups": [_g("qwen-like", "random", [0.0, 0.01, 0.0], [0.01, 0.0, 0.02]),
                       _g("qwen-like", "random-onpolicy", [0.0, 0.0, 0.0], [0.01, -0.01, 0.015])]}
    assert claim_c(weak).verdict == "inconclusive"
    # claims of absence are equivalence tests at the 0.03 margin:
    # a control interval containing 0 but wider than the margin -> inconclusive ([-0.041, +0.035])
    wide_c = {"groups": [_g("qwen-like", "random", up, [0.05, 0.04, 0.06, 0.03, 0.02]),
                         _g("qwen-like", "random-onpolicy", [0.0, 0.0, 0.0], [0.01, -0.02, 0.0])]}
    assert claim_c(wide_c).verdict == "inconclusive"
    # an interval just above 0 but inside the margin rules out a practical effect -> supported, for (b) and (c)
    tiny = {"groups": [_g("qwen-like", "random", up, [0.05, 0.04, 0.06, 0.03, 0.02]),
                       _g("qwen-like", "random-onpolicy", [0.0, 0.0, 0.0], [0.004, 0.006, 0.005]),
                       _g("bad-code", "random", [0.004, 0.006, 0.005], [0.0, 0.0, 0.0]),
                       _g("no-code", "random", [0.01, 0.012, 0.011], [0.0, 0.0, 0.0])]}
    assert _g("qwen-like", "random-onpolicy", [0, 0, 0], [0.004, 0.006, 0.005])["majority_frequency"]["low"] > 0
    assert claim_c(tiny).verdict == "supported"
    assert claim_b(tiny).verdict == "supported"
    # a negative mean with a wide interval does not rule out a gain -> inconclusive, not "not supported"
    wide = {"groups": [_g("qwen-like", "random", [-0.10, 0.08, -0.05, 0.02], [0.05, 0.03, 0.04, 0.06]),
                       _g("bad-code", "random", [-0.12, 0.02, -0.07], [0.0, 0.0, 0.0]),
                       _g("no-code", "random", [0.0, 0.0, 0.01], [0.0, 0.0, 0.0]),
                       _g("qwen-like", "gt", [-0.2, 0.1], [0, 0])]}
    assert claim_a(wide).verdict == "inconclusive"
    assert claim_b(wide).verdict == "inconclusive"
    assert claim_d(wide, ["qwen-like"]).verdict == "inconclusive"
    # (a) reads intervals only: one seed of eight falling does not stop a clear mean rise ...
    mostly = [0.15, 0.12, 0.14, 0.16, -0.05, 0.13, 0.15, 0.14]
    one_fell = {"groups": [_g("qwen-like", "random", mostly, mostly)]}
    assert _g("qwen-like", "random", mostly, mostly)["majority_rose"] == 7
    assert claim_a(one_fell).verdict == "supported"
    # ... and a majority interval below the +0.03 drift margin is "not supported" whatever the accuracy did
    flat = {"groups": [_g("qwen-like", "random", up, [0.01, 0.0, 0.02, 0.01, 0.0])]}
    assert claim_a(flat).verdict == "not supported"
    few = {"groups": [_g("qwen-like", "random", [0.05, 0.06], [0.05, 0.04])]}
    assert claim_a(few).verdict == "inconclusive"
    assert claim_b(few).verdict == "inconclusive"
    assert claim_c(few).verdict == "inconclusive"
    assert claim_d(few, fams).verdict == "inconclusive"


def test_plans_and_overrides():
    from spurious.organism.plans import get_plan, with_overrides

    d = get_plan("default")
    cells = d.cells()
    assert len(cells) == 89 and [c.seed for c in cells] == sorted(c.seed for c in cells)
    assert {c.arm for c in cells if c.family == "no-code"} == {"random", "gt"}   # independent seeds
    for fam, arm in (("qwen-like", "random"), ("qwen-like", "random-onpolicy"), ("bad-code", "random")):
        assert d.arm_seeds(fam)[arm] == d.arm_seeds(fam)[f"{arm}-anti"]   # pairs: a twin for every seed
    assert d.settings.phases == 15
    full = get_plan("full")
    assert len(full.cells()) == 49 and full.settings.phases == 100
    assert len([c for c in full.cells() if (c.family, c.arm) == ("qwen-like", "random")]) == 5
    cond = get_plan("conditions")
    assert {"format", "majority_vote", "incorrect", "random-noclip", "random-noclip-half"} <= set(cond.all_arms())
    small = with_overrides(d, phases=3, seeds=1, families=("qwen-like",), arms=("random",), pretrain_steps=10)
    assert [c.name for c in small.cells()] == ["qwen-like__random__s0"]
    assert small.settings.phases == 3 and small.pretrain_config("qwen-like").steps == 10
    shifted = with_overrides(d, first_seed=10)
    assert shifted.arm_seeds("qwen-like")["random"] == tuple(10 + s for s in d.arm_seeds("qwen-like")["random"])
    assert min(c.seed for c in shifted.cells()) == 10 and len(shifted.cells()) == len(d.cells())
    with pytest.raises(ValueError):
        with_overrides(d, first_seed=-1)
    with pytest.raises(ValueError):
        get_plan("huge")


def test_welch_difference():
    from spurious.analysis.stats import welch_difference

    d = welch_difference([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert d[0] == pytest.approx(2.0) and d[1] < 2.0 < d[2]
    assert d[1] == pytest.approx(2.0 - 4.302653 * (1 / 3) ** 0.5, abs=1e-3)  # df = 2 when one side has no spread
    assert welch_difference([1.0], [0.0, 1.0]) is None


def test_summarize_ignores_missing_cells(tmp_path):
    spec = GridSpec(families=("qwen-like",), arms={"random": (0, 1)})
    assert summarize(spec, tmp_path) == {"groups": []}
    with pytest.raises(ValueError):
        GridSpec(families=("nope",), arms={"random": (0,)})
    with pytest.raises(ValueError):
        GridSpec(families=("qwen-like",), arms={"nope": (0,)})


def _fake_result(runs_dir, family, arm, seed, acc, maj):
    from spurious.io import write_json

    sampled = {"code_frequency": 0.8, "accuracy": 0.8, "boxed_rate": 0.9}
    write_json(runs_dir / f"{family}__{arm}__s{seed}" / "result.json", {
        "cell": {"family": family, "arm": arm, "seed": seed}, "wall_seconds": 1.0,
        "delta": {"accuracy": acc, "greedy_accuracy": 0.0, "code_frequency": maj, "majority_frequency": maj,
                  "boxed_rate": 0.0},
        "before": {"sampled": sampled}, "after": {"sampled": sampled}})


def test_antithetic_twins_are_summarised_as_pairs(tmp_path):
    spec = GridSpec(families=("qwen-like",), arms={"random": (0, 1, 2), "random-anti": (0, 1, 2), "gt": (0,)})
    for seed, (a, b) in enumerate([(0.10, 0.02), (-0.02, 0.12), (0.08, 0.04)]):
        _fake_result(tmp_path, "qwen-like", "random", seed, a, a)
        if seed < 2:  # seed 2's twin has not finished: no pair
            _fake_result(tmp_path, "qwen-like", "random-anti", seed, b, b)
    _fake_result(tmp_path, "qwen-like", "gt", 0, 0.2, 0.1)
    groups = {g["arm"]: g for g in summarize(spec, tmp_path)["groups"]}
    assert set(groups) == {"random", "gt"}
    r = groups["random"]
    assert r["paired"] and r["n"] == 2 and r["runs"] == 4 and r["seeds"] == [0, 1]
    assert r["accuracy_values"] == pytest.approx([0.06, 0.05]) and r["majority_rose"] == 2
    assert not groups["gt"]["paired"] and groups["gt"]["n"] == 1
    alone = GridSpec(families=("qwen-like",), arms={"random-anti": (0, 1)})  # no base arm: its own runs
    assert summarize(alone, tmp_path)["groups"][0]["n"] == 2


def test_same_seed_same_machine_gives_identical_numbers(organism, tmp_path):
    """A cell run twice with one seed: the same evaluation before and after and the same losses, step by step."""
    from spurious.organism.runner import run_cell

    settings = RunSettings(phases=2, prompts_per_phase=4, group_size=4, minibatch_size=8, eval_samples=64)
    cell = Cell("qwen-like", "random", 3)
    a = run_cell(cell, organism[1], tmp_path / "a", settings)
    b = run_cell(cell, organism[1], tmp_path / "b", settings)
    assert (a["before"], a["after"]) == (b["before"], b["after"])

    def steps(root):
        rows = [json.loads(x) for x in (root / cell.name / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k.startswith(("loss", "clip/", "reward", "adv"))}
                for r in rows if r["kind"] == "step"]

    sa = steps(tmp_path / "a")
    assert len(sa) == 4 and any("loss" in r for r in sa) and sa == steps(tmp_path / "b")
