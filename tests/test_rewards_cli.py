"""``spurious reward``: happy paths, reproducibility, listing and errors that name file, line and field."""

import json
import random
import re

import pytest
from typer.testing import CliRunner

from spurious.cli import app
from spurious.assignments import parse_assignment
from spurious.io import summary_path

runner = CliRunner()


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_reward_command_writes_rewards_and_summary(tmp_path):
    rows = [{"id": 1, "response": r"so \boxed{3}"}, {"id": 2, "response": "Python says \\boxed{3}"},
            {"id": 3, "response": "no box"}]
    src, out = _write(tmp_path / "in.jsonl", rows), tmp_path / "out" / "scored.jsonl"
    result = runner.invoke(app, ["reward", "format & !python", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [r["reward"] for r in _read(out)] == [1.0, 0.0, 0.0]
    assert [r["id"] for r in _read(out)] == [1, 2, 3]
    summary = json.loads((tmp_path / "out" / "scored.summary.json").read_text())
    assert summary["count"] == 3 and summary["mean"] == pytest.approx(1 / 3) and summary["name"] == "format&!python"
    assert summary["provenance"]["reward"] == "format & !python" and "versions" in summary["provenance"]
    assert "mean 0.3333 over 3 samples" in result.output


def test_random_rewards_are_reproducible_and_order_free(tmp_path):
    rows = [{"prompt": f"Q{p}", "response": "r", "group": p} for p in range(20) for _ in range(8)]
    src = _write(tmp_path / "in.jsonl", rows)
    runs = []
    for i in range(2):
        out = tmp_path / f"out{i}.jsonl"
        assert runner.invoke(app, ["reward", "random", str(src), "-o", str(out), "--gamma", "0.5", "--seed", "3"]
                             ).exit_code == 0
        runs.append([r["reward"] for r in _read(out)])
    assert runs[0] == runs[1] and 0 < sum(runs[0]) < len(rows)
    # explicit identities: the same draw whatever the line order
    explicit = [{"response": "r", "prompt_index": p, "sample_index": k, "step": 2} for p in range(10) for k in range(8)]
    shuffled = explicit[:]
    random.Random(0).shuffle(shuffled)
    values = {}
    for name, data in (("a", explicit), ("b", shuffled)):
        out = tmp_path / f"{name}.jsonl"
        assert runner.invoke(app, ["reward", "random0.3", str(_write(tmp_path / f"{name}_in.jsonl", data)),
                                   "-o", str(out), "--seed", "1"]).exit_code == 0
        values[name] = {(r["prompt_index"], r["sample_index"]): r["reward"] for r in _read(out)}
    assert values["a"] == values["b"]


def test_group_level_and_label_rewards(tmp_path):
    rows = [{"group": "g", "response": r"\boxed{2}", "answer": "2"}, {"group": "g", "response": r"\boxed{2.0}",
                                                                     "answer": "2"},
            {"group": "g", "response": r"\boxed{5}", "answer": 5}]
    src, out = _write(tmp_path / "in.jsonl", rows), tmp_path / "out.jsonl"
    result = runner.invoke(app, ["reward", "mv", str(src), "-o", str(out), "--chunk-size", "1"])
    assert result.exit_code == 0, result.output
    assert [r["reward"] for r in _read(out)] == [1.0, 1.0, 0.0]
    result = runner.invoke(app, ["reward", "gt", str(src), "-o", str(out), "--grader", "official"])
    assert result.exit_code == 0, result.output
    assert [r["reward"] for r in _read(out)] == [1.0, 1.0, 1.0]
    assert json.loads(summary_path(out).read_text())["params"] == {"grader": "official"}


def test_list_rewards():
    result = runner.invoke(app, ["reward", "--list"])
    assert result.exit_code == 0
    for name in ("ground_truth", "format", "random", "incorrect", "majority_vote", "python", "no_repetition"):
        assert name in result.output


@pytest.mark.parametrize("rows,args,message", [
    ([{"answer": "1"}], ["gt"], r"in.jsonl:1: field 'response': missing"),
    ([{"response": "a", "answer": "1"}, {"response": "b"}], ["gt"], r"in.jsonl:2: field 'answer': missing"),
    ([{"response": "a", "answer": None}], ["incorrect"], r"in.jsonl:1: field 'answer': is null"),
    ([{"response": "a"}], ["mv"], r"in.jsonl:1: field 'group': missing"),
    ([{"response": 3}], ["format"], r"in.jsonl:1: field 'response': expected str, got int"),
    ([{"response": "a", "step": "one"}], ["random"], r"in.jsonl:1: field 'step': expected int, got str"),
    ([{"response": "a", "sample_index": True}], ["random"], r"in.jsonl:1: field 'sample_index': expected int"),
    ([{"response": "a"}, {"response": None}], ["format"], r"in.jsonl:2: field 'response': is null"),
])
def test_input_errors_name_file_line_and_field(tmp_path, rows, args, message):
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["reward", *args, str(src), "-o", str(out)])
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {src}")
    assert re.search(message, result.stderr)
    assert not out.exists()


def test_bad_arguments(tmp_path):
    src = _write(tmp_path / "in.jsonl", [{"response": "a"}])
    out = str(tmp_path / "out.jsonl")
    for args, message in ((["nonsense", str(src), "-o", out], "unknown reward 'nonsense'"),
                          (["format", str(src), "-o", out, "--gamma", "0.2"], "takes no parameter(s) ['gamma']"),
                          (["random", str(src), "-o", out, "--param", "gamma"], "expected key=value"),
                          (["format", str(src)], "give NAME_OR_EXPR")):
        result = runner.invoke(app, ["reward", *args])
        flat = " ".join(result.output.replace("│", " ").split())  # rich wraps the message in a box
        assert result.exit_code == 2 and message in flat, result.output
    result = runner.invoke(app, ["reward", "random", str(tmp_path / "missing.jsonl"), "-o", out])
    assert result.exit_code == 2 and "file not found" in result.stderr


def test_param_parsing_and_summary_path(tmp_path):
    p = lambda text: parse_assignment(text, option="--param")  # noqa: E731
    assert p("gamma=0.25") == ("gamma", 0.25)
    assert p("online=false") == ("online", False)
    assert p("grader=official") == ("grader", "official")
    assert p("workers=null") == ("workers", None)
    # one semantics with --set: YAML, as in a preset file
    assert p("lr=1e-6") == ("lr", 1e-6) and p("xs=[a, b]") == ("xs", ["a", "b"]) and p("m={p: 0.5}") == ("m", {"p": 0.5})
    assert p("text=a: b: c") == ("text", "a: b: c")  # not YAML: the string as given
    assert summary_path(tmp_path / "a.jsonl").name == "a.summary.json"
    assert summary_path(tmp_path / "a.jsonl.gz").name == "a.summary.json"
