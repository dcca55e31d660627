"""Problem loading: bad rows name file, line and field; the benchmark registry; the one-shot example."""

import json

import pytest

from spurious.data import BENCHMARKS, load_problems, load_problems_file
from spurious.data.one_shot import PI1_ANSWER, PI1_ID, load_one_shot_pi1
from spurious.io import InputError


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_good_file_and_meta(tmp_path):
    f = _write(tmp_path / "p.jsonl", [{"id": "a", "problem": "1+1?", "answer": 2, "level": 3},
                                      {"problem": "2+2?", "answer": "4"}])
    ps = load_problems_file(f)
    assert [p.id for p in ps] == ["a", "p-2"] and ps[0].answer == "2" and ps[0].meta == {"level": 3}
    assert load_problems(str(f), limit=1)[0].id == "a"


@pytest.mark.parametrize("row,field,msg", [
    ('{"problem": "x"', None, "invalid JSON"),
    ({"problem": "x"}, "answer", "missing"),
    ({"problem": "", "answer": "1"}, "problem", "non-empty"),
    ({"problem": "x", "answer": ""}, "answer", "empty answer"),
    ({"problem": "x", "answer": [1]}, "answer", "string or number"),
    ({"problem": "x", "answer": True}, "answer", "string or number"),
])
def test_bad_rows_name_file_line_field(tmp_path, row, field, msg):
    f = _write(tmp_path / "bad.jsonl", [{"problem": "ok", "answer": "1"}, row])
    with pytest.raises(InputError) as e:
        load_problems_file(f)
    assert f"bad.jsonl:2" in str(e.value) and msg in str(e.value)
    assert e.value.line == 2 and e.value.field == field


def test_unknown_dataset_lists_names():
    with pytest.raises(ValueError, match="one-shot-pi1"):
        load_problems("no-such-dataset")


def test_registry_has_the_papers_benchmarks():
    assert {"math500", "amc23", "aime24", "aime25", "deepscaler"} <= set(BENCHMARKS)


def test_benchmarks_load_locally(shared_data):
    sizes = {"math500": 500, "amc23": 83, "aime24": 30, "aime25": 30}
    for name, n in sizes.items():
        assert len(load_problems(name)) == n
    assert load_problems("aime24", limit=3)[1].answer == "025"  # zero-padded, as in the file


def test_one_shot_pi1_is_the_sail_problem(shared_data):
    [p] = load_problems("one-shot-pi1")
    assert p.id == PI1_ID == "L4-7395" and p.answer == PI1_ANSWER == "12.8"
    assert "pressure" in p.problem and "sail" in p.problem and p.meta["level"] == 4
    assert load_one_shot_pi1(limit=0) == []


# ---------------------------------------------------------------- MATH-500: local data first, else the hub by name

def test_math500_resolves_to_the_local_data_offline_without_touching_the_hub(shared_data, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("the hub was asked"))
    ps = load_problems("math500")
    assert len(ps) == 500 and ps[0].id == "test/precalculus/807.json"
    assert ps == load_problems_file(shared_data / "math500.jsonl")


def test_math500_by_name_comes_from_the_hub_when_there_is_no_local_copy(shared_data, tmp_path, monkeypatch):
    """The hub copy (HuggingFaceH4/MATH-500: problem, solution, answer, subject, level, unique_id) gives the same
    ids, texts and answers as the local file, so samples of either resume each other."""
    import datasets

    local = load_problems_file(shared_data / "math500.jsonl")
    hub_rows = [{"problem": p.problem, "solution": "...", "answer": p.answer, "subject": "s", "level": 3,
                 "unique_id": p.id} for p in local]
    asked = []
    monkeypatch.setenv("SPURIOUS_DATA_DIR", str(tmp_path))          # no math500.jsonl here
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: asked.append((a, k)) or hub_rows)
    ps = load_problems("math500", limit=20)
    assert asked == [(("HuggingFaceH4/MATH-500", None), {"split": "test"})]
    assert [(p.id, p.problem, p.answer) for p in ps] == [(p.id, p.problem, p.answer) for p in local[:20]]
    assert ps[0].meta == {"solution": "...", "subject": "s", "level": 3}


def test_math500_without_local_data_offline_is_a_one_line_error(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "SPURIOUS_DATA_DIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "spurious", "eval", "--model", "tiny:100K", "-b", "math500",
                        "--out", str(tmp_path / "ev")], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and not (tmp_path / "ev").exists()
    lines = [x for x in (r.stdout + r.stderr).splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: benchmark 'math500': no local copy at "), lines
    assert "the hub is offline" in lines[0] and "SPURIOUS_DATA_DIR" in lines[0]
