"""Evaluation metrics against hand-computed values (spurious.eval.metrics)."""

import math
from itertools import combinations

import pytest

from spurious.eval.metrics import avg_at_k, maj_at_k, pass_at_k_estimator, pass_at_k_raw, pass_at_k_unbiased
from spurious.smoothing import smooth_curve
from spurious.voting import majority_vote

SCORES = [[1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]]


def test_avg_at_k_is_mean_of_all_scores():
    assert avg_at_k(SCORES) == pytest.approx(6 / 12)
    assert avg_at_k([[1], [0], [1], [1]]) == pytest.approx(0.75)  # greedy pass@1


def test_avg_at_k_rejects_ragged_and_empty():
    with pytest.raises(ValueError):
        avg_at_k([[1, 0], [1]])
    with pytest.raises(ValueError):
        avg_at_k([])
    with pytest.raises(ValueError):
        avg_at_k([[]])


def test_pass_at_k_raw_is_any_of_k():
    assert pass_at_k_raw(SCORES) == pytest.approx(2 / 3)
    assert pass_at_k_raw([[0, 0], [0, 0]]) == 0.0


def test_pass_at_k_unbiased_hand_values():
    # k=1: mean of c/n = (2/4 + 0 + 1)/3
    assert pass_at_k_unbiased(SCORES, 1) == pytest.approx(0.5)
    # k=2: problem 1: 1 - C(2,2)/C(4,2) = 5/6; problem 2: 0; problem 3: 1
    assert pass_at_k_unbiased(SCORES, 2) == pytest.approx((5 / 6 + 0 + 1) / 3)
    # k=n: equals the raw any-of-k value
    assert pass_at_k_unbiased(SCORES, 4) == pytest.approx(pass_at_k_raw(SCORES))


def test_estimator_edge_cases():
    assert pass_at_k_estimator(5, 3, 3) == 1.0  # n - c = 2 < k: every 3-subset holds a correct one
    assert pass_at_k_estimator(5, 5, 1) == 1.0
    assert pass_at_k_estimator(5, 0, 3) == 0.0
    assert pass_at_k_estimator(10, 1, 1) == pytest.approx(0.1)
    for bad in [(4, 5, 1), (4, -1, 1), (4, 2, 0), (4, 2, 5)]:
        with pytest.raises(ValueError):
            pass_at_k_estimator(*bad)


@pytest.mark.parametrize("n,c,k", [(8, 3, 2), (16, 5, 4), (12, 4, 3), (6, 1, 5), (7, 0, 7)])
def test_estimator_matches_enumeration(n, c, k):
    items = [1] * c + [0] * (n - c)
    subsets = list(combinations(range(n), k))
    exact = sum(1 for s in subsets if any(items[i] for i in s)) / len(subsets)
    assert pass_at_k_estimator(n, c, k) == pytest.approx(exact)
    assert pass_at_k_estimator(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))


def test_majority_vote_ties_empty_and_buckets():
    assert majority_vote(["a", "b", "b", "a"]) == (0, 2)  # tie -> first seen
    assert majority_vote(["b", "a", "a"]) == (1, 2)
    assert majority_vote(["", " ", None]) == (None, 0)  # empties do not vote
    assert majority_vote(["", "x", "", ""]) == (1, 1)
    key = lambda s: s.replace(" ", "")  # noqa: E731
    assert majority_vote(["1 /2", "3", "1/2"], key) == (0, 2)


def test_maj_at_k_hand_value():
    answers = [["2", "3", "3", ""], ["", "", "", ""], ["a", "b", "b", "a"]]
    correct = [[1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]]
    # problem 1: "3" wins (wrong); problem 2: no answer (wrong); problem 3: tie -> "a" (right)
    assert maj_at_k(answers, correct) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        maj_at_k(answers, correct[:2])


def test_smooth_curve_trailing_window_step0_raw():
    assert smooth_curve([0, 1, 2, 3, 4], window=3) == pytest.approx([0, 0.5, 1, 2, 3])
    vals = [0.4] + [0.8] * 11
    sm = smooth_curve(vals)
    assert sm[0] == 0.4  # step 0 is not smoothed
    assert sm[9] == pytest.approx((0.4 + 9 * 0.8) / 10)
    assert sm[10] == pytest.approx(0.8)  # step 0 left the window
    assert smooth_curve([1.0, float("nan"), 3.0], window=2) == pytest.approx([1.0, 1.0, 3.0])
    with pytest.raises(ValueError):
        smooth_curve([1.0], window=0)
