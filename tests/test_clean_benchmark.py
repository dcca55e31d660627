"""The generated clean control benchmark (spurious.data.clean): deterministic, exact, graded right, usable by name."""

from __future__ import annotations

import ast
import json
import re
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from spurious.cli import app
from spurious.data import load_problems
from spurious.data.clean import (SIZE, Expr, bin_op, clean_problems, evaluate, format_answer, parse_clean_name,
                                 render, render_latex)
from spurious.grading import grade_many


def independent_value(expression: str) -> Fraction:
    """The value of a plain ``+ - * /`` integer expression, computed by Python's parser (not the generator's tree)."""
    def ev(n: ast.AST) -> Fraction:
        if isinstance(n, ast.Expression):
            return ev(n.body)
        if isinstance(n, ast.Constant) and type(n.value) is int:
            return Fraction(n.value)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            a, b = ev(n.left), ev(n.right)
            if isinstance(n.op, ast.Add):
                return a + b
            if isinstance(n.op, ast.Sub):
                return a - b
            return a * b if isinstance(n.op, ast.Mult) else a / b
        raise AssertionError(f"unexpected node {ast.dump(n)} in {expression!r}")
    return ev(ast.parse(expression, mode="eval"))


def test_render_keeps_the_value_with_few_parentheses():
    e = bin_op("-", 10, bin_op("-", 4, bin_op("*", 2, 3)))            # 10 - (4 - 2*3) = 12
    assert render(e) == "10 - (4 - 2 * 3)" and evaluate(e) == 12
    assert render(bin_op("/", bin_op("*", 6, 4), bin_op("*", 2, 3))) == "6 * 4 / (2 * 3)"
    assert render(bin_op("+", 1, bin_op("-", 2, 3))) == "1 + 2 - 3"   # same value without parentheses
    assert render_latex(bin_op("/", bin_op("+", 1, 2), 3)) == "(1 + 2) \\div 3"
    assert format_answer(Fraction(-3, 4)) == "-\\frac{3}{4}" and format_answer(Fraction(42)) == "42"
    with pytest.raises(ZeroDivisionError):
        evaluate(bin_op("/", 1, bin_op("-", 2, 2)))
    assert bin_op("+", 1, 2).left == Expr(value=1)


def test_deterministic_limit_stable_and_in_the_benchmark_row_format():
    a, b = clean_problems(0), clean_problems(0)
    assert a == b and len(a) == SIZE
    assert clean_problems(0, limit=37) == a[:37]                      # the first N do not depend on the limit
    assert clean_problems(1, limit=50) != a[:50]
    assert len({p.id for p in a}) == len({p.problem for p in a}) == SIZE
    for p in a[:20]:
        assert set(vars(p)) == {"id", "problem", "answer", "meta"} and p.problem and p.answer
        assert re.fullmatch(r"clean0/(arithmetic|word)/L[1-5]/\d{4}", p.id)
    levels = {(p.meta["kind"], p.meta["level"]) for p in a}
    assert levels == {(k, lv) for k in ("arithmetic", "word") for lv in range(1, 6)}
    ops = {lv: [p.meta["operations"] for p in a if p.meta["kind"] == "arithmetic" and p.meta["level"] == lv]
           for lv in range(1, 6)}
    assert all(set(v) == {lv + 1} for lv, v in ops.items())          # harder levels, more steps
    fractional = {p.meta["level"] for p in a if "frac" in p.answer}
    assert fractional and min(fractional) == 4                       # rational answers only at levels 4-5
    assert all("common fraction" in p.problem for p in a if "frac" in p.answer)


@pytest.mark.parametrize("seed", [0, 7])
def test_every_answer_grades_correct_against_itself_and_the_texts_own_computation(seed):
    problems = clean_problems(seed)
    independent = []
    for p in problems:
        if p.meta["kind"] == "arithmetic":                           # the expression shown in the problem text
            shown = re.fullmatch(r"Compute \$(.+)\$\.( Express your answer as a common fraction\.)?", p.problem)
            assert shown, p.problem
            value = independent_value(shown.group(1).replace("\\times", "*").replace("\\div", "/"))
        else:                                                        # the story's numbers, in its computation
            value = independent_value(p.meta["computation"])
            text_numbers = set(re.findall(r"\d+", p.problem))
            assert set(re.findall(r"\d+", p.meta["computation"])) - {"1", "2"} <= text_numbers, p
            assert value > 0
        assert value == independent_value(p.meta["computation"])
        independent.append(f"{value.numerator}/{value.denominator}" if value.denominator != 1 else str(value))
    golds = [p.answer for p in problems]
    assert all(g.correct for g in grade_many([f"So \\boxed{{{a}}}." for a in golds], golds))
    assert all(g.correct for g in grade_many([f"\\boxed{{{v}}}" for v in independent], golds))
    off_by_one = [f"\\boxed{{{independent_value(p.meta['computation']) + 1}}}" for p in problems[:50]]
    assert not any(g.correct for g in grade_many(off_by_one, golds[:50]))   # the grader is not a rubber stamp


def test_names_resolve_and_nothing_else_does():
    assert parse_clean_name("clean") == 0 and parse_clean_name("clean-12") == 12
    assert parse_clean_name("clean-x") is None and parse_clean_name("cleaner") is None
    assert load_problems("clean", limit=3) == clean_problems(0, limit=3)
    assert load_problems("clean-5", limit=2) == clean_problems(5, limit=2)
    with pytest.raises(ValueError, match="clean-<seed>"):
        load_problems("clean-x")


def test_eval_and_contamination_run_on_it_offline(tmp_path):
    r = CliRunner().invoke(app, ["eval", "--model", "tiny:100K", "-b", "clean-3", "--limit", "3", "--max-new-tokens",
                                 "3", "--out", str(tmp_path / "ev")])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (tmp_path / "ev" / "samples.jsonl").read_text().splitlines()]
    expected = {("clean-3", p.id, p.answer) for p in clean_problems(3, 3)}
    assert {(x["benchmark"], x["problem_id"], x["answer"]) for x in rows} == expected and len(rows) == 3
    r = CliRunner().invoke(app, ["contamination", "--model", "tiny:100K", "-b", "clean", "--limit", "2",
                                 "--max-new-tokens", "4", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    leaks = [json.loads(x) for x in (tmp_path / "c" / "leaks.jsonl").read_text().splitlines()]
    assert [(x["benchmark"], x["problem_id"]) for x in leaks] == [("clean", p.id) for p in clean_problems(0, 2)]
