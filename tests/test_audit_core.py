"""spurious.audit: exact gain decomposition on hand-built records, the verdict rules, the plan."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from spurious.audit.decomposition import behaviour, decompose, response_state
from spurious.audit.plan import AuditSpec, control_arm, settings_with
from spurious.audit.verdicts import EXCEEDS, INCONCLUSIVE, MARGIN, NOT_DISTINGUISHABLE, judge, seeds_needed
from spurious.organism.runner import RunSettings


def recs(pid: str, states: str) -> list[dict]:
    """``states``: one letter per response, n(one) / w(rong) / c(orrect)."""
    name = {"n": "none", "w": "wrong", "c": "correct"}
    return [{"problem_id": pid, "state": name[s], "code": False, "boxed": s != "n", "length": 10} for s in states]


def test_response_state():
    assert response_state(None, False) == "none"
    assert response_state("  ", False) == "none"
    assert response_state("7", False) == "wrong"
    assert response_state("7", True) == "correct"


def test_transitions_of_single_responses_are_the_flows():
    # one response per problem: p1 none->correct (format fix), p2 wrong->correct (reasoning),
    # p3 none->wrong (attempt inflation), p4 correct->none (a format loss), p5 correct->correct
    before = recs("p1", "n") + recs("p2", "w") + recs("p3", "n") + recs("p4", "c") + recs("p5", "c")
    after = recs("p1", "c") + recs("p2", "c") + recs("p3", "w") + recs("p4", "n") + recs("p5", "c")
    d = decompose(before, after)
    assert d.format_fixes == Fraction(1 - 1, 5)          # one fix, one loss
    assert d.reasoning == Fraction(1, 5)
    assert d.attempt_inflation == Fraction(1, 5)
    assert d.accuracy_gain == Fraction(3 - 2, 5)
    assert d.parsed_gain == Fraction(2 - 1, 5)          # p1, p3 gained an answer; p4 lost one


@pytest.mark.parametrize("case", [
    (("p1", "nnwc", "cccw"), ("p2", "www", "wcn"), ("p3", "cc", "nn")),
    (("a", "nnnnnnnn", "wwwwcccn"), ("b", "cwcwcwcw", "cccccccc"), ("c", "w", "n"), ("d", "nwc", "cwn")),
    (("x", "c", "c"),),
])
def test_decomposition_sums_exactly_to_the_gain(case):
    before = [r for pid, b, _ in case for r in recs(pid, b)]
    after = [r for pid, _, a in case for r in recs(pid, a)]
    d = decompose(before, after)
    acc = lambda rs: sum(Fraction(sum(r["state"] == "correct" for r in rs if r["problem_id"] == pid),
                                  sum(r["problem_id"] == pid for r in rs)) for pid, *_ in case) / len(case)
    parsed = lambda rs: sum(Fraction(sum(r["state"] != "none" for r in rs if r["problem_id"] == pid),
                                     sum(r["problem_id"] == pid for r in rs)) for pid, *_ in case) / len(case)
    assert d.accuracy_gain == acc(after) - acc(before)
    assert d.format_fixes + d.reasoning == d.accuracy_gain          # exact, not approximately
    assert d.format_fixes + d.attempt_inflation == d.parsed_gain == parsed(after) - parsed(before)


def test_decomposition_refuses_mismatched_problems_and_bad_states():
    with pytest.raises(ValueError, match="different problems"):
        decompose(recs("p1", "c"), recs("p2", "c"))
    with pytest.raises(ValueError, match="state"):
        decompose([{"problem_id": "p", "state": "maybe"}], recs("p", "c"))


def test_behaviour_rates():
    b = behaviour(recs("p", "nwcc"))
    assert b["accuracy"] == 0.5 and b["parsed_rate"] == 0.75 and b["boxed_rate"] == 0.75 and b["mean_length"] == 10


def test_verdict_exceeds_every_control():
    v = judge([0.70, 0.72, 0.71], {"random": [0.0, -0.02, 0.01], "format": [0.05, 0.03, 0.04]})
    assert v.verdict == EXCEEDS and all(c.status == "exceeds" for c in v.comparisons)


def test_verdict_not_distinguishable_when_one_control_explains_the_gain():
    v = judge([0.15, 0.17, 0.16], {"random": [0.16, 0.15, 0.17], "format": [0.0, 0.01, -0.01]})
    assert v.verdict == NOT_DISTINGUISHABLE
    status = {c.control: c.status for c in v.comparisons}
    assert status == {"random": "within", "format": "exceeds"}
    assert "random" in v.text


def test_verdict_below_a_control_is_not_distinguishable():
    v = judge([-0.30, -0.28, -0.31], {"random": [0.1, 0.12, 0.11]})
    assert v.verdict == NOT_DISTINGUISHABLE and v.comparisons[0].high < MARGIN


def test_verdict_inconclusive_estimates_seeds():
    user, rnd = [0.10, 0.25, 0.18], [0.05, 0.15, 0.0]
    v = judge(user, {"random": rnd})
    assert v.verdict == INCONCLUSIVE
    n = v.seeds_needed
    assert n is not None and n > 3 and f"n = {n}" in v.text
    assert seeds_needed(user, rnd) == n


def test_verdict_with_one_seed_is_inconclusive():
    v = judge([0.5], {"random": [0.0]})
    assert v.verdict == INCONCLUSIVE and v.seeds_needed is None


def test_plan_arms_and_controls():
    spec = AuditSpec(family="qwen-like", reward="python", controls=("random", "format", "on-policy", "gt & format"))
    arms = spec.arms()
    assert list(arms) == ["user", "random", "format", "on-policy", "reward-gt-format"]
    assert arms["on-policy"].overrides == {"optimizer_steps_per_phase": 1}
    assert arms["user"].reward == "python"
    assert len(spec.cells()) == 5 * 3 and spec.cells()[0][0].seed == 0
    assert control_arm("no-clip").overrides == {"surrogate": "no-clip"}
    with pytest.raises(ValueError):
        AuditSpec(family="qwen-like", reward="no-such-reward")
    with pytest.raises(ValueError):
        AuditSpec(family="qwen-like", reward="gt", controls=("random", "random"))


def test_recipe_overrides():
    s = settings_with(RunSettings(), ["phases=5", "learning_rate=1", "loss_aggregation=official"])
    assert (s.phases, s.learning_rate, s.loss_aggregation) == (5, 1.0, "official")
    with pytest.raises(ValueError, match="unknown recipe key"):
        settings_with(RunSettings(), ["lr=1"])
    with pytest.raises(ValueError, match="expected int"):
        settings_with(RunSettings(), ["phases=many"])


def test_eval_spec_answer_rule_is_part_of_the_fingerprint():
    from spurious.audit.evaluation import EvalSpec
    from spurious.data import Problem

    probs = [Problem("a", "1+1", "2")]
    assert EvalSpec().fingerprint(probs) != EvalSpec(answer="boxed").fingerprint(probs)
    assert EvalSpec().fingerprint(probs) != EvalSpec(seed=1).fingerprint(probs)
    assert EvalSpec().fingerprint(probs) != EvalSpec().fingerprint([Problem("a", "1+1", "3")])
    with pytest.raises(ValueError):
        EvalSpec(answer="loose")


def test_evaluation_records_under_both_answer_rules(monkeypatch):
    import spurious.audit.evaluation as ev
    from spurious.audit.evaluation import EvalSpec, evaluate_organism
    from spurious.data import Problem

    texts = ["python 3+4=7 \\boxed{7}", "3 plus 4 is 7", "python 3+4=8 \\boxed{8}", "no number"]
    monkeypatch.setattr(ev, "generate", lambda model, tok, prompts, **kw: texts[:len(prompts)])
    probs = [Problem("p", "3+4=", "7")]
    loose = evaluate_organism(None, None, probs, EvalSpec(samples=4))["records"]
    strict = evaluate_organism(None, None, probs, EvalSpec(samples=4, answer="boxed"))["records"]
    assert [r["state"] for r in loose] == ["correct", "correct", "wrong", "none"]
    assert [r["state"] for r in strict] == ["correct", "none", "wrong", "none"]
    assert [r["code"] for r in loose] == [True, False, True, False] and loose[0]["boxed"] and not loose[1]["boxed"]


# ------------------------------------------------------------------------------------ diagnostics, baselines


def write_metrics(run_dir, phases: list[dict]) -> None:
    run_dir.mkdir(parents=True)
    lines = [{"kind": "step", "phase": i, "clip/low_frac": 9.0} for i in range(len(phases))]  # step lines: ignored
    lines += [{"kind": "phase", "phase": i, **p} for i, p in enumerate(phases)]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_training_measures_from_hand_made_metrics(tmp_path):
    from spurious.audit.summary import DIAGNOSTICS, LAST_PHASES, training_measures

    # 7 phases: clip/low_frac 0.0 .. 0.6; the last LAST_PHASES (5) average 0.4; cov only in phases 0-1
    phases = [{"clip/low_frac": i / 10, "entropy": 1.0 - i / 10, "pi_bar": 0.5 + i / 100} for i in range(7)]
    phases[0]["cov/logp_old_adv"], phases[1]["cov/logp_old_adv"] = -0.2, -0.4
    phases[3]["dlogp/all"] = float("nan")  # a NaN is no value
    write_metrics(tmp_path / "run", phases)
    m = training_measures(tmp_path / "run")
    assert LAST_PHASES == 5
    assert m["diagnostics"]["clip/low_frac"] == {"first": 0.0, "last": pytest.approx(0.4)}
    assert m["diagnostics"]["cov/logp_old_adv"] == {"first": -0.2, "last": pytest.approx(-0.3)}
    assert m["diagnostics"]["dlogp/all"] == {"first": None, "last": None}
    assert set(m["diagnostics"]) == set(DIAGNOSTICS)
    assert m["training"]["entropy"] == pytest.approx(-0.6) and m["training"]["pi_bar"] == pytest.approx(0.06)
    # no metrics file, or a damaged one: no measures, no crash
    assert training_measures(tmp_path / "absent")["training"] == {"entropy": None, "pi_bar": None}
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metrics.jsonl").write_text('{"kind": "phase"}\nnot json\n{"kind": "phase"}\n')
    assert training_measures(tmp_path / "bad")["diagnostics"]["clip/low_frac"]["last"] is None


def test_versus_baselines_per_benchmark():
    from spurious.audit.summary import versus_baselines
    from spurious.eval.baselines import baseline_table

    s = lambda score: {"benchmarks": {"m": {"score": score, "headline": "pass@1", "boxed_rate": 0.5}}}
    table = baseline_table({"qwen-math": s(0.2), "sober": s(0.5)}, {"r1": "why"}, reference="qwen-math")
    seeds = [{"after_by_benchmark": {"m": 0.45}}, {"after_by_benchmark": {"m": 0.55}}]
    v = versus_baselines(seeds, table)["m"]
    assert v["strongest_template"] == "sober" and v["reference_score"] == 0.2
    assert v["after"]["mean"] == pytest.approx(0.5)
    assert v["over_strongest"]["mean"] == pytest.approx(0.0) and v["over_strongest"]["n"] == 2
    assert v["over_reference"]["mean"] == pytest.approx(0.3)
    assert v["over_reference"]["low"] < 0.3 < v["over_reference"]["high"]


def test_organism_prompt_says_why_a_template_cannot_apply():
    from spurious.audit.evaluation import organism_prompt
    from spurious.data.templates import Template, get_template

    assert organism_prompt(get_template("none"), "3+4*5=") == "3+4*5="
    with pytest.raises(ValueError, match="chat template"):
        organism_prompt(get_template("qwen-math"), "3+4*5=")
    with pytest.raises(ValueError, match="vocabulary"):
        organism_prompt(get_template("r1"), "3+4*5=")
    assert organism_prompt(Template("t", user=None, text="q: {problem}"), "3+4=") == "q: 3+4="


def test_evaluate_templates_skips_only_what_cannot_apply():
    from spurious.errors import UsageError
    from spurious.eval.baselines import evaluate_templates

    def one(name):
        if name == "chat":
            raise ValueError("no chat template")
        if name == "bad":
            raise UsageError("a user error is not a skipped template")
        return {"benchmarks": {}}

    summaries, skipped = evaluate_templates(one, ["a", "chat", "known"], known={"known": {"k": 1}})
    assert list(summaries) == ["a", "known"] and summaries["known"] == {"k": 1}
    assert skipped == {"chat": "no chat template"}
    with pytest.raises(UsageError):
        evaluate_templates(one, ["bad"])


def test_plan_written_before_baselines_existed_still_resumes(tmp_path):
    from spurious.audit.folder import PLAN_FILE, check_plan, write_plan

    spec = AuditSpec(family="qwen-like", reward="gt")
    write_plan(tmp_path, spec)
    plan = json.loads((tmp_path / PLAN_FILE).read_text())
    del plan["spec"]["baselines"]
    (tmp_path / PLAN_FILE).write_text(json.dumps(plan))
    assert check_plan(tmp_path, spec)
    from spurious.errors import UsageError

    with pytest.raises(UsageError, match="another audit plan"):
        check_plan(tmp_path, AuditSpec(family="qwen-like", reward="gt", baselines=True))


def test_model_audit_spec_cells_and_refusals():
    from spurious.audit.plan import CELL_FIELDS, ModelAuditSpec
    from spurious.rl.config import build_config

    recipe = {k: v for k, v in build_config("tiny-cpu").to_dict().items() if k not in CELL_FIELDS}
    spec = ModelAuditSpec(recipe=recipe, reward="python", controls=("random", "on-policy", "no-clip"), seeds=(0, 1))
    assert spec.target == "tiny-100K" and spec.template == "qwen-math"
    cells = spec.cells()
    assert [c.name for c, _ in cells[:4]] == ["tiny-100K__user__s0", "tiny-100K__random__s0",
                                              "tiny-100K__on-policy__s0", "tiny-100K__no-clip__s0"]
    cfg = {c.arm: spec.cell_config(c, a, "r") for c, a in cells if c.seed == 1}
    assert cfg["user"].reward == "python" and cfg["user"].seed == 1 and cfg["user"].name == "tiny-100K__user__s1"
    assert (cfg["random"].reward, cfg["random"].reward_params) == ("random", {"gamma": 0.5})
    assert cfg["on-policy"].optimizer_steps_per_phase == 1 and cfg["no-clip"].surrogate == "no-clip"
    assert {c.learning_rate for c in cfg.values()} == {recipe["learning_rate"]}
    with pytest.raises(ValueError, match="majority-vote labels"):
        ModelAuditSpec(recipe=recipe, reward="gt", controls=("incorrect",))
    with pytest.raises(ValueError, match="set by the audit"):
        ModelAuditSpec(recipe={**recipe, "seed": 3}, reward="gt")
    with pytest.raises(ValueError):
        ModelAuditSpec(recipe={**recipe, "minibatch_size": 7}, reward="gt")


def test_gains_split_by_leak_flags_by_hand():
    from spurious.audit.report import _leak_blocks
    from spurious.audit.summary import gains_by_split, record_split
    from spurious.eval.leaks import LeakFlags

    # model records carry "<benchmark>/<id>"; organism records a bare id
    def bench(rs, b):
        return [{**r, "problem_id": f"{b}/{r['problem_id']}", "benchmark": b} for r in rs]

    before = bench(recs("1", "w") + recs("2", "w") + recs("3", "c") + recs("4", "n"), "math500")
    after = bench(recs("1", "c") + recs("2", "w") + recs("3", "c") + recs("4", "c"), "math500")
    flags = LeakFlags({("math500", "1"): True, ("math500", "2"): True, ("math500", "3"): False})
    assert [record_split(r, flags) for r in before] == ["leaked", "leaked", "clean", "unflagged"]
    # leaked: p1 wrong->correct, p2 unchanged -> +1/2; clean: p3 unchanged -> 0; unflagged: p4 none->correct -> +1
    assert gains_by_split(before, after, flags) == {"leaked": 0.5, "clean": 0.0, "unflagged": 1.0}
    total = decompose(before, after).accuracy_gain
    assert total == Fraction(2, 4)  # (1/2 * 2 + 0 * 1 + 1 * 1) / 4: the splits' gains weighted by their problems
    assert gains_by_split(before, after, LeakFlags({("aime24", "1"): True})) == {"unflagged": 0.5}
    text = _leak_blocks({"leak_flags": None, "arms": []})[0]
    assert "No leak flags" in text
    blocks = _leak_blocks({"leak_flags": {"sources": ["x/leaks.jsonl"], "leaked": 2, "clean": 1},
                           "arms": [{"arm": "user", "gain_by_split": {"leaked": {"n": 1, "mean": 0.5, "low": None,
                                                                                  "high": None}}}]})
    assert "2 leaked, 1 clean" in blocks[0]
