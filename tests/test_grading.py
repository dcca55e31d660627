"""Extraction modes, the default grader's exact fast paths, math-verify fallback, batch API and counters."""

import pytest

from spurious.grading import (
    GradeResult,
    answers_equivalent,
    canonical_answer,
    extract_answer,
    grade,
    grade_many,
    grader_stats,
    reset_grader_stats,
)
from spurious.grading.normalize import clean_answer, fast_verdict, parse_number

# --- extraction ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    (r"so \boxed{5}", "5"),
    (r"\boxed{1} then \boxed{2}", "2"),  # the last box
    (r"\boxed{\frac{1}{\sqrt{2}}}", r"\frac{1}{\sqrt{2}}"),  # nested braces
    (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),  # escaped braces are content
    (r"$\boxed 5$", "5"),  # space form
    (r"\boxed  {7}", "7"),
    (r"\fbox{3}", "3"),
    (r"\boxed{ 4 }", "4"),
    (r"\boxed{}", None),  # empty box: no answer, not ""
    (r"\boxed{ }", None),
    (r"\boxed{5} and then \boxed{6", None),  # truncated last box: no answer (an earlier box is not used)
    (r"\boxed", None),
    (r"\boxedfoo{3}", None),  # not the \boxed command
    ("no box, just 42", None),
    ("", None),
])
def test_boxed_extraction(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("<think>...</think> <answer>\\boxed{3} because</answer>", "3"),
    ("<answer>first</answer> <answer> 12 </answer> trailing", "12"),
    ("<answer>x = 4", "x = 4"),  # no closing tag: to the end
    ("<answer>  </answer>", None),
    ("no tags \\boxed{3}", None),
])
def test_r1_extraction(text, expected):
    assert extract_answer(text, "r1") == expected


def test_official_extraction_mode_maps_empty_to_none():
    assert extract_answer("The answer is 7.", "official") == "7"
    assert extract_answer("nothing here", "official") is None
    assert extract_answer("value 3 then 4", "official") == "4"


def test_unknown_mode_and_bad_type():
    with pytest.raises(ValueError, match="unknown extraction mode"):
        extract_answer("x", "nope")
    with pytest.raises(TypeError):
        extract_answer(None)  # type: ignore[arg-type]


# --- fast exact paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("gold, answer, expected", [
    ("025", "25", True), ("070", "70", True), ("142.0", "142", True), (r"90^\circ", "90", True),
    (r"\text{Evelyn}", "Evelyn", True), (r"11,\!880", "11880", True), ("1{,}000", "1000", True),
    ("1,000", "1000", True), (r"\frac{1}{2}", "0.5", True), (r"\dfrac{1}{2}", r"\frac12", True),
    ("-\\frac{3}{4}", "-0.75", True), ("3/4", "0.75", True), (r"50\%", "50", True), (r"50\%", "0.5", True),
    ("x = 5", "5", True), ("5", r"y=5", True), (r"5 \text{ cm}", "5", True), (r"\$10", "10", True),
    (r"\left( 3, 4 \right)", "(3,4)", True), ("(1,2)", "(2,1)", False), ("(1,2)", "[1,2]", False),
    ("(1,2)", "(1,2,3)", False), ("26", "27", False), (r"\frac{1}{3}", "0.333", False),
    (r"\frac{1}{3}", "0.333333", True), ("0.09071950", r"\frac{87}{959}", False), ("2", "4/2", True),
    ("5", "5.", True), ("-0", "0", True), ("\u22125", "-5", True),
    # a number is never a tuple, an interval with distinct ends or a matrix with several entries
    ("65", "(1,-16,-4,43)", False), (r"\left( 3, \frac{\pi}{2} \right)", "5", False), ("3", "[0,1)", False),
    ("12", r"\left(\frac{3}{5},\frac{8}{3}\right]", False), ("1", "[1,2]", False),
    ("27", r"\begin{pmatrix} 1/5 \\ -18/5 \end{pmatrix}", False), ("2", r"\begin{pmatrix} 1 & 2 \end{pmatrix}", False),
])
def test_fast_verdict(gold, answer, expected):
    assert fast_verdict(gold, answer) is expected


@pytest.mark.parametrize("gold, answer, expected", [
    ("32349", "32,349", True), ("5125", "5,125", True), (r"11,\!880", "11880", True), ("1{,}000", "1000", True),
    ("1000000", "1,000,000", True), ("1000000", r"1{,}000{,}000", True), ("-1234.5", "-1,234.5", True),
    (r"10\,000", "10000", True), (r"\$1,000", "1000", True),
    ("32349", "32, 349", None), ("5125", "5, 125", None),  # a comma and a space separate list items
    ("100", "1,00", None), ("1234567", "12,34,567", None),  # groups of three only
    ("111", "0,111", None), ("1000", "01,000", None),  # no leading zero group
    ("1000000", "1,000{,}000", None),  # one separator throughout
])
def test_thousands_grouping_is_exact(gold, answer, expected):
    assert fast_verdict(gold, answer) is expected


@pytest.mark.parametrize("response, gold", [(r"\boxed{32, 349}", "32349"), (r"\boxed{5, 125}", "5125"),
                                            (r"\boxed{1,00}", "100")])
def test_list_is_not_a_thousands_number(response, gold):
    r = grade(response, gold)
    assert r.status == "ok" and not r.correct
    assert canonical_answer(response[7:-1]) != canonical_answer(gold)


@pytest.mark.parametrize("gold, answer", [(r"\sqrt{4}", "2"), ("x^2+2x+1", "(x+1)^2"), ("1,2", "2,1"),
                                          (r"\pi", "3.14159"), ("7 3/4", r"\frac{31}{4}"),
                                          ("5", "[5,5]"), ("5", r"[5, \frac{10}{2}]"),  # degenerate: the number 5
                                          ("5", r"\begin{pmatrix} 5 \end{pmatrix}")])
def test_fast_path_defers_symbolic_cases(gold, answer):
    assert fast_verdict(gold, answer) is None


def test_clean_and_parse():
    assert clean_answer(r"$\left( 1,\ 2 \right)$.") == "(1,2)"
    # a row break followed by a space stays a row break (it is not the spacing command "\ ")
    assert clean_answer(r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}") == r"\begin{pmatrix}1\\2\end{pmatrix}"
    assert clean_answer(r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}") != clean_answer(r"\begin{pmatrix} 1 \ 2 \end{pmatrix}")
    assert clean_answer(r"\text{\textbf{B}}") == "B"
    assert clean_answer(r"x = \frac{1}{2}") == r"\frac{1}{2}"
    assert clean_answer(r"a = 1, b = 2") == "a=1,b=2"  # two equations: no prefix stripping
    assert parse_number("1e5") is None
    assert parse_number(r"\frac{1}{0}") is None
    assert parse_number("7" * 1000) is None  # very long literals go to the guarded symbolic path


def test_canonical_answer_buckets_equal_values():
    assert canonical_answer("025") == canonical_answer("25.0") == canonical_answer(r"\frac{50}{2}") == "25"
    assert canonical_answer("0.5") == canonical_answer(r"\dfrac{1}{2}") == canonical_answer("1/2") == "1/2"
    assert canonical_answer(r"\left( 1, 0.5 \right)") == "(1,1/2)"
    assert canonical_answer(r"\text{Evelyn}") == "Evelyn"
    assert canonical_answer("x^2") != canonical_answer("x^3")


# --- the default grader end to end ---------------------------------------------------------------------------


@pytest.mark.parametrize("response, gold, correct", [
    (r"\boxed{25}", "025", True),  # AIME zero padding
    (r"\boxed{142}", "142.0", True),  # AMC float strings
    (r"\boxed{90}", r"90^\circ", True),
    (r"\boxed{\text{Evelyn}}", r"\text{Evelyn}", True),
    (r"\boxed{(3, \pi/2)}", r"\left( 3, \frac{\pi}{2} \right)", True),  # via math-verify
    (r"\boxed{2\sqrt{2}}", r"\sqrt{8}", True),
    (r"\boxed{(x+1)^2}", "x^2+2x+1", True),
    (r"\boxed{a+b}", "a+b", True),
    (r"\boxed{\frac{31}{4}}", "7 3/4", True),  # a mixed number is not 73/4
    (r"\boxed{3.14}", r"\pi", False),
    (r"\boxed{(3, 1)}", r"\left( 3, \frac{\pi}{2} \right)", False),
])
def test_default_grader(response, gold, correct):
    r = grade(response, gold)
    assert isinstance(r, GradeResult)
    assert r.status == "ok" and r.correct is correct


def test_grade_many_statuses_order_and_stats():
    reset_grader_stats()
    responses = [r"\boxed{4}", "no answer", r"\boxed{\sqrt{16}}", r"\boxed{\sqrt{16}}", r"\boxed{9^{9^{9^9}}}"]
    golds = ["4", "4", "4", "4", "4"]
    out = grade_many(responses, golds, timeout=5)
    assert [r.status for r in out] == ["ok", "no_answer", "ok", "ok", "error"]
    assert [r.correct for r in out] == [True, False, True, True, False]
    assert out[1].extracted is None
    s = grader_stats()
    assert s.items == 5 and s.correct == 3
    assert s.by_status["ok"] == 3 and s.by_status["no_answer"] == 1 and s.by_status["error"] == 1
    assert s.guarded == 1
    assert s.symbolic + s.cache_hits >= 2 and s.cache_hits >= 1  # the duplicate pair is graded once
    assert s.items_per_second > 0
    assert set(s.as_dict()["by_status"]) == {"ok", "no_answer", "timeout", "error"}


def test_cache_reuses_symbolic_verdicts():
    grade(r"\boxed{\sqrt{9}}", "3")
    before = grader_stats().cache_hits
    assert grade(r"\boxed{\sqrt{9}}", "3").correct
    assert grader_stats().cache_hits == before + 1


def test_extract_override_and_official_grader_modes():
    assert grade("<answer>\\boxed{5}</answer>", "5", extract="r1").correct
    r = grade("<answer>The answer is 5 apples</answer>", "5", extract="r1")  # unboxed prose: math-verify searches it
    assert r.correct and r.extracted == "The answer is 5 apples"
    assert not grade("<answer>The answer is 6 apples</answer>", "5", extract="r1").correct
    assert grade("The answer is 5", "5", extract="official").correct
    assert grade("<answer>5</answer>", "5", grader="official", extract="r1").correct
    assert grade(r"\boxed{x=5}", "5", grader="official", extract="boxed").correct


def test_argument_errors():
    with pytest.raises(ValueError, match="unknown grader"):
        grade("x", "1", grader="nope")
    with pytest.raises(ValueError, match="unknown extraction mode"):
        grade("x", "1", extract="nope")
    with pytest.raises(ValueError, match="timeout"):
        grade("x", "1", timeout=0)
    with pytest.raises(ValueError, match="2 responses but 1 gold"):
        grade_many(["a", "b"], ["1"])
    with pytest.raises(ValueError, match="workers"):
        grade_many([r"\boxed{\sqrt{2}}"], ["1.41"], workers=0)


def test_answers_equivalent():
    assert answers_equivalent(r"\frac{1}{2}", "0.5")
    assert answers_equivalent("x^2+2x+1", "(x+1)^2")
    assert not answers_equivalent("3", "4")
    assert answers_equivalent("a+b", "a+b", grader="official")
    assert not answers_equivalent("2", "4/2", grader="official")  # W5
    assert answers_equivalent("2", "4/2")


def test_empty_batch():
    assert grade_many([], []) == []


def test_answers_equivalent_official_takes_answers_as_extracted():
    assert not answers_equivalent("a+b", "+b", grader="official")  # "+b" is what W1 extraction leaves
    assert answers_equivalent(r"\frac{1}{2}", "0.5", grader="official")
    assert answers_equivalent("0.5", r"\frac{1}{2}", grader="official")  # symmetric


def test_grading_from_a_thread_and_after_fork():
    """Works off the main thread (no signal.alarm), and a forked child starts its own workers."""
    import os
    import threading

    out = []
    t = threading.Thread(target=lambda: out.append(grade(r"\boxed{\sqrt{36}}", "6")))
    t.start()
    t.join()
    assert out[0].correct and out[0].status == "ok"

    pid = os.fork()
    if pid == 0:  # child: must never touch (or kill) the parent's workers
        ok = False
        try:
            ok = grade(r"\boxed{\sqrt{49}}", "7", timeout=60).correct
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert grade(r"\boxed{\sqrt{64}}", "8").correct  # the parent's pool survived the child's exit


def test_benchmark_answer_formats_from_the_project_data(shared_data):
    """AIME answers are zero-padded ("025"), AMC answers float strings ("142.0"): a plain integer box matches."""
    import json

    golds = []
    for name in ("aime24", "aime25", "amc23"):
        with open(shared_data / f"{name}.jsonl", encoding="utf-8") as fh:
            golds += [json.loads(line)["answer"] for line in fh if line.strip()]
    responses = [rf"The answer is $\boxed{{{int(float(g))}}}$." for g in golds]
    assert any(g.startswith("0") for g in golds) and any(g.endswith(".0") for g in golds)
    for grader in ("default", "official"):
        results = grade_many(responses, golds, grader=grader)
        assert all(r.correct for r in results), grader
        wrong = grade_many([rf"\boxed{{{int(float(g)) + 1}}}" for g in golds], golds, grader=grader)
        assert not any(r.correct for r in wrong), grader


# --- answers spread over several boxes -----------------------------------------------------------------------


@pytest.mark.parametrize("response, gold, correct", [
    (r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}", "(2, 2), (6, 2)", True),
    (r"\boxed{1},\boxed{2},\boxed{3}", "{1,2,3}", True),
    (r"\boxed{3}, \boxed{1}, \boxed{2}", r"\{1, 2, 3\}", True),  # a set: any order
    (r"\boxed{-2} and \boxed{1}", "1,-2", True),
    (r"\boxed{3} is a step; finally \boxed{1, -2}", "1,-2", True),  # the last box alone still counts
    # the set of boxes must equal the set of gold parts: an extra or a missing box earns nothing
    (r"\boxed{-2} and \boxed{1} and \boxed{3}", "1,-2", False),
    (r"\boxed{(2,2)} \boxed{(6,2)} \boxed{(3,1)}", "(2, 2), (6, 2)", False),
    (r"\boxed{1},\boxed{2}", "{1,2,3}", False),
    (r"\boxed{1} \boxed{1}", "1,-2", False),
    # a single-part gold reads the last box only: boxing every candidate does not collect the reward
    (r"\boxed{5} \boxed{6} \boxed{7}", "5", False),
    (r"\boxed{1} \boxed{2}", "(1, 2)", False),  # a tuple is one answer, not two parts
    (r"\boxed{1} \boxed{2}", "[1, 2]", False),
    (r"\boxed{-2} and \boxed{1", "1,-2", False),  # an unclosed box: no box list
])
def test_multi_box_rule(response, gold, correct):
    r = grade(response, gold)
    assert r.correct is correct, r


def test_multi_box_rule_is_counted_and_reports_the_joined_answer():
    reset_grader_stats()
    r = grade(r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}", "(2, 2), (6, 2)")
    assert r.correct and r.extracted == "(2, 2), (6, 2)"
    assert grader_stats().multi_box == 1


def test_answer_parts():
    from spurious.grading.normalize import answer_parts

    assert answer_parts("(2, 2), (6, 2)") == ["(2,2)", "(6,2)"]
    assert answer_parts(r"\{1,2,3\}") == answer_parts("{1,2,3}") == ["1", "2", "3"]
    assert answer_parts("1,-2") == ["1", "-2"]
    for single in ("(1,2)", "[0,1)", "5", "1,000", r"\frac{1}{2}", r"x \in [1, 2]"):
        assert len(answer_parts(single)) == 1, single


# --- a final answer stated after the last box; multi-line golds ----------------------------------------------


@pytest.mark.parametrize("text, expected", [
    (r"... so $\boxed{255}$ in part one. Adding, 10,455 in all. The final answer is $10,455$.", "10,455"),
    (r"Final Answer: The final answer is $\frac{1}{2}$. I hope it is correct.", r"\frac{1}{2}"),  # no box at all
    ("The final answer is 18. So we are done.", "18"),
    ("The final answer is: \\(x+1\\)", "x+1"),
    (r"The final answer is $\boxed{7}$.", "7"),  # the statement holds the box: the box decides
    (r"The final answer is 3 (see below). \boxed{4}", "4"),  # a box after the statement wins
    (r"\boxed{5} then the final answer is $6", "5"),  # an unclosed statement is ignored
    ("The answer is 18.", None),  # only an explicit *final* answer statement counts
])
def test_final_statement_after_the_last_box(text, expected):
    assert extract_answer(text) == expected


def test_final_statement_grades():
    r = grade(r"... $\boxed{255}$ ... The final answer is $10,455$.", "10455")
    assert r.correct and r.extracted == "10,455"
    assert not grade(r"... $\boxed{10455}$ ... The final answer is $255$.", "10455").correct


def test_multi_line_gold_and_answer():
    gold = "\\begin{pmatrix}\n1 \\\\\n2\n\\end{pmatrix}"
    assert grade(r"\boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}", gold).correct
    assert grade("\\boxed{\\begin{pmatrix}\n 1 \\\\ \n 2 \\end{pmatrix}}", gold).correct
    assert not grade(r"\boxed{\begin{pmatrix} 2 \\ 1 \end{pmatrix}}", gold).correct


# --- statistics for a training log ---------------------------------------------------------------------------


def test_grader_metrics_delta_between_snapshots():
    from spurious.grading import GraderStats, grader_metrics

    before = GraderStats(items=10, timeouts=1, cache_hits=3)
    before.by_status.update(ok=8, timeout=1, no_answer=1)
    after = GraderStats(items=30, timeouts=3, errors=1, guarded=2, cache_hits=10, deadline_extensions=4,
                        worker_restarts=2, multi_box=1, symbolic=5, fast_path=12, seconds=2.5)
    after.by_status.update(ok=21, timeout=3, no_answer=3, error=3)
    m = grader_metrics(before, after)
    assert m["grader/items"] == 20 and m["grader/timeouts"] == 2 and m["grader/errors"] == 1
    assert m["grader/guarded"] == 2 and m["grader/cache_hits"] == 7 and m["grader/no_answer"] == 2
    assert m["grader/deadline_extensions"] == 4 and m["grader/worker_restarts"] == 2 and m["grader/multi_box"] == 1
    assert m["grader/timeout_rate"] == pytest.approx(2 / 20) and m["grader/error_rate"] == pytest.approx(3 / 20)
    assert m["grader/no_answer_rate"] == pytest.approx(2 / 20) and m["grader/seconds"] == 2.5
    assert all(isinstance(v, (int, float)) for v in m.values())
    assert grader_metrics(after, after)["grader/timeout_rate"] == 0.0  # nothing graded in between
    assert set(grader_metrics(before, after, prefix="")) == {k[len("grader/"):] for k in m}


def test_grader_metrics_of_a_real_batch():
    from spurious.grading import grader_metrics

    before = grader_stats()
    grade_many([r"\boxed{4}", "nothing", r"\boxed{9^{9^{9^9}}}"], ["4", "4", "4"])
    m = grader_metrics(before, grader_stats())
    assert m["grader/items"] == 3 and m["grader/no_answer"] == 1 and m["grader/guarded"] == 1
    assert m["grader/error_rate"] == pytest.approx(1 / 3)
