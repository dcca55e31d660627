"""Prompt templates render exactly the paper's prompts (spurious.data.templates, docs/paper.md §4)."""

import re

import pytest

from spurious.data.templates import CODE_FORCING_PREFIX, QWEN_MATH_SYSTEM, R1_TEMPLATE, TEMPLATES, get_template


@pytest.fixture(scope="module")
def chat_tokenizer():
    from spurious.models import build_tiny_tokenizer

    return build_tiny_tokenizer(vocab_size=300)


def test_r1_renders_raw_text_without_tokenizer():
    t = get_template("r1")
    s = t.render("What is 1+1?")
    assert s == R1_TEMPLATE.format(problem="What is 1+1?")
    assert s.endswith("<|user|>\nWhat is 1+1?\n<|assistant|>\n<think>")
    assert "\\n" not in s  # real newlines (the evaluation form), not the launcher's literal backslash-n
    assert t.stop == ("</answer>",) and t.r1_style
    with pytest.raises(ValueError):
        t.messages("x")


def test_none_template_is_the_raw_problem():
    assert get_template("none").render("Find x.") == "Find x."


def test_qwen_math_chat_render_is_the_papers_prompt(chat_tokenizer):
    s = get_template("qwen-math").render("What is 2+3?", chat_tokenizer)
    assert s == ("<|im_start|>system\n" + QWEN_MATH_SYSTEM + "<|im_end|>\n<|im_start|>user\nWhat is 2+3?<|im_end|>\n"
                 "<|im_start|>assistant\n")


def test_code_forcing_prefills_the_assistant_turn(chat_tokenizer):
    s = get_template("code-forcing").render("What is 2+3?", chat_tokenizer)
    assert s.endswith("<|im_start|>assistant\n" + CODE_FORCING_PREFIX)
    assert s.startswith("<|im_start|>system\n" + QWEN_MATH_SYSTEM)


def test_chat_template_needs_a_tokenizer_with_one():
    with pytest.raises(ValueError, match="chat template"):
        get_template("qwen-math").render("x")


def test_default_has_no_system_and_variants_format(chat_tokenizer):
    assert get_template("default").messages("p") == [{"role": "user", "content": "p"}]
    assert get_template("math-problem").messages("p")[-1]["content"] == "Math Problem: p"
    assert get_template("simplerl-zoo").messages("p")[-1]["content"] == "p\n" + QWEN_MATH_SYSTEM
    sober = get_template("sober").messages("p")
    assert len(sober) == 1 and "$\\boxed{ANSWER}$" in sober[0]["content"] and sober[0]["content"].endswith("\n\np")
    assert get_template("spurious-prompt").messages("p")[0]["content"].startswith("Lorem ipsum")
    for name in TEMPLATES:
        t = TEMPLATES[name]
        assert "p" in (t.render("p", chat_tokenizer))


def test_custom_and_unknown_templates():
    t = get_template("Q: {problem}\nA:")
    assert t.messages("2+2") == [{"role": "user", "content": "Q: 2+2\nA:"}]
    with pytest.raises(ValueError, match="unknown template"):
        get_template("no-such-template")


# ---------------------------------------------------------------- few-shot

def test_few_shot_renders_its_worked_examples_then_the_problem():
    from spurious.data.templates import FEW_SHOT_EXAMPLES, FEW_SHOT_STOP

    t = get_template("few-shot")
    problem = "Let $f(x) = x^{2}$. Find $f(3)$."                     # braces in a problem are kept as they are
    s = t.render(problem)
    assert not t.is_chat and t.stop == (FEW_SHOT_STOP,) and not t.r1_style
    assert s.endswith(f"\n\nProblem: {problem}\nSolution:")
    assert s.count("Problem: ") == len(FEW_SHOT_EXAMPLES) + 1 == 5
    for p, sol in FEW_SHOT_EXAMPLES:
        assert f"Problem: {p}\nSolution: {sol}\n\n" in s
    assert "{{" not in s and s.count("\\boxed{") == len(FEW_SHOT_EXAMPLES)
    assert "few-shot" in TEMPLATES                                     # so eval --baselines runs it


def test_few_shot_examples_are_right_and_their_boxes_grade():
    from fractions import Fraction

    from spurious.data.templates import FEW_SHOT_EXAMPLES
    from spurious.grading import grade_many

    y = Fraction(9 + 15, 7 - 3)                                         # 7y - 9 = 3y + 15
    by_hand = ["48", "6", "\\frac{7}{12}", "\\frac{3}{28}"]
    assert 90 - (14 + 2 * 14) == 48 and 7 * y - 9 == 3 * y + 15 and y == 6
    assert Fraction(5, 6) - Fraction(1, 4) == Fraction(7, 12) and Fraction(3, 8) * Fraction(2, 7) == Fraction(3, 28)
    assert all(g.correct for g in grade_many([sol for _, sol in FEW_SHOT_EXAMPLES], by_hand))


def _shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_few_shot_examples_share_no_8_word_run_with_any_evaluation_problem(shared_data):
    """Against every evaluation set in ../shared/data and the generated clean sets (seeds 0-2): no example's text
    (problem or solution) shares a run of 8 words with an evaluation problem, and none is contained in one."""
    from spurious.data import load_problems
    from spurious.data.clean import clean_problems
    from spurious.data.templates import FEW_SHOT_EXAMPLES

    evaluation = [p.problem for b in ("math500", "amc23", "aime24", "aime25") for p in load_problems(b)]
    evaluation += [p.problem for seed in range(3) for p in clean_problems(seed)]
    assert len(evaluation) == 643 + 1500
    eval_runs = set().union(*(_shingles(t) for t in evaluation))
    squash = lambda t: " ".join(re.findall(r"[a-z0-9]+", t.lower()))
    eval_texts = [squash(t) for t in evaluation]
    for p, sol in FEW_SHOT_EXAMPLES:
        assert not (_shingles(p) | _shingles(sol)) & eval_runs, p
        assert not any(squash(p) in t for t in eval_texts), p
    assert _shingles(evaluation[0]) & eval_runs                         # the check does see a shared run
