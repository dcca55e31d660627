"""Agreement with the labelled cases of public math-grader test suites, next to math-verify's on the same rows.

``tests/data/grader_public_suites.jsonl`` holds the cases (facts: gold, prediction, expected label, the repository
at a commit and the test they come from) of math-verify, lighteval, the Hendrycks MATH equivalence tests,
NeMo-Skills' ``math_equal`` tests, verl's boxed-answer tests and TRL's accuracy-reward tests, each posed as a
response and a gold label: a boxed or prose prediction is the response as given; a lone math span (``$...$``) or
a bare expression is boxed; a ``$...$`` or boxed gold is its content. Cases that test a non-default setting of
the suite's grader (a precision other than 6, non-strict comparison, set-relation comparison, letter
extraction) are left out.

math-verify is called as in ``benchmarks/grader.py``: ``verify(parse("$" + gold + "$"), parse(response))``.
Where math-verify matches the suite's label and we do not, the row must carry the id of a deliberate rule that
``docs/grading.md`` documents (section "Agreement with public test suites").
"""

import json
import logging
from collections import Counter
from pathlib import Path

import pytest

from spurious.grading import grade_many

DATA = Path(__file__).parent / "data" / "grader_public_suites.jsonl"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "grading.md"


def _rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def _math_verify(rows: list[dict]) -> list[bool]:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    out = []
    for r in rows:
        try:
            out.append(bool(verify(parse("$" + r["gold"] + "$"), parse(r["response"]))))
        except Exception:  # noqa: BLE001 - a peer that raises has not matched the label
            out.append(False)
    return out


@pytest.fixture(scope="module")
def verdicts():
    rows = _rows()
    ours = [r.correct for r in grade_many([r["response"] for r in rows], [r["gold"] for r in rows], timeout=10)]
    return rows, ours, _math_verify(rows)


def agreement_table(rows, ours, mv) -> list[tuple[str, int, int, int]]:
    """``(source repository, rows, ours == label, math-verify == label)`` per source, then ``"all"``."""
    table: dict[str, Counter] = {}
    for r, o, m in zip(rows, ours, mv):
        for key in (r["source"].split("@")[0], "all"):
            c = table.setdefault(key, Counter())
            c["n"] += 1
            c["ours"] += o == r["expected"]
            c["mv"] += m == r["expected"]
    return [(k, c["n"], c["ours"], c["mv"]) for k, c in table.items()]


def test_data_records_where_each_case_comes_from():
    rows = _rows()
    assert len(rows) > 400
    for r in rows:
        assert r["source"].count("@") == 1 and ":" in r["source"].split("@")[1], r["source"]
        assert isinstance(r["expected"], bool) and r["response"] and r["test"]


def test_no_row_where_math_verify_is_right_and_we_are_wrong_without_a_documented_rule(verdicts):
    rows, ours, mv = verdicts
    print("\nsource                     rows   ours  math-verify   (agreement with the suite's label)")
    for source, n, o, m in agreement_table(rows, ours, mv):
        print(f"{source:<26} {n:4d}  {o / n:6.3f}  {m / n:6.3f}")
    docs = DOCS.read_text(encoding="utf-8")
    undocumented = []
    for r, o, m in zip(rows, ours, mv):
        if m == r["expected"] and o != r["expected"]:
            rule = r.get("deliberate")
            if rule is None or f"**{rule}**" not in docs:
                undocumented.append((r["source"].split("@")[0], r["test"], r["gold"], r["response"][:80]))
    assert not undocumented, "\n".join(map(str, undocumented))


def test_deliberate_rows_are_still_deliberate(verdicts):
    """A row marked deliberate where we now agree with the label (or math-verify does not) must lose its mark."""
    rows, ours, mv = verdicts
    stale = [(r["test"], r["gold"], r["response"][:60]) for r, o, m in zip(rows, ours, mv)
             if r.get("deliberate") and not (m == r["expected"] and o != r["expected"])]
    assert not stale, stale
