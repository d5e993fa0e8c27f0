"""AUC, ROC, lift and intervals against small cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.analytics import metrics


def test_it_computes_the_auc_of_a_small_case_by_hand():
    # Stayed scored 3, 5, 7; churned scored 1, 5. Of the 6 (stayed, churned) pairs the stayed
    # account is higher in 3>1, 5>1, 7>1, 7>5; 5 vs 5 is a tie (half); 3 vs 5 is lost:
    # (4 + 0.5) / 6 = 0.75.
    scores = [3, 5, 7, 1, 5]
    churned = [False, False, False, True, True]
    assert metrics.auc(scores, churned) == pytest.approx(0.75)


def test_auc_is_one_for_a_perfect_ranking_and_zero_for_a_reversed_one():
    assert metrics.auc([10, 20, 80, 90], [True, True, False, False]) == 1.0
    assert metrics.auc([10, 20, 80, 90], [False, False, True, True]) == 0.0


def test_auc_leaves_out_rows_without_a_score_and_needs_both_classes():
    assert metrics.auc([np.nan, 3, 1], [False, False, True]) == 1.0
    assert metrics.auc([1, 2, 3], [False, False, False]) is None
    assert metrics.auc([np.nan, 2], [True, False]) is None


def test_weights_count_a_row_that_many_times():
    # Weight 2 on the tie is the same as the row repeated.
    weighted = metrics.auc([3, 5, 1, 5], [False, False, True, True], weights=[1, 2, 1, 1])
    repeated = metrics.auc([3, 5, 5, 1, 5], [False, False, False, True, True])
    assert weighted == pytest.approx(repeated)


def test_hanley_mcneil_standard_error_by_hand():
    # A = 0.8, 10 churned, 20 stayed: Q1 = 0.8/1.2, Q2 = 2·0.64/1.8.
    q1, q2 = 0.8 / 1.2, 1.28 / 1.8
    var = (0.8 * 0.2 + 9 * (q1 - 0.64) + 19 * (q2 - 0.64)) / 200
    assert metrics.auc_standard_error(0.8, 10, 20) == pytest.approx(math.sqrt(var))


def test_account_bootstrap_interval_contains_the_auc_and_is_none_for_one_class():
    rng = np.random.default_rng(1)
    accounts = np.repeat(np.arange(200), 3)
    churned = np.repeat(rng.random(200) < 0.3, 3)
    scores = np.where(churned, 40, 60) + rng.normal(0, 15, 600)
    value = metrics.auc(scores, churned)
    low, high = metrics.auc_interval_by_account(scores, churned, accounts, reps=100)
    assert low < value < high
    assert 0.5 < low and high < 1
    assert metrics.auc_interval_by_account([1, 2], [False, False], [1, 2]) is None


def test_roc_curve_runs_from_the_origin_to_one_one_and_its_area_is_the_auc():
    scores = [3, 5, 7, 1, 5]
    churned = [False, False, False, True, True]
    points = metrics.roc_curve(scores, churned)
    fpr = [p["false_positive_rate"] for p in points]
    tpr = [p["true_positive_rate"] for p in points]
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    # Flagging scores ≤ 1 catches one churner of two and nobody who stayed.
    assert points[1] == {"threshold": 1.0, "false_positive_rate": 0.0, "true_positive_rate": 0.5}
    area = np.trapezoid(tpr, fpr)
    assert area == pytest.approx(metrics.auc(scores, churned))


def test_roc_curve_is_thinned_for_storage():
    rng = np.random.default_rng(0)
    points = metrics.roc_curve(rng.random(5000), rng.random(5000) < 0.2, max_points=50)
    assert len(points) <= 50
    assert points[-1]["false_positive_rate"] == 1.0


def test_wilson_interval_by_hand():
    # 0 of 10: the textbook Wilson interval is [0, 0.2775].
    low, high = metrics.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    # 5 of 10: centre 0.5, half-width z·√(0.025 + z²/400)/(1 + z²/10).
    z = metrics.Z95
    half = z * math.sqrt(0.025 + z * z / 400) / (1 + z * z / 10)
    assert metrics.wilson_interval(5, 10) == pytest.approx((0.5 - half, 0.5 + half))
    assert metrics.wilson_interval(0, 0) is None


def test_clopper_pearson_by_hand():
    # 0 of 10: the upper end solves (1 - p)^10 = 0.025.
    low, high = metrics.clopper_pearson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10))


def test_proportion_without_accounts_has_no_rate():
    p = metrics.proportion(0, 0)
    assert p.rate is None and p.low is None and p.n == 0


def test_lift_of_the_lowest_decile_by_hand():
    # 20 accounts, scores 0..19; churned: the two lowest and one more (score 15).
    scores = np.arange(20.0)
    churned = np.zeros(20, bool)
    churned[[0, 1, 15]] = True
    lift = metrics.lift_lowest(scores, churned)
    # The lowest decile is 2 accounts, both churned: 100 % against 3/20 = 15 %.
    assert lift.flagged == 2 and lift.churned_flagged == 2
    assert lift.lift == pytest.approx(1 / 0.15)
    assert lift.captured == pytest.approx(2 / 3)


def test_lift_without_churn_is_none():
    lift = metrics.lift_lowest(np.arange(10.0), np.zeros(10, bool))
    assert lift.lift is None and lift.captured is None
