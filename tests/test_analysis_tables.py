"""Pure analysis functions: t intervals, smoothing, Table 1, Table 2 (incl. the paper's Fig. 7 numbers)."""

from __future__ import annotations

import math

import pytest

from spurious.smoothing import final_value, gain, smooth_curve
from spurious.analysis.stats import mean_ci, t_cdf, t_quantile
from spurious.analysis.strategy import strategy_row, strategy_table
from spurious.analysis.transitions import (BUCKETS, contribution_rows, contribution_scores, mean_contributions,
                                           problem_outcomes, transition_table)
from spurious.rollout import Rollout


def S(pid, correct, code, bench="math500", idx=0, fenced=None):
    return Rollout(prompt="", response="", benchmark=bench, problem_id=str(pid), sample_index=idx, correct=correct,
                   code=code, code_fenced=code if fenced is None else fenced)


# ---------------- stats ----------------

@pytest.mark.parametrize("df,expected", [(1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (29, 2.0452)])
def test_t_quantile_matches_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)
    assert t_cdf(t_quantile(0.9, df), df) == pytest.approx(0.9, abs=1e-10)
    assert t_quantile(0.025, df) == pytest.approx(-expected, abs=1e-4)


def test_mean_ci_by_hand():
    ci = mean_ci([1, 2, 3, 4])  # mean 2.5, s = sqrt(5/3), se = s/2, t_{.975,3} = 3.1824
    half = 3.182446 * math.sqrt(5 / 3) / 2
    assert (ci.mean, ci.n) == (2.5, 4)
    assert ci.low == pytest.approx(2.5 - half, abs=1e-5) and ci.high == pytest.approx(2.5 + half, abs=1e-5)
    assert mean_ci([1, 2, 3, 4], level=0.5).half_width < ci.half_width


def test_mean_ci_edge_cases():
    one = mean_ci([0.7])
    assert one.mean == 0.7 and math.isnan(one.low) and math.isnan(one.high)
    same = mean_ci([2.0, 2.0, float("nan"), 2.0])
    assert (same.low, same.high, same.n) == (2.0, 2.0, 3)
    with pytest.raises(ValueError):
        mean_ci([])
    with pytest.raises(ValueError):
        mean_ci([1, 2], level=1.0)


# ---------------- smoothing ----------------

def test_smoothing_trailing_window_step0_raw():
    vals = [0.0, 10.0, 20.0, 30.0, 40.0]
    assert smooth_curve(vals, window=3) == [0.0, 5.0, 10.0, 20.0, 30.0]
    assert smooth_curve(vals, window=1) == vals
    assert final_value(vals, window=3) == 30.0
    assert gain(vals, window=3) == 30.0
    long = list(range(25))
    assert smooth_curve(long)[-1] == pytest.approx(sum(range(15, 25)) / 10)  # default window = 10
    assert smooth_curve(long)[0] == 0


def test_smoothing_skips_missing_values():
    out = smooth_curve([1.0, float("nan"), 3.0], window=2)
    assert out[0] == 1.0 and out[1] == 1.0 and out[2] == 3.0
    assert math.isnan(smooth_curve([float("nan")])[0])
    with pytest.raises(ValueError):
        smooth_curve([1.0], window=0)


# ---------------- Table 1 ----------------

def test_strategy_row_by_hand():
    samples = [S(1, True, True), S(2, False, True), S(3, True, True), S(4, False, False),
               S(5, True, False, fenced=True)]
    row = strategy_row(samples, "python")
    assert (row.n, row.n_code) == (5, 3)
    assert row.code_frequency == pytest.approx(0.6)
    assert row.accuracy == pytest.approx(0.6)
    assert row.accuracy_code == pytest.approx(2 / 3) and row.accuracy_language == pytest.approx(0.5)
    fenced = strategy_row(samples, "fenced")
    assert fenced.n_code == 4 and fenced.accuracy_language == 0.0


def test_strategy_table_paper_qwen_math_7b():
    """Table 1 row for Qwen2.5-Math-7B: 325 code (198 correct), 175 language (49 correct)."""
    samples = [S(i, i < 198, True) for i in range(325)] + [S(1000 + i, i < 49, False) for i in range(175)]
    row = strategy_table(samples, rules=["python"])[0]
    assert round(100 * row.code_frequency, 1) == 65.0
    assert round(100 * row.accuracy_code, 1) == 60.9
    assert round(100 * row.accuracy_language, 1) == 28.0
    assert round(100 * row.accuracy, 1) == 49.4


def test_strategy_table_empty_strategy_is_none_and_per_benchmark():
    rows = strategy_table([S(1, True, True), S(2, False, False, bench="amc23")], rules=["python"])
    by = {r.benchmark: r for r in rows}
    assert by["math500"].accuracy_language is None and by["amc23"].accuracy_code is None
    with pytest.raises(ValueError):
        strategy_row([S(1, True, True)], rule="java")


# ---------------- Table 2 ----------------

# docs/paper.md §7.7 (Fig. 7, Qwen2.5-Math-7B, step 0 -> 150): bucket -> (n, acc0 %, acc150 %)
FIG7 = {
    "GT": [(165, 63.6, 72.1), (160, 58.1, 78.1), (72, 27.8, 77.8), (103, 28.2, 88.3)],
    "MV": [(243, 60.9, 70.8), (82, 61.0, 78.1), (119, 23.5, 80.6), (56, 37.5, 89.3)],
    "Format": [(314, 60.8, 67.5), (11, 63.6, 45.5), (152, 23.7, 78.3), (23, 56.5, 91.3)],
    "Incorrect": [(301, 60.5, 69.8), (24, 66.7, 83.3), (129, 22.5, 77.5), (46, 43.5, 82.6)],
    "Random": [(268, 61.2, 57.8), (57, 59.6, 71.9), (142, 23.9, 69.0), (33, 45.5, 93.9)],
}
DERIVED = {  # net newly correct, C shares in %
    "GT": (144, [9.7, 22.2, 25.0, 43.1]),
    "MV": (135, [17.8, 10.4, 50.4, 21.5]),
    "Format": (110, [19.1, -1.8, 75.5, 7.3]),
    "Incorrect": (121, [23.1, 3.3, 58.7, 14.9]),
    "Random": (78, [-11.5, 9.0, 82.1, 20.5]),
}
TABLE2_QWEN_MATH_7B = [11.6, 8.6, 58.3, 21.4]


def _fig7_samples(reward):
    """Rebuild one greedy evaluation pair from integer correct counts (round(n * acc))."""
    before, after, pid = [], [], 0
    for bucket, (n, a0, a1) in zip(BUCKETS, FIG7[reward]):
        c0, c1 = round(n * a0 / 100), round(n * a1 / 100)
        code0, code1 = bucket.startswith("Code"), bucket.endswith("Code")
        for i in range(n):
            before.append(S(pid, i < c0, code0))
            after.append(S(pid, i < c1, code1))
            pid += 1
    return before, after


@pytest.mark.parametrize("reward", list(FIG7))
def test_transition_table_reproduces_paper_derived_shares(reward):
    before, after = _fig7_samples(reward)
    t = transition_table(before, after, before_name="base", after_name=reward)
    net, shares = DERIVED[reward]
    assert t.n == 500 and t.net_newly_correct == net
    assert (t.code_before, round(100 * t.accuracy_before, 1)) == (325, 49.4)
    assert [round(100 * t.bucket(d).contribution, 1) for d in BUCKETS] == shares
    assert sum(t.contributions.values()) == pytest.approx(1.0)
    assert [t.bucket(d).n for d in BUCKETS] == [n for n, _, _ in FIG7[reward]]


def test_mean_contributions_reproduce_table2_column():
    tables = [transition_table(*_fig7_samples(r), after_name=r) for r in FIG7]
    mean = mean_contributions(tables)
    for d, expected in zip(BUCKETS, TABLE2_QWEN_MATH_7B):
        assert 100 * mean.contributions[d] == pytest.approx(expected, abs=0.1)
    assert mean.used == list(FIG7) and mean.skipped == []
    # average total gain: (144+135+110+121+78)/5/500 = 23.52 points (Table 2: 23.5)
    assert 100 * mean.average_total_gain == pytest.approx(23.52)
    rows = contribution_rows(tables)
    assert rows[-1]["run"] == "unweighted mean" and len(rows) == 6
    assert rows[-1]["C Lang→Code %"] == pytest.approx(58.3, abs=0.1)


def test_contribution_undefined_when_no_net_change():
    assert contribution_scores({"a": 1.0, "b": -1.0}) == {"a": None, "b": None}
    before = [S(1, True, True), S(2, False, False)]
    after = [S(1, False, False), S(2, True, True)]  # one lost, one gained: net 0
    t = transition_table(before, after)
    assert t.net_newly_correct == 0 and all(c is None for c in t.contributions.values())
    assert t.bucket("Code→Lang").net_newly_correct == -1 and t.bucket("Lang→Code").net_newly_correct == 1
    assert t.bucket("Code→Code").n == 0 and t.bucket("Code→Code").accuracy_before is None
    mean = mean_contributions([t])
    assert mean.skipped == ["step t"] and mean.contributions["Lang→Lang"] is None


def test_negative_contribution_and_unmatched_problems():
    before = [S(1, True, True), S(2, False, False), S(3, False, False), S(9, True, True)]
    after = [S(1, False, True), S(2, True, True), S(3, True, False), S(8, True, True)]
    t = transition_table(before, after)
    assert (t.n, t.n_only_before, t.n_only_after) == (3, 1, 1)
    assert t.contributions == {"Code→Code": -1.0, "Code→Lang": 0.0,
                               "Lang→Code": 1.0, "Lang→Lang": 1.0}
    with pytest.raises(ValueError, match="share no"):
        transition_table([S(1, True, True)], [S(2, True, True)])
    with pytest.raises(ValueError, match="several benchmarks"):
        transition_table([S(1, True, True), S(1, True, True, bench="amc23")], [S(1, True, True)])


def test_k_samples_use_majority_strategy_and_mean_correctness():
    samples = [S(1, True, True, idx=0), S(1, False, True, idx=1), S(1, True, False, idx=2), S(1, True, False, idx=3)]
    (key, out), = problem_outcomes(samples).items()
    assert key == ("math500", "1") and out.k == 4
    assert out.code is False  # 2 of 4 is a tie -> language
    assert out.correct == 0.75
    after = [S(1, True, True, idx=i) for i in range(4)]
    t = transition_table(samples, after)
    assert t.bucket("Lang→Code").net_newly_correct == pytest.approx(0.25)
    assert t.bucket("Lang→Code").contribution == 1.0
