"""Majority-vote labelling and the incorrect-label set (spurious.eval.labeling, docs/paper.md §2.3, §2.6)."""

import json
from collections import defaultdict

import pytest

from spurious.data import Problem
from spurious.eval.labeling import label_problems, select_problems, vote
from spurious.eval.backends import ScriptedBackend
from spurious.eval.store import SettingsMismatch
from spurious.grading import canonical_answer

PROBLEMS = [
    Problem("a", "PA: 2+3", "5", {"level": 1}),
    Problem("b", "PB: 1+2", "3", {"level": 2}),
    Problem("c", "PC: hard", "42", {"level": 2}),
    Problem("d", "PD: half", "\\frac{1}{2}", {"level": 1}),
]
# responses in call order, per problem (k = 4)
SCRIPT = {
    "PA": ["\\boxed{5}", "\\boxed{7}", "\\boxed{5}", "no idea"],  # label 5, right, share 2/3
    "PB": ["\\boxed{4}", "\\boxed{3}", "\\boxed{4}", "\\boxed{3}"],  # tie -> first seen 4, wrong
    "PC": ["hmm", "no idea", "?", "..."],  # nothing extracted -> empty label (W4)
    "PD": ["\\boxed{0.5}", "\\boxed{\\frac12}", "\\boxed{1/3}", ""],  # 0.5 and 1/2 vote together
}


def scripted():
    seen = defaultdict(int)

    def respond(prompt, seed):
        key = prompt[:2]
        i = seen[key]
        seen[key] += 1
        return SCRIPT[key][i % 4]

    return ScriptedBackend(respond)


def test_vote_rules():
    assert vote(["", "1", "2", "2"]) == vote(["", "1", "2", "2"])
    v = vote(["", "1", "2", "2"])
    assert (v.label, v.votes, v.n_valid, v.n_samples) == ("2", 2, 3, 4) and v.vote_share == pytest.approx(2 / 3)
    assert vote(["x", "y"]).label == "x"  # tie -> first seen
    assert vote(["", " "]).label == "" and vote([]).vote_share == 0.0
    assert vote(["0.5", "\\frac{1}{2}", "3"], canonical_answer).label == "0.5"


def read(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_labels_agreement_and_sidecar(tmp_path):
    out = tmp_path / "labels.jsonl"
    s = label_problems(scripted(), PROBLEMS, out, dataset="toy", samples=4, show=False, model_name="scripted")
    rows = {r["id"]: r for r in read(out)}
    assert [rows[i]["answer"] for i in "abcd"] == ["5", "4", "", "0.5"]
    assert [rows[i]["mv_correct"] for i in "abcd"] == [True, False, False, True]
    assert rows["a"]["gt_answer"] == "5" and rows["a"]["vote_share"] == pytest.approx(2 / 3)
    assert rows["a"]["n_valid"] == 3 and rows["a"]["level"] == 1
    assert set(rows["a"]) >= {"id", "problem", "answer", "gt_answer", "vote_share", "n_valid", "mv_correct"}
    assert s["agreement_with_ground_truth"] == pytest.approx(0.5) and s["n_empty_labels"] == 1
    meta = json.loads((tmp_path / "labels.meta.json").read_text())
    assert meta["summary"]["n_problems"] == 4 and meta["provenance"]["samples"] == 4
    assert meta["provenance"]["template"]["name"] == "none"  # raw problem prompt, as the official pipeline
    votes = read(tmp_path / "labels.votes.jsonl")
    assert votes[0]["answers"] == ["5", "7", "5", ""]


def test_incorrect_only_and_drop_empty(tmp_path):
    out = tmp_path / "wrong.jsonl"
    label_problems(scripted(), PROBLEMS, out, samples=4, incorrect_only=True, show=False)
    assert [r["id"] for r in read(out)] == ["b", "c"]  # the empty label counts as incorrect (W4)
    out2 = tmp_path / "wrong2.jsonl"
    label_problems(scripted(), PROBLEMS, out2, samples=4, incorrect_only=True, drop_empty=True, show=False)
    assert [r["id"] for r in read(out2)] == ["b"]


def test_resume_skips_finished_problems(tmp_path):
    out = tmp_path / "labels.jsonl"
    label_problems(scripted(), PROBLEMS[:2], out, samples=4, show=False)
    be = scripted()
    s = label_problems(be, PROBLEMS, out, samples=4, show=False)
    assert sum(be.calls) == 2 * 4 and s["n_problems"] == 4  # only c and d were sampled
    with pytest.raises(SettingsMismatch):
        label_problems(scripted(), PROBLEMS, out, samples=4, temperature=0.7, show=False)


def test_select_problems_level_filter(shared_data):
    ps = select_problems("deepscaler", level=2, limit=5)
    assert len(ps) == 5 and all(p.meta["level"] == 2 for p in ps)
    with pytest.raises(ValueError, match="no 'level' field"):
        select_problems("aime24", level=2)


def test_label_with_a_real_tiny_model(tmp_path):
    from spurious.eval.backends import TransformersBackend
    from spurious.models import tiny_model_and_tokenizer

    model, tok = tiny_model_and_tokenizer("100K", vocab_size=320)
    out = tmp_path / "l.jsonl"
    s = label_problems(TransformersBackend(model, tok, batch_size=8), PROBLEMS[:2], out, samples=4,
                       max_new_tokens=6, show=False)
    rows = read(out)
    assert len(rows) == 2 and s["n_problems"] == 2 and all(0 <= r["n_valid"] <= 4 for r in rows)
    assert s["generated_tokens"] <= 2 * 4 * 6


def test_official_grader_labels(tmp_path):
    out = tmp_path / "off.jsonl"
    s = label_problems(scripted(), PROBLEMS, out, samples=4, grader="official", show=False)
    rows = {r["id"]: r for r in read(out)}
    assert [rows[i]["mv_correct"] for i in "abcd"] == [True, False, False, True]
    assert rows["b"]["answer"] == "4" and rows["c"]["answer"] == "" and s["n_empty_labels"] == 1
