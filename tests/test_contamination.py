"""The contamination probe: prefix splitting, ROUGE-L, exact match, leak flags; the command on a tiny model."""

from __future__ import annotations

import json

import pytest

from spurious.data import Problem
from spurious.eval.backends import ScriptedBackend
from spurious.eval.contamination import lcs_length, probe, rouge_l, score_continuation, split_words, summarize_probe


def test_split_words():
    assert split_words("a b c d e", 0.6) == ("a b c", ["d", "e"])
    assert split_words("a b", 0.9) == ("a", ["b"])          # at least one word on each side
    assert split_words("a b", 0.1) == ("a", ["b"])
    assert split_words("single", 0.5) == ("single", [])
    with pytest.raises(ValueError):
        split_words("a b", 1.0)


def test_rouge_l_and_lcs():
    assert lcs_length("a b c d".split(), "a c d".split()) == 3
    assert rouge_l("a b c".split(), "a b c".split()) == 1.0
    assert rouge_l([], ["a"]) == 0.0 and rouge_l(["x"], ["y"]) == 0.0
    p, r = 2 / 4, 2 / 3
    assert abs(rouge_l("a x b y".split(), "a b z".split()) - 2 * p * r / (p + r)) < 1e-12


def test_score_continuation_compares_the_remaining_words_only():
    assert score_continuation("d e and then the answer is 5", ["d", "e"]) == (True, 1.0)
    em, rl = score_continuation("d f", ["d", "e"])
    assert not em and rl == 0.5


def test_probe_flags_a_memorised_problem():
    problems = [Problem("m", "What is the sum of one and two here?", "3"),
                Problem("n", "Find the product of four and five now.", "20")]
    memory = {p.problem: p for p in problems}

    def respond(prompt: str, seed: int) -> str:
        for text in memory:             # "memorised" only the first problem; it also answers it
            if text.startswith(prompt) and text.startswith("What"):
                return text[len(prompt):].strip() + " The answer is \\boxed{3}."
        return "I do not know."

    records = probe(ScriptedBackend(respond), problems, fractions=(0.4, 0.6), max_new_tokens=64)
    by_id = {r["problem_id"]: r for r in records}
    assert by_id["m"]["leaked"] and not by_id["n"]["leaked"]
    assert all(x["exact_match"] and x["answer_correct"] for x in by_id["m"]["prefixes"])
    s = summarize_probe(records)
    assert s["leaked"] == 0.5 and s["per_fraction"]["0.6"]["exact_match"] == 0.5


def test_contamination_command_tiny_model(tmp_path):
    from typer.testing import CliRunner

    from spurious.cli import app

    bench = tmp_path / "b.jsonl"
    bench.write_text("".join(json.dumps({"id": str(i), "problem": f"What is {i} plus one, exactly?",
                                         "answer": str(i + 1)}) + "\n" for i in range(2)))
    out = tmp_path / "c"
    r = CliRunner().invoke(app, ["contamination", "--model", "tiny:100K", "--benchmark", str(bench),
                                 "--max-new-tokens", "6", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (out / "leaks.jsonl").read_text().splitlines()]
    assert [row["problem_id"] for row in rows] == ["0", "1"] and all("leaked" in row for row in rows)
    assert [x["fraction"] for x in rows[0]["prefixes"]] == [0.4, 0.6, 0.8]
    s = json.loads((out / "summary.json").read_text())
    assert s["problems"] == 2 and s["provenance"]["decoding"] == "greedy, no template"
    bad = CliRunner().invoke(app, ["contamination", "--model", "tiny:100K", "--benchmark", str(bench),
                                   "--fractions", "0.5,1.2", "--out", str(tmp_path / "d")])
    assert bad.exit_code == 2 and "--fractions" in bad.output and not (tmp_path / "d").exists()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_contamination_smollm2_on_20_math500_problems(shared_data, tmp_path):
    """SmolLM2-135M-Instruct, the first 20 MATH-500 problems, offline (../shared/data), 64 new tokens."""
    from typer.testing import CliRunner

    from spurious.cli import app

    out = tmp_path / "smol"
    r = CliRunner().invoke(app, ["contamination", "--model", "smollm2-135m-instruct", "--benchmark", "math500",
                                 "--limit", "20", "--max-new-tokens", "64", "--batch-size", "20", "--out", str(out)])
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    assert s["problems"] == 20 and set(s["per_fraction"]) == {"0.4", "0.6", "0.8"}
    for f in s["per_fraction"].values():
        assert 0 <= f["exact_match"] <= 1 and 0 <= f["rouge_l"] <= 1


def test_contamination_records_the_benchmark_and_keeps_out_of_an_evaluation_folder(tmp_path):
    from typer.testing import CliRunner

    from spurious.cli import app
    from spurious.eval.leaks import load_leak_flags

    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"id": "q", "problem": "What is two plus two, exactly?", "answer": "4"}) + "\n")
    evald = tmp_path / "ev"
    evald.mkdir()
    (evald / "samples.jsonl").write_text("")
    (evald / "summary.json").write_text("{}")
    args = ["contamination", "--model", "tiny:100K", "--benchmark", str(bench), "--max-new-tokens", "3"]
    r = CliRunner().invoke(app, args + ["--out", str(evald)])
    assert r.exit_code == 2 and "contamination" in r.output and (evald / "summary.json").read_text() == "{}"
    r = CliRunner().invoke(app, args + ["--out", str(evald / "contamination")])
    assert r.exit_code == 0, r.output
    flags = load_leak_flags(evald / "contamination")
    assert list(flags.flags) == [(str(bench), "q")]                    # keyed by the benchmark as given
