"""Label-based rewards with the real graders (spurious.grading): default vs official semantics (docs/paper.md §2.2, §6)."""

import pytest

from spurious.rewards import Sample, get_reward


def S(response, answer=None, group=None):
    return Sample(prompt="", response=response, answer=answer, group=group)


def test_ground_truth_default_and_official_graders():
    samples = [S(r"so \boxed{\frac{1}{2}}", "0.5"), S(r"\boxed{25}", "025"), S(r"\boxed{142}", "142.0"),
               S("no box, just 5", "5"), S(r"\boxed{6}", "5"), S("nothing here", "")]
    assert get_reward("gt")(samples) == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    # official: the last-number fallback (W3) and an empty label rewarding an answer-less response (W4)
    # (the first pair is left out: the official grader sends it to SymPy, which costs a worker pool start)
    assert get_reward("math", grader="official")(samples[1:]) == [1.0, 1.0, 1.0, 0.0, 1.0]
    gt = get_reward("gt")
    gt(samples)
    assert gt.last_stats["no_answer"] == pytest.approx(2 / 6)


def test_r1_style_extraction():
    samples = [S("<think>...</think> <answer>42</answer>", "42"), S(r"\boxed{42}", "42")]
    assert get_reward("gt", extract="r1")(samples) == [1.0, 0.0]
    # official r1 style keeps the whole text when there is no <answer> tag, so the box still counts
    assert get_reward("math_r1_style", grader="official")(samples) == [1.0, 1.0]


def test_official_grader_always_applies_the_multiple_choice_switch():
    samples = [S("(D) or (E)", "D"), S(r"\boxed{A} is my choice, not B", " A"), S(r"\boxed{A} is my choice, not B", "A")]
    assert get_reward("gt", grader="official")(samples) == [1.0, 1.0, 0.0]  # " A" is not a choice label
    assert get_reward("gt", grader="official").params["multiple_choice"] is True
    assert get_reward("gt")(samples) == [0.0, 1.0, 1.0]  # default grader: the boxes
    assert get_reward("gt", multiple_choice=True)(samples) == [1.0, 1.0, 0.0]  # ... unless asked


def test_multiple_choice_switch_is_opt_in():
    samples = [S("Comparing the options, the answer is (B).", "B"), S(r"\boxed{C} ... on reflection D", "C"),
               S(r"\boxed{7}", "7")]
    assert get_reward("gt", grader="official", multiple_choice=True)(samples) == [1.0, 0.0, 1.0]
    assert get_reward("gt")(samples) == [0.0, 1.0, 1.0]


def test_incorrect_label_reward_with_real_grader():
    # label 13 is the model's wrong majority answer; the truth (12) is not rewarded
    samples = [S(r"\boxed{13}", "13"), S(r"\boxed{12}", "13"), S(r"\boxed{13.0}", "13")]
    assert get_reward("incorrect")(samples) == [1.0, 0.0, 1.0]


def test_majority_vote_buckets_equivalent_answers():
    group = [S(r"\boxed{0.5}", group=1), S(r"\boxed{3}", group=1), S(r"\boxed{\frac12}", group=1),
             S(r"\boxed{3}", group=1), S(r"\boxed{1/2}", group=1), S("I give up", group=1)]
    assert get_reward("mv")(group) == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    official = [S(r"\boxed{0.5}", group=2), S("the answer is 3", group=2), S("3", group=2), S(r"\boxed{1/2}", group=2)]
    assert get_reward("mv", grader="official")(official) == [1.0, 0.0, 0.0, 1.0]  # 2-2 tie: first seen wins
    assert get_reward("mv")([S("no", group=0), S(r"\boxed{}", group=0)]) == [0.0, 0.0]


def test_compound_ground_truth_without_python():
    samples = [S(r"\boxed{4}", "4"), S(r"Let me use python: \boxed{4}", "4"), S(r"\boxed{5}", "4")]
    assert get_reward("gt & !python")(samples) == [1.0, 0.0, 0.0]
    assert get_reward("math_AND_inverse_contain_python_wo_backticks", grader="official")(samples) == [1.0, 0.0, 0.0]
