"""Every command x bad input: exit code 2, one line ``error: ...`` on stderr, no traceback, nothing written.

Table-driven over the inputs a user gets wrong: a missing file, a malformed line, a missing field, a wrong type,
a null, an empty file, binary bytes, a folder where a file belongs, an unwritable or wrong-kind output, unknown
names and out-of-range values. Runs through ``typer.testing.CliRunner`` (no terminal, so nothing depends on its
width) plus the console entry point in a subprocess with a narrow ``COLUMNS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spurious.cli import app

GOOD_ROW = {"response": "so \\boxed{2}", "answer": "2"}
GOOD_PROBLEM = {"id": "p1", "problem": "1 + 1?", "answer": "2"}


def _jsonl(rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


# name -> file content (str or bytes); written into the test folder before the command runs
INPUTS: dict[str, str | bytes] = {
    "good.jsonl": _jsonl([GOOD_ROW]),
    "malformed.jsonl": _jsonl([GOOD_ROW, "{not json"]),
    "no_response.jsonl": _jsonl([GOOD_ROW, {"answer": "2"}]),
    "int_response.jsonl": _jsonl([{"response": 3, "answer": "2"}]),
    "null_response.jsonl": _jsonl([GOOD_ROW, {"response": None, "answer": "2"}]),
    "binary.jsonl": b"\xff\xfe\x00\x81garbage\n",
    "not_gzip.jsonl.gz": b"plain text, not gzip\n",
    "empty.jsonl": "",
    "bench.jsonl": _jsonl([GOOD_PROBLEM]),
    "bench_malformed.jsonl": _jsonl([GOOD_PROBLEM, "[1,"]),
    "bench_no_problem.jsonl": _jsonl([{"id": "p1", "answer": "2"}]),
    "bench_list_answer.jsonl": _jsonl([{"id": "p1", "problem": "x?", "answer": [1]}]),
    "bench_null_answer.jsonl": _jsonl([{"id": "p1", "problem": "x?", "answer": None}]),
    "bench_dupe.jsonl": _jsonl([GOOD_PROBLEM, GOOD_PROBLEM]),
    "a_file": "not a folder",
}
EVAL_DIR_BAD = {"samples.jsonl": _jsonl([{"benchmark": "b", "problem_id": "p", "correct": "yes"}])}

G = ["grade", "{d}/{input}", "-o", "{d}/out.jsonl", "--no-progress"]
R = ["reward", "format", "{d}/{input}", "-o", "{d}/out.jsonl"]
E = ["eval", "-m", "tiny:100K", "-o", "{d}/ev", "--max-new-tokens", "2", "-b"]

# (id, argv, substring of the one-line message)
CASES = [
    # ---- grade
    ("grade-missing", G, "missing.jsonl: file not found", {"input": "missing.jsonl"}),
    ("grade-malformed", G, "malformed.jsonl:2: invalid JSON", {"input": "malformed.jsonl"}),
    ("grade-missing-field", G, "no_response.jsonl:2: field 'response': missing", {"input": "no_response.jsonl"}),
    ("grade-wrong-type", G, "int_response.jsonl:1: field 'response': expected str", {"input": "int_response.jsonl"}),
    ("grade-null", G, "null_response.jsonl:2: field 'response': is null", {"input": "null_response.jsonl"}),
    ("grade-binary", G, "binary.jsonl:1: not valid UTF-8", {"input": "binary.jsonl"}),
    ("grade-not-gzip", G, "not_gzip.jsonl.gz:1: cannot read", {"input": "not_gzip.jsonl.gz"}),
    ("grade-input-folder", G, "is a folder, not a JSONL file", {"input": "."}),
    ("grade-out-unwritable", ["grade", "{d}/good.jsonl", "-o", "/proc/x/out.jsonl"], "/proc/x/out.jsonl: cannot write", {}),
    ("grade-out-folder", ["grade", "{d}/good.jsonl", "-o", "{d}"], "output is a folder", {}),
    ("grade-out-special", ["grade", "{d}/good.jsonl", "-o", "{d}/fifo"], "not a regular file", {}),
    ("grade-unknown-grader", G + ["--grader", "nosuch"], "--grader: unknown grader 'nosuch'", {"input": "good.jsonl"}),
    # ---- reward
    ("reward-missing", R, "missing.jsonl: file not found", {"input": "missing.jsonl"}),
    ("reward-malformed", R, "malformed.jsonl:2: invalid JSON", {"input": "malformed.jsonl"}),
    ("reward-missing-field", R, "no_response.jsonl:2: field 'response': missing", {"input": "no_response.jsonl"}),
    ("reward-wrong-type", R, "int_response.jsonl:1: field 'response': expected str", {"input": "int_response.jsonl"}),
    ("reward-null", R, "null_response.jsonl:2: field 'response': is null", {"input": "null_response.jsonl"}),
    ("reward-binary", R, "binary.jsonl:1: not valid UTF-8", {"input": "binary.jsonl"}),
    ("reward-not-gzip", R, "not_gzip.jsonl.gz:1: cannot read", {"input": "not_gzip.jsonl.gz"}),
    ("reward-input-folder", R, "is a folder, not a JSONL file", {"input": "."}),
    ("reward-out-unwritable", ["reward", "format", "{d}/good.jsonl", "-o", "/proc/x"], "/proc/x: cannot write", {}),
    ("reward-out-folder", ["reward", "format", "{d}/good.jsonl", "-o", "{d}"], "output is a folder", {}),
    ("reward-out-special", ["reward", "format", "{d}/good.jsonl", "-o", "{d}/fifo"], "not a regular file", {}),
    ("reward-unknown", ["reward", "nosuch", "{d}/good.jsonl", "-o", "{d}/o.jsonl"], "unknown reward 'nosuch'", {}),
    ("reward-bad-expression", ["reward", "format & & python", "{d}/good.jsonl", "-o", "{d}/o.jsonl"],
     "bad reward expression", {}),
    ("reward-bad-param", ["reward", "random", "{d}/good.jsonl", "-o", "{d}/o.jsonl", "-p", "gamma"],
     "--param: expected key=value", {}),
    ("reward-param-type", ["reward", "random", "{d}/good.jsonl", "-o", "{d}/o.jsonl", "-p", "gamma=abc"],
     "reward 'random': could not convert string to float", {}),
    # ---- eval
    ("eval-bench-missing", E + ["{d}/missing.jsonl"], "missing.jsonl: file not found", {}),
    ("eval-bench-unknown", E + ["nosuch"], "unknown dataset 'nosuch'", {}),
    ("eval-bench-none", E + [","], "--benchmarks: no benchmark given", {}),
    ("eval-bench-malformed", E + ["{d}/bench_malformed.jsonl"], "bench_malformed.jsonl:2: invalid JSON", {}),
    ("eval-bench-missing-field", E + ["{d}/bench_no_problem.jsonl"], "bench_no_problem.jsonl:1: field 'problem'", {}),
    ("eval-bench-wrong-type", E + ["{d}/bench_list_answer.jsonl"], "bench_list_answer.jsonl:1: field 'answer'", {}),
    ("eval-bench-null", E + ["{d}/bench_null_answer.jsonl"], "bench_null_answer.jsonl:1: field 'answer'", {}),
    ("eval-bench-dupe", E + ["{d}/bench_dupe.jsonl"], "problem id 'p1' occurs twice", {}),
    ("eval-bench-empty", E + ["{d}/empty.jsonl"], "empty.jsonl: no problems", {}),
    ("eval-bench-binary", E + ["{d}/binary.jsonl"], "binary.jsonl:1: not valid UTF-8", {}),
    ("eval-bench-folder", E + ["{d}"], "is a folder, not a JSONL file", {}),
    ("eval-grader", E + ["{d}/bench.jsonl", "--grader", "nosuch"], "--grader: unknown grader 'nosuch'", {}),
    ("eval-template", E + ["{d}/bench.jsonl", "--template", "nosuch"], "unknown template 'nosuch'", {}),
    ("eval-max-new-tokens", E + ["{d}/bench.jsonl", "--max-new-tokens", "0"], "--max-new-tokens: must be >= 1", {}),
    ("eval-limit-0", E + ["{d}/bench.jsonl", "--limit", "0"], "--limit: must be >= 1, got 0", {}),
    ("eval-samples-0", E + ["{d}/bench.jsonl", "--samples", "0"], "--samples: must be >= 1", {}),
    ("eval-backend", E + ["{d}/bench.jsonl", "--backend", "nosuch"], "--backend: unknown backend 'nosuch'", {}),
    ("eval-dtype", E + ["{d}/bench.jsonl", "--dtype", "float99"], "unknown dtype 'float99'", {}),
    ("eval-tiny-unknown", ["eval", "-m", "tiny:NOPE", "-b", "{d}/bench.jsonl", "-o", "{d}/ev"],
     "unknown tiny preset 'NOPE'", {}),
    ("eval-tiny-bad-option", ["eval", "-m", "tiny:100K:seed=x", "-b", "{d}/bench.jsonl", "-o", "{d}/ev"],
     "bad option 'seed=x'", {}),
    ("eval-model-path-missing", ["eval", "-m", "{d}/no-model", "-b", "{d}/bench.jsonl", "-o", "{d}/ev"],
     "no such model folder", {}),
    ("eval-model-folder-no-config", ["eval", "-m", "{d}", "-b", "{d}/bench.jsonl", "-o", "{d}/ev"],
     "not a model folder (no config.json)", {}),
    ("eval-run-missing", ["eval", "--run", "{d}/no-run", "-b", "{d}/bench.jsonl"], "no-run: run folder not found", {}),
    ("eval-out-unwritable", ["eval", "-m", "tiny:100K", "-b", "{d}/bench.jsonl", "-o", "/proc/x"],
     "/proc/x: cannot write", {}),
    ("eval-out-file", ["eval", "-m", "tiny:100K", "-b", "{d}/bench.jsonl", "-o", "{d}/a_file"],
     "output folder is an existing file", {}),
    ("eval-model-and-run", ["eval", "-m", "tiny:100K", "--run", "{d}", "-b", "{d}/bench.jsonl"],
     "give exactly one of --model or --run", {}),
    # ---- label
    ("label-tiny-unknown", ["label", "-m", "tiny:NOPE", "-d", "{d}/bench.jsonl", "-o", "{d}/l.jsonl"],
     "unknown tiny preset 'NOPE'", {}),
    ("label-dataset-missing", ["label", "-m", "tiny:100K", "-d", "{d}/missing.jsonl", "-o", "{d}/l.jsonl"],
     "missing.jsonl: file not found", {}),
    ("label-limit-0", ["label", "-m", "tiny:100K", "-d", "{d}/bench.jsonl", "-o", "{d}/l.jsonl", "--limit", "0"],
     "--limit: must be >= 1", {}),
    ("label-out-folder", ["label", "-m", "tiny:100K", "-d", "{d}/bench.jsonl", "-o", "{d}"], "output is a folder", {}),
    # ---- analyze
    ("analyze-missing", ["analyze", "{d}/nothing", "-o", "{d}/an"], "nothing: folder not found", {}),
    ("analyze-not-a-folder", ["analyze", "{d}/a_file", "-o", "{d}/an"], "a_file: not a folder", {}),
    ("analyze-empty-folder", ["analyze", "{d}/emptydir", "-o", "{d}/an"], "neither a training run", {}),
    ("analyze-wrong-type", ["analyze", "{d}/badeval", "-o", "{d}/an"],
     "badeval/samples.jsonl:1: field 'correct': expected bool, got str", {}),
    ("analyze-rule", ["analyze", "{d}/emptydir", "-o", "{d}/an", "--rule", "nosuch"], "--rule: unknown", {}),
    ("analyze-out-unwritable", ["analyze", "{d}/goodeval", "-o", "/proc/x"], "/proc/x: cannot write", {}),
    ("analyze-out-file", ["analyze", "{d}/goodeval", "-o", "{d}/a_file"], "output folder is an existing file", {}),
    # ---- demo
    ("demo-arm", ["demo", "--arm", "nosuch", "-o", "{d}/demo"], "--arm: 'nosuch' not in plan 'default'", {}),
    ("demo-plan", ["demo", "--plan", "nosuch", "-o", "{d}/demo"], "unknown plan 'nosuch'", {}),
    ("demo-family", ["demo", "--family", "llama", "-o", "{d}/demo"], "unknown organism family 'llama'", {}),
    ("demo-workers", ["demo", "--workers", "0", "-o", "{d}/demo"], "--workers: must be >= 1", {}),
    ("demo-report-only-empty", ["demo", "--report-only", "-o", "{d}/emptydir"], "no finished runs", {}),
    ("demo-out-file", ["demo", "--report-only", "-o", "{d}/a_file"], "output folder is an existing file", {}),
    # ---- organism
    ("organism-show-missing", ["organism", "show", "{d}"], "organism.json: not an organism folder", {}),
    ("organism-pretrain-family", ["organism", "pretrain", "--family", "llama"], "unknown organism family", {}),
    ("organism-simulate-p0", ["organism", "simulate", "--p0", "1.5"], "--p0: must be strictly between 0 and 1", {}),
    ("organism-simulate-replicas", ["organism", "simulate", "--replicas", "0"], "--replicas: must be >= 1", {}),
    ("organism-simulate-minibatches", ["organism", "simulate", "--minibatches", "7"], "minibatches", {}),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, content in INPUTS.items():
        p = tmp_path / name
        p.write_bytes(content) if isinstance(content, bytes) else p.write_text(content, encoding="utf-8")
    os.mkfifo(tmp_path / "fifo")  # a special file (never /dev/null: an atomic rename would replace it)
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "badeval").mkdir()
    for name, content in EVAL_DIR_BAD.items():
        (tmp_path / "badeval" / name).write_text(content)
    (tmp_path / "goodeval").mkdir()
    (tmp_path / "goodeval" / "samples.jsonl").write_text(
        _jsonl([{"benchmark": "b", "problem_id": "p", "correct": True, "response": "x"}]))
    return tmp_path


def _listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("case_id, argv, message, fill", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(folder, monkeypatch, case_id, argv, message, fill):
    monkeypatch.setenv("SPURIOUS_CACHE", str(folder / ".cache"))
    monkeypatch.chdir(folder)  # a default output folder would land here, and be caught below
    args = [a.format(d=folder, **fill) for a in argv]
    before = _listing(folder)
    r = CliRunner().invoke(app, args)
    assert isinstance(r.exception, SystemExit) and r.exit_code == 2, (r.exception, r.output)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in r.output
    assert _listing(folder) - before <= {".cache"}, sorted(_listing(folder) - before)


@pytest.mark.parametrize("argv", [R, G], ids=["reward", "grade"])
def test_empty_input_warns_and_writes_an_empty_result(folder, argv):
    args = [a.format(d=folder, input="empty.jsonl") for a in argv]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith("warning: ") and "empty.jsonl: no rows" in r.stderr.splitlines()[0]
    assert (folder / "out.jsonl").read_text() == ""
    summary = json.loads((folder / "out.summary.json").read_text())
    assert summary.get("count", summary.get("items")) == 0


def test_console_entry_point_prints_one_line_whatever_the_width(folder):
    """The real entry point, a narrow terminal width and a long path: still one line, no traceback."""
    deep = folder / ("a-long-folder-name-" * 4) / "bench.jsonl"
    env = {**os.environ, "COLUMNS": "30", "HF_HUB_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "-m", "spurious", "eval", "-m", "tiny:100K", "-b", str(deep), "-o",
                        str(folder / "ev")], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 2 and p.stderr.splitlines() == [f"error: {deep}: file not found"], p.stderr
    assert not (folder / "ev").exists()
