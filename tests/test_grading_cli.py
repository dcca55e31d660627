"""``spurious grade``: happy path, summary with provenance, precise input errors, nothing half-written."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from spurious.cli import app

runner = CliRunner()


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_grade_happy_path(tmp_path):
    rows = [
        {"id": 1, "response": r"so \boxed{25}", "answer": "025"},
        {"id": 2, "response": r"\boxed{\sqrt{4}}", "answer": 2},
        {"id": 3, "response": "no box", "answer": "3"},
        {"id": 4, "response": r"\boxed{7}", "answer": 142.0},
    ]
    inp = _write(tmp_path / "in.jsonl", [json.dumps(r) for r in rows])
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["grade", str(inp), "-o", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in graded] == [1, 2, 3, 4]  # input fields kept, order kept
    assert [g["correct"] for g in graded] == [True, True, False, False]
    assert [g["status"] for g in graded] == ["ok", "ok", "no_answer", "ok"]
    assert graded[2]["extracted"] is None and graded[0]["extracted"] == "25"
    printed = json.loads(r.output.strip().splitlines()[-1])
    assert printed["summary"]["accuracy"] == 0.5 and printed["summary"]["items"] == 4
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["by_status"] == {"ok": 3, "no_answer": 1, "timeout": 0, "error": 0}
    assert summary["items_per_second"] > 0
    assert summary["provenance"]["grader"] == "default" and "versions" in summary["provenance"]


def test_grade_official_and_r1_options(tmp_path):
    inp = _write(tmp_path / "in.jsonl", [json.dumps({"response": "<answer>The answer is 12</answer>", "answer": "12"})])
    out = tmp_path / "o.jsonl"
    r = runner.invoke(app, ["grade", str(inp), "-o", str(out), "--grader", "official", "--extract", "r1",
                            "--timeout", "3", "--workers", "1", "--no-progress"])
    assert r.exit_code == 0, r.output
    row = json.loads(out.read_text())
    assert row["correct"] and row["extracted"] == "12"
    assert json.loads((tmp_path / "o.summary.json").read_text())["provenance"]["extract"] == "r1"


@pytest.mark.parametrize("content, where", [
    ('{"response": "x", "answer": "1"}\nnot json\n', ":2: invalid JSON"),
    ('{"answer": "1"}\n', ":1: field 'response': missing"),
    ('{"response": "x"}\n', ":1: field 'answer': missing"),
    ('{"response": 5, "answer": "1"}\n', ":1: field 'response': expected str"),
    ('{"response": "x", "answer": null}\n', ":1: field 'answer': is null"),
    ('{"response": "x", "answer": true}\n', ":1: field 'answer': expected str/int/float, got bool"),
    ('[1, 2]\n', ":1: expected a JSON object"),
])
def test_bad_input_names_file_line_field_and_writes_nothing(tmp_path, content, where):
    inp = tmp_path / "bad.jsonl"
    inp.write_text(content, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["grade", str(inp), "-o", str(out), "--no-progress"])
    assert r.exit_code == 2 and r.stderr.startswith(f"error: {inp}") and where in r.stderr
    assert not out.exists() and not (tmp_path / "out.summary.json").exists()


def test_bad_options(tmp_path):
    inp = _write(tmp_path / "in.jsonl", [json.dumps({"response": "x", "answer": "1"})])
    for args in (["--grader", "nope"], ["--extract", "nope"], ["--timeout", "0"], ["--workers", "0"]):
        r = runner.invoke(app, ["grade", str(inp), "-o", str(tmp_path / "o.jsonl"), *args])
        assert r.exit_code == 2, args
    assert not (tmp_path / "o.jsonl").exists()


def test_unwritable_output_is_an_input_error(tmp_path):
    inp = _write(tmp_path / "in.jsonl", [json.dumps({"response": "x", "answer": "1"})])
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = runner.invoke(app, ["grade", str(inp), "-o", str(blocker / "out.jsonl"), "--no-progress"])
    assert r.exit_code == 2 and "cannot write" in r.stderr and len(r.stderr.splitlines()) == 1


def test_console_entry_point_exits_2_on_missing_file(tmp_path):
    """The error is one line naming the whole path, even on a 20-column terminal (no wrapping mid-path)."""
    import os

    deep = tmp_path / ("a-rather-long-folder-name-[x]" * 3)
    deep.mkdir()
    env = {**os.environ, "COLUMNS": "20", "LINES": "10", "TERM": "xterm-256color", "FORCE_COLOR": "1"}
    p = subprocess.run([sys.executable, "-m", "spurious", "grade", str(deep / "missing.jsonl"), "-o",
                        str(tmp_path / "o.jsonl")], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [f"error: {deep / 'missing.jsonl'}: file not found"]
