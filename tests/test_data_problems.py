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
