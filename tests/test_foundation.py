import json

import pytest

from spurious.code_reasoning import is_code_reasoning
from spurious.io import InputError, read_jsonl, write_jsonl
from spurious.provenance import provenance


def test_read_jsonl_reports_file_line_field(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"response": "a", "answer": "1"}\n\n{"response": "b"}\n')
    with pytest.raises(InputError) as e:
        read_jsonl(p, required=("response", "answer"))
    assert str(e.value) == f"{p}:3: field 'answer': missing"


def test_read_jsonl_bad_json_and_type(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(InputError, match=r"x.jsonl:2: invalid JSON"):
        read_jsonl(p)
    p.write_text('{"answer": 3}\n')
    with pytest.raises(InputError, match=r":1: field 'answer': expected str, got int"):
        read_jsonl(p, types={"answer": str})
    with pytest.raises(InputError, match="file not found"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_write_jsonl_is_atomic(tmp_path):
    p = tmp_path / "out.jsonl"

    def rows():
        yield {"a": 1}
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        write_jsonl(p, rows())
    assert not p.exists() and list(tmp_path.iterdir()) == []
    write_jsonl(p, [{"a": 1}, {"b": "é"}])
    assert [json.loads(x) for x in p.read_text().splitlines()] == [{"a": 1}, {"b": "é"}]


def test_code_reasoning_rules():
    assert is_code_reasoning("I will use Python.")
    assert is_code_reasoning("PYTHONIC")
    assert not is_code_reasoning("plain words")
    assert is_code_reasoning("```\nx=1\n```", rule="fenced")
    assert not is_code_reasoning("python", rule="fenced")
    with pytest.raises(ValueError):
        is_code_reasoning("x", rule="nope")


def test_provenance_has_versions():
    p = provenance(seed=3)
    assert p["seed"] == 3 and "torch" in p["versions"] and "git_commit" in p


def test_atomic_write_respects_umask(tmp_path):
    import os

    p = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        write_jsonl(p, [{"a": 1}])
    finally:
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o644
