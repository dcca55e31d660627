"""Prompt templates render exactly the paper's prompts (spurious.data.templates, docs/paper.md §4)."""

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
