"""Rewards: each paper reward on the paper's edge cases, the registry, composition and the expression parser."""

import math
import random
import sys
import textwrap
import types

import pytest

from spurious.rewards import (AllOf, FunctionReward, Not, Reward, Sample, get_reward, list_rewards, register_reward,
                              reward_names, score_groups)
from spurious.rewards.expression import ExpressionError, build, parse
from spurious.rewards.no_repetition import has_repetition, has_repetition_brute_force
from spurious.rewards.random_reward import RandomReward


def S(response, answer=None, group=None, **kw):
    return Sample(prompt=kw.pop("prompt", ""), response=response, answer=answer, group=group, **kw)


def score(spec, responses, **params):
    return get_reward(spec, **params)([S(r) for r in responses])


# --------------------------------------------------------------------------------------------------------------
# Format (§2.4) and Python (§2.7)
# --------------------------------------------------------------------------------------------------------------

FORMAT_TABLE = [  # docs/paper.md §2.4, checked against the official functions
    (r"so the answer is $\boxed{3}$.", 1.0),
    (r"\boxed{}", 0.0),
    (r"\boxed{ }", 0.0),
    (r"\boxed{\text{}}", 0.0),
    (r"first \boxed{18} and then \boxed{}", 0.0),
    (r"\fbox{3}", 0.0),
    ("the boxed answer", 1.0),
    ("no box at all: 42", 0.0),
    ("", 0.0),
    (r"\boxed{:}", 0.0),  # the official clean-up runs before the emptiness test
    (r"\boxed{/}", 0.0),
    (r"\boxed{ки}", 0.0),
]


@pytest.mark.parametrize("response,expected", FORMAT_TABLE)
def test_format_reward_matches_paper_table(response, expected):
    assert score("format", [response]) == [expected]
    assert score("box_only_format", [response]) == [expected]


@pytest.mark.parametrize("response,expected", [
    ("I will use Python to check.", 1.0), ("PYTHONIC", 1.0), ("```python\nprint(1)\n```", 1.0),
    ("Pyth on", 0.0), ("pyhton", 0.0), ("", 0.0),
])
def test_python_reward(response, expected):
    assert score("python", [response]) == [expected]
    assert score("contain_python_wo_backticks", [response]) == [expected]


# --------------------------------------------------------------------------------------------------------------
# No repetition (§2.9)
# --------------------------------------------------------------------------------------------------------------

def _unit(n, seed=0, alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"):
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize("unit_len,copies,expected", [
    (10, 10, 0.0), (10, 9, 1.0), (10, 11, 0.0),
    (9, 10, 1.0), (9, 19, 1.0),  # 19 copies of 9 chars: period 18 has only 9 copies
    (256, 10, 0.0), (256, 9, 1.0), (257, 10, 1.0),
    (37, 10, 0.0),
])
def test_no_repetition_boundaries(unit_len, copies, expected):
    unit = _unit(unit_len, seed=unit_len)
    text = "Intro text. " + unit * copies + " The end."
    assert score("no_repetition", [text]) == [expected]
    assert (not has_repetition_brute_force(text)) == bool(expected)


def test_no_repetition_ignores_non_adjacent_repeats():
    unit = _unit(12)
    spaced = "".join(f"{unit} step {i}: " for i in range(30))  # 30 copies, never back to back
    assert score("no_repetition", [spaced, unit * 10]) == [1.0, 0.0]


def test_no_repetition_equals_brute_force_on_random_strings():
    rng = random.Random(1)
    mismatches = []
    for _ in range(250):
        alphabet = rng.choice(["ab", "abc", "abcdefgh"])
        rand = lambda k: "".join(rng.choice(alphabet) for _ in range(k))  # noqa: E731
        s = rand(rng.randint(0, 15)) + rand(rng.randint(6, 13)) * rng.randint(8, 11) + rand(rng.randint(0, 15))
        if rng.random() < 0.5 and s:
            i = rng.randrange(len(s))
            s = s[:i] + rng.choice(alphabet) + s[i + 1:]
        if has_repetition(s) != has_repetition_brute_force(s):
            mismatches.append(s)
    assert mismatches == []


def test_no_repetition_long_inputs():
    text = _unit(200_000, seed=3, alphabet="abcdefghijklmnopqrstuvwxyz .,")
    assert not has_repetition(text)
    assert has_repetition(text[:100_000] + "x = 12345678; " * 10 + text[100_000:])
    near_miss = (_unit(256, seed=4) * 9 + "Z") * 100  # 9 copies of a 256-char unit, repeatedly broken
    assert not has_repetition(near_miss)
    assert has_repetition("ab" * 200)  # period 2 is also period 10


# --------------------------------------------------------------------------------------------------------------
# Random (§2.5)
# --------------------------------------------------------------------------------------------------------------

def _draws(n_prompts=64, group=16, steps=(0, 1)):
    return [S("x", step=t, prompt_index=p, sample_index=k) for t in steps for p in range(n_prompts)
            for k in range(group)]


def test_random_is_reproducible_whatever_the_order_or_partition():
    reward = get_reward("random", gamma=0.5, seed=7)
    samples = _draws()
    reference = {(s.step, s.prompt_index, s.sample_index): v for s, v in zip(samples, reward(samples))}
    shuffled = samples[:]
    random.Random(0).shuffle(shuffled)
    parts = [shuffled[i::3] for i in range(3)]  # three "processes"
    for part in parts:
        for s, v in zip(part, get_reward("random", seed=7)(part)):
            assert v == reference[(s.step, s.prompt_index, s.sample_index)]
    assert set(reference.values()) == {0.0, 1.0}


def test_random_depends_on_every_key_and_seed():
    base = S("x", step=3, prompt_index=5, sample_index=2)
    variants = [base, S("x", step=4, prompt_index=5, sample_index=2), S("x", step=3, prompt_index=6, sample_index=2),
                S("x", step=3, prompt_index=5, sample_index=3)]
    from spurious.rewards.random_reward import uniform
    us = [uniform(0, s.step, s.prompt_index, s.sample_index) for s in variants] + [uniform(1, 3, 5, 2)]
    assert len(set(us)) == len(us)
    samples = _draws(steps=(0,))
    a, b = RandomReward(seed=0)(samples), RandomReward(seed=1)(samples)
    assert a != b and RandomReward(seed=0).with_seed(1)(samples) == b
    assert RandomReward()([S("completely different text", step=0, prompt_index=0, sample_index=0)]) == \
        RandomReward()([S("x", step=0, prompt_index=0, sample_index=0)])


@pytest.mark.parametrize("gamma", [0.001, 0.3, 0.5, 0.7])
def test_random_gamma_sweep_mean(gamma):
    values = get_reward("random", gamma=gamma)(_draws(n_prompts=625, group=16, steps=(0, 1)))  # 20,000 draws
    n = len(values)
    assert n == 20_000
    assert abs(sum(values) / n - gamma) < 5 * math.sqrt(gamma * (1 - gamma) / n) + 1e-9


def test_random_gamma_edges_and_nesting():
    samples = _draws(n_prompts=50, steps=(0,))
    assert get_reward("random", gamma=0)(samples) == [0.0] * len(samples)
    assert get_reward("random0", )(samples) == [0.0] * len(samples)
    assert get_reward("random1.0")(samples) == [1.0] * len(samples)
    low, high = get_reward("random0.3")(samples), get_reward("random0.7")(samples)
    assert all(lo <= hi for lo, hi in zip(low, high))  # same key: smaller gamma rewards a subset
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\]"):
        get_reward("random", gamma=1.5)
    with pytest.raises(ValueError, match="already fixes gamma"):
        get_reward("random0.5", gamma=0.3)


def test_random_groups_are_mixed_as_derived():
    # P(mixed group) = 1 - γ^16 - (1-γ)^16 = 0.9967 at γ = 0.3 (docs/paper.md §2.5)
    values = get_reward("random0.3")(_draws(n_prompts=1000, steps=(0,)))
    groups = [values[i:i + 16] for i in range(0, len(values), 16)]
    mixed = sum(0 < sum(g) < 16 for g in groups) / len(groups)
    assert mixed > 0.98


# --------------------------------------------------------------------------------------------------------------
# Ground truth, incorrect and majority vote, against a stand-in grader (the real grader: test_rewards_grading.py)
# --------------------------------------------------------------------------------------------------------------

class FakeGrading(types.SimpleNamespace):
    """Answers are the text after 'ans:'; equivalence is equality after lower-casing and stripping."""

    def __init__(self):
        super().__init__(calls=[])

    @staticmethod
    def extract_answer(text, mode="boxed"):
        return text.split("ans:")[-1].strip() if "ans:" in text else None

    @staticmethod
    def canonical_answer(ans):
        return ans.strip().lower()

    def grade_many(self, responses, golds, *, grader="default", extract=None, timeout=5.0, workers=None):
        self.calls.append(dict(grader=grader, extract=extract, timeout=timeout, workers=workers))
        out = []
        for r, g in zip(responses, golds):
            e = self.extract_answer(r)
            out.append(types.SimpleNamespace(extracted=e, correct=e is not None and e.lower() == g.strip().lower(),
                                             status="ok"))
        return out


@pytest.fixture
def fake_grading(monkeypatch):
    fake = FakeGrading()
    for mod in ("ground_truth", "majority_vote"):
        monkeypatch.setattr(f"spurious.rewards.{mod}.grading", lambda: fake)
    return fake


def test_ground_truth_uses_grade_many(fake_grading):
    samples = [S("ans: 5", "5"), S("ans: 6", "5"), S("no answer", "5"), S("ans: X", "x")]
    assert get_reward("gt")(samples) == [1.0, 0.0, 0.0, 1.0]
    get_reward("math", grader="official", extract="r1", timeout=2)(samples)
    assert fake_grading.calls[-1] == dict(grader="official", extract="r1", timeout=2.0, workers=None)
    assert get_reward("math_r1_style").params["extract"] == "r1"


def test_label_rewards_require_labels(fake_grading):
    for name in ("gt", "incorrect", "format & gt"):
        with pytest.raises(ValueError, match="needs a label: sample 1 has answer=None"):
            get_reward(name)([S("ans: 1", "1"), S("ans: 1")])
    with pytest.raises(ValueError, match="unknown grader"):
        get_reward("gt", grader="nope")
    with pytest.raises(ValueError, match="unknown extract mode"):
        get_reward("gt", extract="last_number")


def test_incorrect_label_reward_scores_against_the_wrong_label(fake_grading):
    # the data's 'answer' is the model's wrong majority answer (spurious label --incorrect-only)
    samples = [S("ans: 41", "41"), S("ans: 42", "41")]
    assert get_reward("incorrect")(samples) == [1.0, 0.0]
    assert get_reward("incorrect").needs_label and not get_reward("incorrect").group_level


def test_majority_vote_online(fake_grading):
    samples = [
        S("ans: 7", group="a"), S("ans: 8", group="a"), S("ans: 7 ", group="a"), S("nothing", group="a"),
        S("ans: x", group="b"), S("ans: Y", group="b"), S("ans: y", group="b"), S("ans: X", group="b"),  # tie: x first
        S("nothing", group="c"), S("ans: ", group="c"),  # no answer at all -> zeros
        S("ans: 1", group="d"), S("", group="d"), S("", group="d"),  # empties dropped before voting
    ]
    expected = [1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]
    mv = get_reward("mv")
    assert mv(samples) == [float(x) for x in expected]
    assert mv.last_stats == {"groups_with_label": 0.75}
    # Interleave the groups (ties go to the answer seen first, so each group keeps its own order).
    rng = random.Random(2)
    queues = {g: [i for i, s in enumerate(samples) if s.group == g] for g in "abcd"}
    order = []
    while any(queues.values()):
        order.append(queues[rng.choice([g for g, q in queues.items() if q])].pop(0))
    assert order != sorted(order)
    shuffled = mv([samples[i] for i in order])
    assert [shuffled[order.index(i)] for i in range(len(samples))] == [float(x) for x in expected]
    assert score_groups(mv, samples) == mv(samples)
    with pytest.raises(ValueError, match="group-level: sample 0 has group=None"):
        mv([S("ans: 1")])


def test_majority_vote_label_accuracy_uses_gold_answers_only_for_the_statistic(fake_grading):
    samples = [S("ans: 7", "7", group=0), S("ans: 7", "7", group=0), S("ans: 8", "7", group=0),
               S("ans: 1", "2", group=1), S("ans: 1", "2", group=1), S("none", "3", group=2)]
    mv = get_reward("mv")
    assert mv(samples) == [1.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    assert mv.last_stats == {"groups_with_label": pytest.approx(2 / 3), "label_accuracy": 0.5}


def test_majority_vote_offline_is_ground_truth_against_mv_labels(fake_grading):
    mv = get_reward("majority_vote", online=False)
    assert mv.needs_label and not mv.group_level
    assert mv([S("ans: 3", "3"), S("ans: 4", "3")]) == [1.0, 0.0]


# --------------------------------------------------------------------------------------------------------------
# Composition and expressions (§2.8)
# --------------------------------------------------------------------------------------------------------------

def _flag(key):
    return FunctionReward(lambda samples: [s.meta[key] for s in samples], name=key)


LEAVES = {"a": _flag("a"), "b": _flag("b"), "c": _flag("c")}


def _truth(expr):
    reward = build(parse(expr), lambda name, params: LEAVES[name], expr)
    rows = [dict(a=a, b=b, c=c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    return reward([Sample("", "", meta=r) for r in rows]), rows


@pytest.mark.parametrize("expr,fn", [
    ("a & b", lambda a, b, c: a and b),
    ("a | b", lambda a, b, c: a or b),
    ("!a", lambda a, b, c: 1 - a),
    ("~a", lambda a, b, c: 1 - a),
    ("a & !b", lambda a, b, c: a and not b),
    ("a | b & c", lambda a, b, c: a or (b and c)),
    ("(a | b) & c", lambda a, b, c: (a or b) and c),
    ("!(a & b)", lambda a, b, c: not (a and b)),
    ("!!a", lambda a, b, c: a),
    ("a & b & c", lambda a, b, c: a and b and c),
    ("a * b", lambda a, b, c: a * b),
    ("0.5*a + 0.5*b", lambda a, b, c: 0.5 * a + 0.5 * b),
    ("a + b - c", lambda a, b, c: a + b - c),
    ("1 - a", lambda a, b, c: 1 - a),
    ("-a + 2*b/4", lambda a, b, c: -a + b / 2),
    ("2*(a + b) & c", lambda a, b, c: bool(2 * (a + b)) and c),
])
def test_composition_truth_tables(expr, fn):
    values, rows = _truth(expr)
    assert values == [float(fn(r["a"], r["b"], r["c"])) for r in rows]


def test_official_compound_keys():
    samples = [S(r"\boxed{3}"), S(r"Python: \boxed{3}"), S("no box"), S("python, no box")]
    expected = [1.0, 0.0, 0.0, 0.0]
    for spec in ("format & !python", "box_only_format_AND_inverse_contain_python_wo_backticks",
                 "format&~python", "format * (1 - python)"):
        assert get_reward(spec)(samples) == expected, spec
    assert get_reward("inverse_contain_python_wo_backticks")(samples) == [1.0, 0.0, 1.0, 0.0]
    assert get_reward("format | python")(samples) == [1.0, 1.0, 0.0, 1.0]


def test_composite_names_and_flags(fake_grading):
    assert get_reward("format & !python").name == "format&!python"
    assert get_reward("0.5*gt + 0.5*format").name == "0.5*ground_truth+0.5*format"
    assert get_reward("1 - python").name == "1-python"
    assert get_reward("!(format | python)").name == "!(format|python)"
    r = get_reward("format & mv")
    assert r.group_level and not r.needs_label
    r = get_reward("0.5*gt + 0.5*format")
    assert r.needs_label and not r.group_level
    samples = [S(r"\boxed{2} ans: 2", "2"), S("ans: 2", "2"), S(r"\boxed{1}", "2")]
    assert r(samples) == [1.0, 0.5, 0.5]


def test_parameters_reach_the_parts_that_take_them(fake_grading):
    r = get_reward("random | gt", gamma=0.25, grader="official")
    assert r.name == "random|ground_truth" and r.parts[0].gamma == 0.25 and r.parts[1].grader == "official"
    r = get_reward("random(gamma=0.1, seed=3) & random", gamma=0.9)
    assert (r.parts[0].gamma, r.parts[0].seed, r.parts[1].gamma) == (0.1, 3, 0.9)
    r = get_reward("random(seed=3) & random").with_seed(11)
    assert [p.seed for p in r.parts] == [11, 11]
    with pytest.raises(ValueError, match=r"\['gamma'\] are not accepted by any part"):
        get_reward("format & python", gamma=0.3)
    with pytest.raises(ValueError, match="takes no parameter"):
        get_reward("format", gamma=0.3)
    with pytest.raises(ValueError, match="takes no parameter"):
        get_reward("format(gamma=0.3) & python")


@pytest.mark.parametrize("expr,message", [
    ("format & & python", r"expected a reward name, number or '\(', got '&' at column 10"),
    ("format &", "got end of expression"),
    ("(format | python", r"expected '\)', got end of expression"),
    ("format)", r"unexpected '\)'"),
    ("format $ python", r"unexpected character '\$'"),
    ("  ", "a reward spec must be a non-empty string"),
    ("2 * 3", "is a constant"),
    ("format / python", "only divide by a number"),
    ("format / 0", "division by zero"),
    ("format & 1", "combines rewards, not numbers"),
    ("random(gamma=)", "expected a parameter value"),
    ("random(gamma 0.3)", "expected '='"),
    ("nonsense", "unknown reward 'nonsense'; choose from"),
    ("format & nonsense", "unknown reward 'nonsense'"),
    ("box_only_format_r1_style", "not a box check"),
    ("python_r1_style", "only to rewards that extract an answer"),
])
def test_expression_errors(expr, message):
    with pytest.raises(ValueError, match=message):
        get_reward(expr)


def test_expression_error_points_at_the_column():
    with pytest.raises(ExpressionError) as e:
        parse("format | | python")
    assert str(e.value).splitlines()[-1] == "  " + " " * 9 + "^"


# --------------------------------------------------------------------------------------------------------------
# Registry, user rewards and the base class
# --------------------------------------------------------------------------------------------------------------

def test_registry_lists_every_paper_reward():
    listing = list_rewards()
    for name in ("ground_truth", "format", "random", "incorrect", "majority_vote", "python", "no_repetition"):
        assert name in listing and listing[name]
    assert "aliases: gt, math" in listing["ground_truth"]
    for alias in ("gt", "mv", "math", "box_only_format", "contain_python_wo_backticks"):
        assert alias in reward_names()
    assert get_reward("gt").name == "ground_truth"


def test_register_reward_rejects_name_clashes():
    with pytest.raises(ValueError, match="already registered"):
        register_reward("gt")(lambda samples: [0.0] * len(samples))


USER_MODULE = textwrap.dedent('''
    from spurious.rewards import Reward

    def length_batch(samples, scale=1.0):
        return [scale * len(s.response) for s in samples]

    def exact(prompt, response, answer, bonus=0.0):
        return (response.strip() == answer) + bonus
    exact.needs_label = True

    def sees_indices(response, step, sample_index, **kw):
        return step * 10 + sample_index

    class Shouty(Reward):
        """Shouty: 1 iff the response is upper-case."""
        name = "shouty"
        def __init__(self, threshold=1):
            self.threshold = threshold
        def score(self, samples):
            return [float(sum(c.isupper() for c in s.response) >= self.threshold) for s in samples]

    SHOUTY = Shouty(threshold=2)
    NOT_A_REWARD = 3
    def returns_text(samples):
        return ["high"] * len(samples)
''')


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_user_rewards.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_user_rewards"
    sys.modules.pop("my_user_rewards", None)


def test_import_path_rewards(user_module):
    samples = [S("abc", "abc", step=2, sample_index=1), S("HELLO", "x", step=0, sample_index=3)]
    assert get_reward(f"{user_module}:length_batch")(samples) == [3.0, 5.0]
    assert get_reward(f"{user_module}:length_batch", scale=2)(samples) == [6.0, 10.0]
    exact = get_reward(f"{user_module}:exact", bonus=0.5)
    assert exact.needs_label and exact(samples) == [1.5, 0.5]
    assert get_reward(f"{user_module}:sees_indices")(samples) == [21.0, 3.0]
    assert get_reward(f"{user_module}:Shouty")(samples) == [0.0, 1.0]
    assert get_reward(f"{user_module}:Shouty", threshold=9)(samples) == [0.0, 0.0]
    assert get_reward(f"{user_module}:SHOUTY")(samples) == [0.0, 1.0]
    combined = get_reward(f"{user_module}:Shouty & !python")
    assert combined(samples) == [0.0, 1.0] and combined.name == "shouty&!python"


def test_import_path_errors(user_module):
    with pytest.raises(ValueError, match="cannot import module 'no_such_mod_xyz'"):
        get_reward("no_such_mod_xyz:f")
    with pytest.raises(ValueError, match="has no attribute 'missing'"):
        get_reward(f"{user_module}:missing")
    with pytest.raises(ValueError, match="not a reward"):
        get_reward(f"{user_module}:NOT_A_REWARD")
    with pytest.raises(ValueError, match="returned 'high', which is not a number"):
        get_reward(f"{user_module}:returns_text")([S("x")])
    with pytest.raises(ValueError, match="takes no parameter"):
        get_reward(f"{user_module}:length_batch", gamma=1)
    with pytest.raises(ValueError, match="takes no parameters"):
        get_reward(f"{user_module}:SHOUTY", threshold=1)


def test_reward_output_is_checked():
    bad = FunctionReward(lambda samples: [1.0], name="short")
    with pytest.raises(ValueError, match="returned 1 values for 2 samples"):
        bad([S("a"), S("b")])
    values = FunctionReward(lambda samples: [True, 0], name="bools")([S("a"), S("b")])
    assert values == [1.0, 0.0] and all(type(v) is float for v in values)
    with pytest.raises(ValueError, match="non-string response"):
        get_reward("python")([Sample("", None)])


def test_every_builtin_reward_is_binary_on_mixed_inputs(fake_grading):
    texts = [r"\boxed{3} ans: 3", "python ans: 4", "", "ha" * 100, r"The answer is \boxed{}"]
    samples = [S(t, "3", group=i % 2, prompt_index=i % 2, sample_index=i) for i, t in enumerate(texts)]
    for name in list_rewards():
        kw = {"online": False} if name == "majority_vote" else {}
        reward = get_reward(name, **kw)
        assert isinstance(reward, Reward) and reward.describe()
        if name == "noise":  # the noise-only control is real-valued by design (rewards/controls.py)
            assert not set(reward(samples)) <= {0.0, 1.0}
            continue
        assert set(reward(samples)) <= {0.0, 1.0}, name
    assert isinstance(get_reward("!python"), Not)
    assert isinstance(get_reward("python & format"), AllOf)


def test_antithetic_random_mirrors_every_draw():
    samples = _draws(n_prompts=50, group=16, steps=(0, 1))
    plain, anti = get_reward("random", seed=3)(samples), get_reward("random", seed=3, antithetic=True)(samples)
    assert [1.0 - v for v in plain] == anti  # gamma 0.5: the exact opposite
    low = get_reward("random", gamma=0.2, seed=3, antithetic=True)(samples)
    assert abs(sum(low) / len(low) - 0.2) < 0.05 and get_reward("random", antithetic=True).params["antithetic"]
