"""The official-parity parser and grader (docs/paper.md §2.4, §6): every rule, quirk W1-W6 and the accepted list."""

import pytest

from spurious.grading import grade
from spurious.grading.official import (
    box_only_format,
    hendrycks_normalize,
    official_box_extract,
    official_extract,
    official_ground_truth,
    official_grade_answer,
    official_normalize,
    official_prefilter,
    prm800k_normalize,
    sympy_allowed,
)

# --- §6.1 extraction rules, in priority order ---------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    # 1. Minerva wins even over a later box
    (r"The final answer is $\frac{1}{2}$. I hope it is correct. \boxed{7}", r"\frac{1}{2}"),
    # 2. the last `boxed`: brace-balanced, nested braces kept
    (r"first \boxed{1} then \boxed{\frac{3}{4}}", r"\frac{3}{4}"),
    # 2. `boxed` without a brace: up to the next $
    (r"$\boxed 12$ and more", "12"),
    # 2. an unclosed brace takes everything to the end
    (r"\boxed{12", "12"),
    # 3. "he answer is": everything after the last occurrence
    ("The answer is 5. Then the answer is 6", "6"),
    # 4. "final answer is" (no "he answer is" in it)
    ("My final answer is 9", "9"),
    # 5. 答案是
    ("所以答案是 42", "42"),
    # 6. last number, commas removed
    ("we get 1,234 apples and -3.5 pears", "-3.5"),
    ("no digits here", ""),
])
def test_extraction_rules_in_order(text, expected):
    assert official_extract(text) == expected


def test_extraction_cleanup_and_prm_marker():
    assert official_extract("The answer is: 7.") == "7"  # leading ':' and trailing '.' dropped
    assert official_extract("The answer is 3/") == "3"  # trailing '/' dropped
    assert official_extract("\\boxed{1\n   2}") == "12"  # newline + following whitespace removed
    assert official_extract("step ки the answer is 4") == "4"  # PRM step marker deleted


def test_r1_style_keeps_text_after_last_answer_tag_and_strips_characters():
    text = "<answer>1</answer> more <answer> 8 </answer>"
    assert official_extract(text, r1_style=True) == "8"
    # a character-set strip of "</answer>": "wane" is made of those characters only, so it vanishes
    assert official_extract("<answer>The answer is wane</answer>", r1_style=True) == ""
    assert official_extract("<answer>The answer is 5 swans</answer>", r1_style=True) == "5"
    # no tag: the whole text
    assert official_extract("just 3 here", r1_style=True) == "3"


def test_multiple_choice_mode_takes_last_standalone_letter():
    assert official_extract("I think (B) or maybe C.", multiple_choice=True) == "C"
    assert official_extract("nothing", multiple_choice=True) == "nothing"


def test_chinese_rule_stops_at_the_first_blank_line():
    assert official_extract("所以答案是 42\n\n然后 7") == "42"
    assert official_extract("答案是\n\n42\n\n7") == "42"  # leading blank lines are stripped first
    assert official_extract("答案是 4\n2") == "42"  # a single newline is removed by the clean-up, as officially


def test_letter_mode_counts_only_a_to_d():
    assert official_extract("(D) or (E)", label="D") == "D"  # E is not a letter here
    assert official_extract("E.", label="A") == "E"  # no A-D: the trimmed text itself
    assert official_extract("maybe a", label="B") == "A"  # the upper-cased text is searched


def test_letter_mode_only_for_a_label_that_is_exactly_a_to_d():
    assert official_extract(r"\boxed{A} is my choice, not B", label=" A") == "A"  # " A": no switch, the box
    assert official_extract(r"\boxed{A} is my choice, not B", label="A") == "B"
    assert official_extract(r"\boxed{7} then E", label="E") == "7"
    assert official_ground_truth(r"\boxed{A} is my choice, not B", " A")  # graded against " A": equal
    assert not official_ground_truth(r"\boxed{A} is my choice, not B", "A")


def test_grade_with_the_official_grader_applies_the_letter_mode():
    r = grade("(D) or (E)", "D", grader="official")
    assert r.correct and r.extracted == "D"
    assert grade("(D) or (E)", "D", grader="official", extract="r1").correct
    assert not grade("(D) or (E)", "E", grader="official").correct  # "E" is no choice label: no answer found


def test_letter_mode_reads_the_whole_text_even_r1_style():
    assert official_extract("C <answer>7</answer>", r1_style=True, label="C") == "C"
    assert official_extract("step ки B", label="B") == "B"


@pytest.mark.parametrize("words, number", [
    ("twenty five", "25"), ("two hundred fifty-six", "256"), ("hundred twenty", "2000"),
    ("two million three thousand", "2004003"), ("nineteen eighty four", "1524"), ("one two three", "5"),
    ("thousand five", "thousfive"), ("three point one four", "3.14"), ("seven apples", "7"),
])
def test_number_words_convert_as_word2number_does(words, number):
    """word2number 1.1's quirks (a hundred/thousand pair multiplies, three plain words sum oddly); a failure
    leaves the text, which the rest of the normaliser then mangles ("and" is deleted)."""
    assert official_normalize(words) == number


# --- §6.2 normalisation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    (r"\dfrac{3}{4}", r"\frac{3}{4}"),
    (r"\tfrac12", r"\frac{1}{2}"),
    (r"x \leq 3", r"x\le3"),
    (r"\left( 1, 2 \right)", "(1,2)"),
    (r"11,\!880", "11,880"),
    (r"5 \text{ cm}", "5"),
    (r"90^\circ", "90"),
    (r"\$10", "10"),
    (r"10\%", "10"),
    (r"\text{Evelyn}", "Evelyn"),
    ("one", "1"),
    ("twenty one", "21"),
    ("x=5", "5"),
    ("k=12", "12"),
    (r"\sqrt3", r"\sqrt{3}"),
    ("3/4", r"\frac{3}{4}"),
    (".5", "0.5"),
    ("142.0", "142"),
    ("025", "25"),
    ("infinity", r"\infty"),
    (r"\emptyset", "{}"),
    (r"\begin{bmatrix}1\end{bmatrix}", r"\begin{pmatrix}1\end{pmatrix}"),
])
def test_normalisation(raw, expected):
    assert official_normalize(raw) == expected


# --- §6.4 quirks W1-W6 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("boxed, normalised", [
    ("a+b", "+b"), ("x+a", "x+"), (r"\frac{a}{b}", r"\frac{}{b}"), ("m+n", "+n"), ("(c)", "()"), ("5 m", "5"),
    ("2a", "2a"), ("2s", "2s"), ("a", "a"),
])
def test_w1_unit_stripping_deletes_single_letters(boxed, normalised):
    assert official_extract(rf"\boxed{{{boxed}}}") == normalised


def test_w1_makes_a_correct_answer_wrong():
    assert not grade(r"\boxed{a+b}", "a+b", grader="official").correct
    assert grade(r"\boxed{a+b}", "a+b").correct  # the default grader does not strip letters


def test_w2_the_answer_is_takes_everything_after():
    assert official_extract("The answer is 18. So we are done.") == "18Sowedone"
    assert not grade("The answer is 18. So we are done.", "18", grader="official").correct


def test_w3_last_number_fallback_rewards_unformatted_text():
    r = grade("I computed it and got 42 in the end", "42", grader="official")
    assert r.correct and r.extracted == "42"
    assert grade("I computed it and got 42 in the end", "42").status == "no_answer"  # default needs a box


def test_w4_empty_label_rewards_answerless_responses():
    assert official_grade_answer("", "")
    r = grade("no answer at all", "", grader="official")
    assert r.correct and r.status == "no_answer" and r.extracted is None
    assert not grade("no answer at all", "").correct  # default grader: never
    assert not grade(r"\boxed{3}", "").correct


@pytest.mark.parametrize("given, gt", [("4/2", "2"), ("2/4", "1/2"), ("0.5", r"50\%"), ("3.14", r"\pi"),
                                       ("1,2", "2,1"), (r"\frac{2}{4}", r"\frac{1}{2}")])
def test_w5_rejected_equivalents(given, gt):
    assert not official_grade_answer(given, gt)


def test_w6_only_the_last_box_counts():
    assert official_extract(r"\boxed{18} so ... \boxed{3}") == "3"
    assert not grade(r"\boxed{18} so ... \boxed{3}", "18", grader="official").correct


# --- §6.4 "Accepted (checked)" -------------------------------------------------------------------------------


@pytest.mark.parametrize("response, gt", [
    (r"\boxed{\dfrac{3}{4}}", r"\frac{3}{4}"),
    (r"\boxed{11,\!880}", "11880"),
    (r"\boxed{11880}", r"11,\!880"),
    (r"\boxed{25}", "025"),
    (r"\boxed{142}", "142.0"),
    (r"\boxed{x=5}", "5"),
    (r"\boxed{5}", "x=5"),
    (r"\boxed{5 \text{ cm}}", "5"),
    (r"\boxed{5}", r"5 \text{ cm}"),
    (r"\boxed{5^\circ}", "5"),
    (r"\boxed{5}", r"5^\circ"),
    (r"\boxed{\$10}", "10"),
    (r"\boxed{10}", r"\$10"),
    (r"\boxed{10\%}", "10"),
    (r"\boxed{10}", r"10\%"),
    (r"\boxed{one}", "1"),
    (r"\boxed{2\sqrt2}", r"\sqrt8"),
    (r"\boxed{(x+1)^2}", "x^2+2x+1"),
    (r"\boxed{(1, 2]}", "(1,2]"),
    (r"\boxed{[-3, \infty)}", r"[-3,\infty)"),
])
def test_accepted_equivalents(response, gt):
    assert official_grade_answer(official_extract(response), gt)
    assert grade(response, gt, grader="official").correct


def test_interval_brackets_must_match():
    assert not official_grade_answer("(1,2)", "(1,2]")
    assert not official_grade_answer("[1,2]", "(1,2)")


# --- grader internals ----------------------------------------------------------------------------------------


def test_hendrycks_and_prm800k_normalisers():
    assert hendrycks_normalize(r"\text{ 0.5 }") == r"\frac{1}{2}"
    assert hendrycks_normalize(r"5 \text{ cm} and 6 \text{ m}") == r"5 \text{ cm} and 6 \text{ m}"  # assert path
    assert prm800k_normalize(r"7 3/4") == "7+3/4"
    assert prm800k_normalize("2 million") == "2*10^6"
    assert prm800k_normalize(r"\frac{\pi}{2}") == "pi/2"
    assert prm800k_normalize("100000000000000000001") == "100000000000000000000"  # float round-trip, as upstream
    assert prm800k_normalize(r"\ensuremath{42}") == ""  # pylatexenc 2.10 (the official pin) drops it; 2.11 keeps 42
    assert not official_grade_answer(r"\ensuremath{42}", "42")
    assert hendrycks_normalize(r" 1 + \frac") == r"1 + \frac"  # "\frac" with nothing after: the input, stripped
    assert hendrycks_normalize(r"\frac1") == r"\frac1"


def test_sympy_refusal_rule():
    assert sympy_allowed("(x^2)-(y)")
    assert not sympy_allowed("(abc)-(1)")  # 3 letters
    assert not sympy_allowed("(2^{3})-(8)")
    assert not sympy_allowed("(2^10)-(1024)")  # multi-digit exponent
    assert not sympy_allowed("(2^3^2)-(1)")  # chained
    assert sympy_allowed("(sqrt(8))-(2sqrt(2))")  # sqrt/frac letters do not count


def test_prefilter_defers_only_sympy_work():
    assert official_prefilter("3", "3") == (True, [])
    assert official_prefilter(None, "3") == (False, [])
    assert official_prefilter("x+", "x+1") == (None, [("x+1", "x+")])
    verdict, pending = official_prefilter("(2sqrt(2), 1)", r"(\sqrt{8}, 1)")
    assert verdict is None and len(pending) == 1  # only the radical element needs SymPy


def test_integer_ground_truth_never_reaches_sympy():
    assert official_prefilter(r"\sqrt{4}", "2") == (False, [])  # "exactly one looks like an integer" rule


# --- §2.4 format reward table --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, reward", [
    (r"so \boxed{3}", True),
    (r"\boxed{}", False),
    (r"\boxed{ }", False),
    (r"\boxed{\text{}}", False),
    (r"\boxed{18} and later \boxed{}", False),
    (r"\fbox{3}", False),
    ("I will write the boxed answer below", True),
    ("no box at all: 3", False),
    ("", False),
    (r"\boxed{:}", False),  # the clean-up (leading ":", trailing "." then "/", "ки", newlines) comes first
    (r"\boxed{/}", False),
    (r"\boxed{ки}", False),
    (r"\boxed{./}", False),
    ("\\boxed{\n  }", False),
    (r"\boxed{:5.}", True),
])
def test_box_only_format_table(text, reward):
    assert box_only_format(text) is reward
    assert (official_box_extract(text) != "") is reward


def test_linear_unit_stripping_equals_the_regex():
    """strip_unit_word reproduces re.sub(r"(^|\\W)unit($|\\W)", r"\\1\\2", s) exactly (wildcards included)."""
    import random
    import re

    from spurious.grading.official import UNIT_WORDS, strip_unit_word

    rng = random.Random(0)
    alphabet = list("amst .,()+-x_1é")
    for _ in range(150):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 25)))
        for unit in UNIT_WORDS:
            assert strip_unit_word(s, unit) == re.sub(r"(^|\W)" + unit + r"($|\W)", r"\1\2", s), (s, unit)


def test_lazy_brace_substitutions_equal_the_regexes():
    import random
    import re

    from spurious.grading.official import _sub_to_next_brace

    rng = random.Random(1)
    pieces = ["\\text{", "\\mbox{", "}", "{", "a", " ", "\\begin{array}{"]
    for _ in range(400):
        s = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        assert _sub_to_next_brace(s, "\\text{", keep=True) == re.sub(r"\\text\{(.*?)\}", r"\1", s)
        assert _sub_to_next_brace(s, "\\mbox{", keep=False) == re.sub(r"\\mbox{.*?}", "", s)
        assert (_sub_to_next_brace(s, "\\begin{array}{", keep=False, prefix="\\begin{pmatrix}")
                == re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", s))


def test_long_inputs_normalise_in_linear_time():
    import time

    t0 = time.monotonic()
    official_normalize("7" * 200_000)
    official_normalize("1.0" * 70_000)
    official_normalize("the sum is x " * 15_000)
    official_normalize("\\begin{array}{" * 15_000)
    official_normalize("\\text{" * 30_000)
    assert time.monotonic() - t0 < 10  # quadratic regexes took minutes here; this is a loose correctness bound


def test_integer_pairs_are_decided_without_sympy_exactly_as_sympy_would():
    from spurious.grading.official import sympy_equal

    for gt, given in [("57", "12"), ("12", "12"), ("-3", "3"), ("0", "-0"), ("(1,2)", "(1,3)"), ("(4,5)", "(4,5)"),
                      ("(0,1)", "(-0,1)")]:
        verdict, pending = official_prefilter(given, gt)
        assert pending == [] and verdict is not None
        elems = zip(gt.strip("()").split(","), given.strip("()").split(","))
        assert verdict == all(sympy_equal(a, b) for a, b in elems), (gt, given)


# --- differential parity with verdicts recorded from the official code -------------------------------------


def _parity_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "official_parity.py"
    spec = importlib.util.spec_from_file_location("official_parity", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recorded_official_verdicts_agree_on_every_case():
    """tests/data/official_cases.jsonl.gz: responses from scripts/official_cases.py, each with what the official
    verifier (run unmodified with its own pins) answered for the ground-truth reward (plain and r1 style), its
    extractions, box_only_format, format, contain_python_wo_backticks and no_repetition. 100 % agreement."""
    from pathlib import Path

    parity = _parity_script()
    rows = parity.load_cases(str(Path(__file__).parent / "data" / "official_cases.jsonl.gz"))
    assert len(rows) > 5000
    kinds = {r["kind"].split(":")[0] for r in rows}
    assert {"box", "minerva", "answer_is", "cn", "last_number", "r1", "code", "letters", "number_words", "junk",
            "hostile", "repetition", "format_edge"} <= kinds
    assert any("\ud800" in r["response"] for r in rows)  # lone surrogates are among them
    result = parity.compare(rows, parity.ours(rows, timeout=120.0))
    bad = {field: [rows[i]["id"] for i in ids[:10]] for field, (_, _, ids) in result.items() if ids}
    assert not bad
    assert all(compared == len(rows) for _, compared, _ in result.values())  # no field left out
