"""Leak flags: the one reader of leaks.jsonl, the split it defines, and analyze's leaked / clean / unflagged tables."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spurious.analysis.pipeline import analyze
from spurious.cli import app
from spurious.eval.leaks import LeakFlags, find_leak_files, load_all_leak_flags, load_leak_flags, split_samples
from spurious.io import InputError
from spurious.rollout import Rollout


def _lines(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _eval(d: Path, outcomes: dict[str, tuple[bool, bool]], bench: str = "math500") -> Path:
    """An evaluation folder: problem id -> (correct, code), one greedy sample each."""
    return _lines(d / "samples.jsonl", [
        {"benchmark": bench, "problem_id": pid, "sample_index": 0, "response": "python" if code else "words",
         "correct": correct} for pid, (correct, code) in outcomes.items()]).parent


# ---------------------------------------------------------------- the reader

def test_load_leak_flags_reads_what_contamination_writes(tmp_path):
    f = _lines(tmp_path / "leaks.jsonl", [
        {"benchmark": "math500", "problem_id": "a", "prefixes": [], "leaked": True},
        {"benchmark": "math500", "problem_id": "b", "prefixes": [], "leaked": False},
        {"problem_id": 7, "leaked": False},                      # an older record: no benchmark, integer id
    ])
    flags = load_leak_flags(tmp_path)                            # a folder holding leaks.jsonl works too
    assert flags.sources == [str(f)] and flags.counts() == {"leaked": 1, "clean": 2}
    assert flags.benchmarks == ["math500"]
    assert flags.split("math500", "a") == "leaked" and flags.split("math500", "b") == "clean"
    assert flags.split("amc23", "a") == "unflagged"              # a benchmark-keyed record matches its benchmark
    assert flags.split("amc23", "7") == "clean"                  # a record without one matches any benchmark
    assert flags.split("math500", "zz") == "unflagged"
    assert flags.flag(None, "a") is True                         # any benchmark: training rollouts
    both = LeakFlags({("m", "x"): False, (None, "x"): True})
    assert both.split("m", "x") == "leaked" and both.split("other", "x") == "leaked"


@pytest.mark.parametrize("rows,where,msg", [
    (['{"problem_id": "a", "leaked": tru'], ":1", "invalid JSON"),
    ([{"problem_id": "a"}], ":1: field 'leaked'", "missing"),
    ([{"leaked": True}], ":1: field 'problem_id'", "missing"),
    ([{"problem_id": "a", "leaked": "yes"}], ":1: field 'leaked'", "expected bool"),
    ([{"problem_id": "a", "leaked": None}], ":1: field 'leaked'", "is null"),
    ([{"problem_id": True, "leaked": True}], ":1: field 'problem_id'", "expected str/int"),
    ([{"problem_id": "a", "leaked": True, "benchmark": 5}], ":1: field 'benchmark'", "expected str"),
    ([{"problem_id": "a", "leaked": True}, {"problem_id": "a", "leaked": False}], ":2: field 'leaked'",
     "listed again"),
    (["[1, 2]"], ":1", "expected a JSON object"),
    ([], "", "no leak records"),
])
def test_a_malformed_flag_file_names_file_line_and_field(tmp_path, rows, where, msg):
    f = _lines(tmp_path / "bad.jsonl", rows)
    with pytest.raises(InputError) as e:
        load_leak_flags(f)
    assert str(e.value).startswith(f"{f}{where}") and msg in str(e.value)


def test_merge_split_and_find(tmp_path):
    a = _lines(tmp_path / "a" / "leaks.jsonl", [{"benchmark": "m", "problem_id": "1", "leaked": False},
                                                 {"benchmark": "m", "problem_id": "2", "leaked": False}])
    b = _lines(tmp_path / "b" / "contamination" / "leaks.jsonl", [{"benchmark": "m", "problem_id": "2",
                                                                     "leaked": True}])
    assert find_leak_files([tmp_path / "a", tmp_path / "b", tmp_path / "none"]) == [a, b]
    flags = load_all_leak_flags([a, b])                          # leaked in either file: leaked
    assert flags.split("m", "1") == "clean" and flags.split("m", "2") == "leaked"
    assert not load_all_leak_flags([]) and not LeakFlags()
    samples = [Rollout("", "", benchmark="m", problem_id=p, correct=True) for p in ("1", "2", "2", "3")]
    split = split_samples(samples, flags)
    assert list(split) == ["leaked", "clean", "unflagged"]
    assert [len(v) for v in split.values()] == [2, 1, 1]
    train = [Rollout("", "", benchmark="train", problem_id="2", correct=True)]
    assert list(split_samples(train, flags)) == ["unflagged"]
    assert list(split_samples(train, flags, any_benchmark=True)) == ["leaked"]


# ---------------------------------------------------------------- analyze

# baseline -> after: leaked problems l1, l2 go wrong -> right in language; clean c1 right -> wrong (code -> code),
# c2 wrong -> right via Lang -> Code; c3 unchanged; u1 (no flag) wrong -> right in language.
BASE = {"l1": (False, False), "l2": (False, False), "c1": (True, True), "c2": (False, False), "c3": (True, False),
        "u1": (False, False)}
AFTER = {"l1": (True, False), "l2": (True, False), "c1": (False, True), "c2": (True, True), "c3": (True, False),
         "u1": (True, False)}
FLAGS = [{"benchmark": "math500", "problem_id": p, "leaked": p.startswith("l")} for p in ("l1", "l2", "c1", "c2",
                                                                                          "c3")]


def _rows(path: Path) -> list[dict]:
    return json.loads(path.read_text())["rows"]


def test_analyze_splits_table1_transitions_table2_and_gains_by_hand(tmp_path):
    base, after = _eval(tmp_path / "base", BASE), _eval(tmp_path / "rl", AFTER)
    _lines(base / "contamination" / "leaks.jsonl", FLAGS)   # found beside the baseline's samples
    out = analyze([base, after], tmp_path / "an", baseline=base)
    t1 = {(r["eval"], r["split"], r["rule"]): r for r in _rows(tmp_path / "an" / "tables" / "table1.json")}
    assert [k[1] for k in t1 if k[0] == "base" and k[2] == "python"] == ["all", "leaked", "clean", "unflagged"]
    assert (t1["base", "leaked", "python"]["n"], t1["base", "leaked", "python"]["acc_%"]) == (2, 0.0)
    assert (t1["rl", "leaked", "python"]["acc_%"], t1["rl", "clean", "python"]["acc_%"]) == (100.0, pytest.approx(200 / 3))
    assert t1["base", "clean", "python"]["code_freq_%"] == pytest.approx(100 / 3)
    assert (t1["rl", "all", "python"]["n"], t1["rl", "unflagged", "python"]["n"]) == (6, 1)

    t2 = {r["split"]: r for r in _rows(tmp_path / "an" / "tables" / "table2.json")}
    assert t2["all"]["net_newly_correct"] == 3 and t2["leaked"]["net_newly_correct"] == 2
    assert t2["clean"]["net_newly_correct"] == 0                        # +1 (c2) - 1 (c1): C undefined
    assert t2["clean"]["C Lang→Code %"] is None and t2["unflagged"]["C Lang→Lang %"] == 100.0
    assert t2["leaked"]["C Lang→Lang %"] == 100.0
    assert t2["all"]["C Lang→Lang %"] == pytest.approx(100.0)          # l1, l2, u1 of net 3; c1 -1, c2 +1
    assert t2["all"]["C Lang→Code %"] == pytest.approx(100 / 3) and t2["all"]["C Code→Code %"] == pytest.approx(
        -100 / 3)
    tables = json.loads((tmp_path / "an" / "tables" / "transitions.json").read_text())["tables"]
    assert [t["extra"]["split"] for t in tables] == ["all", "leaked", "clean", "unflagged"]

    gains = {r["split"]: r for r in _rows(tmp_path / "an" / "tables" / "gains.json")}
    assert (gains["leaked"]["base"], gains["leaked"]["final"]) == (0.0, 100.0)
    assert gains["clean"]["gain"] == pytest.approx(0.0) and gains["all"]["gain"] == pytest.approx(50.0)
    html = out.report.read_text()
    assert "Leak flags" in html and "2 leaked and 3 clean" in html and "math500 [leaked]" in html


def test_analyze_without_flags_keeps_its_tables_unsplit(tmp_path):
    base, after = _eval(tmp_path / "base", BASE), _eval(tmp_path / "rl", AFTER)
    analyze([base, after], tmp_path / "an", baseline=base)
    assert all("split" not in r for r in _rows(tmp_path / "an" / "tables" / "table1.json"))
    assert [r["run"] for r in _rows(tmp_path / "an" / "tables" / "table2.json")] == ["rl"]


def test_analyze_leaks_option_and_a_note_when_nothing_matches(tmp_path):
    base, after = _eval(tmp_path / "base", BASE), _eval(tmp_path / "rl", AFTER)
    other = _lines(tmp_path / "amc.jsonl", [{"benchmark": "amc23", "problem_id": "l1", "leaked": True}])
    r = CliRunner().invoke(app, ["analyze", str(base), str(after), "--baseline", str(base), "--leaks", str(other),
                                 "-o", str(tmp_path / "an")])
    assert r.exit_code == 0, r.output
    assert "no evaluation sample matches a leak flag" in r.stderr
    splits = {row["split"] for row in _rows(tmp_path / "an" / "tables" / "table1.json")}
    assert splits == {"all", "unflagged"}
    prov = json.loads((tmp_path / "an" / "outputs.json").read_text())["provenance"]
    assert prov["analysis"]["leaks"] == [str(other)]


def test_analyze_refuses_a_malformed_flag_file_in_one_line_writing_nothing(tmp_path):
    base = _eval(tmp_path / "base", BASE)
    _lines(base / "leaks.jsonl", [{"problem_id": "l1", "leaked": 1}])
    out = tmp_path / "an"
    r = CliRunner().invoke(app, ["analyze", str(base), "-o", str(out)])
    assert r.exit_code == 2 and not out.exists()
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert lines == [f"error: {base / 'leaks.jsonl'}:1: field 'leaked': expected bool, got int"]


def test_analyze_splits_a_runs_training_rollouts_by_problem_id(tmp_path):
    run = tmp_path / "run"
    _lines(run / "metrics.jsonl", [{"kind": "phase", "phase": 0, "reward": 0.5}])
    for phase, outcomes in ((0, BASE), (1, AFTER)):
        f = run / "rollouts" / f"step_{phase:05d}.jsonl.gz"
        f.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(f, "wt") as fh:
            for pid, (correct, code) in outcomes.items():
                fh.write(json.dumps({"benchmark": "train", "problem_id": pid, "phase": phase, "sample_index": 0,
                                     "response": "python" if code else "words", "correct": correct}) + "\n")
    _lines(run / "leaks.jsonl", FLAGS)        # probed on the training set: benchmark 'math500', rollouts say 'train'
    analyze([run], tmp_path / "an")
    t1 = _rows(tmp_path / "an" / "tables" / "table1_rollouts.json")
    leaked = [r for r in t1 if r["split"] == "leaked" and r["rule"] == "python"]
    assert [(r["eval"], r["n"], r["acc_%"]) for r in leaked] == [("run@phase1", 2, 0.0), ("run@phase2", 2, 100.0)]
    t2 = {r["split"]: r for r in _rows(tmp_path / "an" / "tables" / "table2_rollouts.json")}
    assert t2["leaked"]["net_newly_correct"] == 2 and t2["unflagged"]["n"] == 1
