"""The evaluation runner: records, summary metrics, resumption, settings guard (spurious.eval.runner)."""

import json

import pytest

from spurious.eval.backends import ScriptedBackend, combine_seeds
from spurious.eval.runner import PAPER_PROTOCOL, evaluate, protocol_for
from spurious.eval.store import SampleStore, SettingsMismatch

PROBLEMS = [
    {"id": "q1", "problem": "Q1: what is 2+3?", "answer": "5"},
    {"id": "q2", "problem": "Q2: what is 3+4?", "answer": "7"},
    {"id": "q3", "problem": "Q3: what is half of one?", "answer": "\\frac{1}{2}"},
    {"id": "q4", "problem": "Q4: what is 4+5?", "answer": "9"},
]

GREEDY = {
    "Q1": "Let me use Python.\n```python\nprint(2+3)\n```\nThe answer is \\boxed{5}.",  # right, code
    "Q2": "We compute 3+4 = 8, so \\boxed{8}",  # wrong, language
    "Q3": "Half of one: \\boxed{0.5}",  # right, language
    "Q4": "I think it is nine",  # no answer
}


def respond_greedy(prompt: str, seed: int) -> str:
    return GREEDY[prompt[:2]]


def respond_sampled(prompt: str, seed: int) -> str:
    """Q2 is right on odd seeds; the rest as in the greedy table."""
    if prompt.startswith("Q2") and seed % 2:
        return "\\boxed{7}"
    return GREEDY[prompt[:2]]


@pytest.fixture
def bench(tmp_path, monkeypatch):
    """A relative path, so the benchmark's name (which seeds the samples) is the same on every machine."""
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "toy.jsonl"
    f.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))
    return "toy.jsonl"


def test_protocol_defaults_are_the_papers():
    assert protocol_for("math500") == PAPER_PROTOCOL["math500"]
    assert (protocol_for("math500").samples, protocol_for("math500").temperature) == (1, 0.0)
    for b in ("amc23", "aime24", "aime25"):
        p = protocol_for(b)
        assert (p.samples, p.temperature, p.top_p, p.headline) == (8, 0.6, 1.0, "avg@8")
    assert protocol_for("some/file.jsonl").headline == "pass@1"
    assert protocol_for("amc23", samples=4, temperature=1.0).samples == 4


def test_greedy_summary_hand_values(tmp_path, bench):
    res = evaluate(ScriptedBackend(respond_greedy), [bench], template="none", out_dir=tmp_path / "out",
                   show=False, model_name="scripted")
    s = res["benchmarks"][bench]
    assert s["headline"] == "pass@1" and s["n_problems"] == 4 and s["samples"] == 1
    assert s["score"] == s["avg_at_k"] == pytest.approx(0.5)
    assert s["pass_at_k_raw"] == s["pass_at_k_unbiased"] == s["maj_at_k"] == pytest.approx(0.5)
    assert s["code_frequency"] == pytest.approx(0.25) and s["code_frequency_fenced"] == pytest.approx(0.25)
    assert s["accuracy_with_code"] == pytest.approx(1.0) and s["accuracy_with_language"] == pytest.approx(1 / 3)
    assert s["boxed_rate"] == pytest.approx(0.75) and s["format_rate"] == pytest.approx(0.75)
    assert s["parsable_rate"] == pytest.approx(0.75) and s["truncation_rate"] == 0.0
    rows = {r["problem_id"]: r for r in map(json.loads, (tmp_path / "out" / "samples.jsonl").read_text().splitlines())}
    assert set(rows["q1"]) >= {"benchmark", "problem_id", "sample_index", "prompt", "response", "answer", "extracted",
                               "correct", "status", "code", "code_fenced", "length", "truncated", "boxed"}
    assert rows["q3"]["extracted"] == "0.5" and rows["q3"]["correct"] and rows["q4"]["status"] == "no_answer"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    prov = summary["provenance"]
    assert prov["grader"] == "default" and prov["template"]["name"] == "none" and "versions" in prov
    assert "git_commit" in prov and "device" in prov and summary["benchmarks"][bench]["sampling"]["temperature"] == 0


def _expected_sampled(bench, k):
    """Per problem, the scores the sampled responder gives (seeds are public: combine_seeds)."""
    out = []
    for p in PROBLEMS:
        row = []
        for j in range(k):
            text = respond_sampled(p["problem"], combine_seeds(0, bench, p["id"], j))
            row.append(1.0 if p["id"] in ("q1", "q3") or (p["id"] == "q2" and text == "\\boxed{7}") else 0.0)
        out.append(row)
    return out


def test_sampled_avg_and_pass_at_k(tmp_path, bench):
    res = evaluate(ScriptedBackend(respond_sampled), [bench], template="none", samples=6, temperature=0.6,
                   out_dir=tmp_path / "o", show=False)
    s = res["benchmarks"][bench]
    exp = _expected_sampled(bench, 6)
    q2 = sum(exp[1])
    assert 0 < q2 < 6  # the seeds split Q2, so avg@k and pass@k differ
    assert s["headline"] == "avg@6"
    assert s["avg_at_k"] == pytest.approx(sum(map(sum, exp)) / 24)
    assert s["pass_at_k_raw"] == pytest.approx(3 / 4)
    assert s["pass_at_k_unbiased"] == pytest.approx(3 / 4)


def test_resume_continues_a_killed_run(tmp_path, bench):
    full = tmp_path / "full"
    evaluate(ScriptedBackend(respond_sampled), [bench], template="none", samples=2, temperature=0.6, out_dir=full,
             chunk_size=3, show=False)
    lines = (full / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 8
    # a run killed after 3 samples, in the middle of writing the 4th
    part = tmp_path / "part"
    part.mkdir()
    (part / "samples.jsonl").write_text("\n".join(lines[:3]) + "\n" + lines[3][:25])
    be = ScriptedBackend(respond_sampled)
    with pytest.warns(UserWarning, match="cut-off"):
        res = evaluate(be, [bench], template="none", samples=2, temperature=0.6, out_dir=part, chunk_size=3,
                       show=False)
    assert sum(be.calls) == 5  # only the missing samples were generated
    assert res["benchmarks"][bench]["newly_generated"] == 5
    key = lambda r: (r["problem_id"], r["sample_index"])  # noqa: E731
    a = sorted(map(json.loads, lines), key=key)
    b = sorted(map(json.loads, (part / "samples.jsonl").read_text().splitlines()), key=key)
    assert [(x["response"], x["correct"]) for x in a] == [(x["response"], x["correct"]) for x in b]
    # a third run has nothing to do
    be2 = ScriptedBackend(respond_sampled)
    evaluate(be2, [bench], template="none", samples=2, temperature=0.6, out_dir=part, show=False)
    assert be2.calls == []


def test_changed_settings_are_refused_more_samples_extend(tmp_path, bench):
    out = tmp_path / "o"
    evaluate(ScriptedBackend(respond_sampled), [bench], template="none", samples=2, temperature=0.6, out_dir=out,
             show=False)
    with pytest.raises(SettingsMismatch, match="other settings"):
        evaluate(ScriptedBackend(respond_sampled), [bench], template="none", samples=2, temperature=0.9,
                 out_dir=out, show=False)
    with pytest.raises(SettingsMismatch):
        evaluate(ScriptedBackend(respond_sampled), [bench], template="Q: {problem}", samples=2, temperature=0.6,
                 out_dir=out, show=False)
    be = ScriptedBackend(respond_sampled)
    res = evaluate(be, [bench], template="none", samples=3, temperature=0.6, out_dir=out, show=False)
    assert sum(be.calls) == 4 and res["benchmarks"][bench]["samples"] == 3


def test_grader_change_regrades_without_generating(tmp_path, bench):
    out = tmp_path / "o"
    evaluate(ScriptedBackend(respond_greedy), [bench], template="none", out_dir=out, show=False)
    be = ScriptedBackend(respond_greedy)
    res = evaluate(be, [bench], template="none", grader="official", out_dir=out, show=False)
    assert be.calls == []
    rows = list(SampleStore(out / "samples.jsonl").rows.values())
    assert {r["grader"] for r in rows} == {"official"}
    # the official extractor falls back to the last number: "nine" has none, Q2 still 8
    assert res["benchmarks"][bench]["score"] == pytest.approx(0.5)


def test_bad_samples_file_names_line(tmp_path, bench):
    out = tmp_path / "o"
    out.mkdir()
    (out / "samples.jsonl").write_text('{"benchmark": "b"}\n{"x": 1}\n')
    from spurious.io import InputError

    with pytest.raises(InputError, match=r"samples.jsonl:1: field 'problem_id'"):
        evaluate(ScriptedBackend(respond_greedy), [bench], template="none", out_dir=out, show=False)


def test_r1_template_stops_and_extracts_after_answer_tag(tmp_path, bench):
    def respond(prompt, seed):
        return " 2+3=5 </think> <answer> \\boxed{5} </answer> trailing text \\boxed{6}"

    res = evaluate(ScriptedBackend(respond), [bench], template="r1", out_dir=tmp_path / "o", limit=1, show=False)
    row = next(iter(SampleStore(tmp_path / "o" / "samples.jsonl").rows.values()))
    assert row["response"].endswith("</answer>") and "trailing" not in row["response"]
    assert row["extracted"] == "5" and row["correct"]
    assert res["benchmarks"][bench]["n_problems"] == 1
