"""Kaplan–Meier with Greenwood intervals, and churn by month of tenure, worked out by hand."""

from __future__ import annotations

import math

import pytest

from scoring.analytics import survival
from scoring.analytics.metrics import Z95

# Six accounts watched 1, 2, 2, 3, 4, 5 months; the one at 2 and the one at 4 were still
# customers when watching stopped (censored), the others churned.
DURATIONS = [1, 2, 2, 3, 4, 5]
EVENTS = [True, True, False, True, False, True]


def test_kaplan_meier_steps_by_hand():
    km = survival.kaplan_meier(DURATIONS, EVENTS)
    # t=1: 6 at risk, 1 churns: S = 5/6.
    # t=2: 5 at risk (the censored one still counts at 2), 1 churns: S = 5/6 · 4/5 = 2/3.
    # t=3: 3 at risk, 1 churns: S = 2/3 · 2/3 = 4/9.
    # t=4: a censoring alone: no step.  t=5: 1 at risk, 1 churns: S = 0.
    assert km.times == [1, 2, 3, 5]
    assert km.at_risk == [6, 5, 3, 1]
    assert km.churned == [1, 1, 1, 1]
    assert km.survival == pytest.approx([5 / 6, 2 / 3, 4 / 9, 0.0])
    assert km.n == 6 and km.events == 4
    assert km.at(0.5) == 1.0 and km.at(2.5) == pytest.approx(2 / 3)


def test_greenwood_variance_by_hand():
    km = survival.kaplan_meier(DURATIONS, EVENTS)
    # Σ d/(n(n-d)): 1/30; + 1/20 = 1/12; + 1/6 = 1/4.  Var = S² · Σ.
    assert km.variance[0] == pytest.approx((5 / 6) ** 2 / 30)
    assert km.variance[1] == pytest.approx((2 / 3) ** 2 / 12)
    assert km.variance[2] == pytest.approx((4 / 9) ** 2 / 4)  # = 4/81, sd 2/9
    # Plain interval at t=3: 4/9 ± z·2/9.
    assert km.plain_low[2] == pytest.approx(4 / 9 - Z95 * 2 / 9)
    assert km.plain_high[2] == pytest.approx(4 / 9 + Z95 * 2 / 9)


def test_log_log_interval_by_hand():
    km = survival.kaplan_meier(DURATIONS, EVENTS)
    # t=2: S = 2/3, Σ = 1/12: σ = √(1/12) / |ln 2/3|; interval S^exp(±zσ).
    sigma = math.sqrt(1 / 12) / abs(math.log(2 / 3))
    assert km.low[1] == pytest.approx((2 / 3) ** math.exp(Z95 * sigma))
    assert km.high[1] == pytest.approx((2 / 3) ** math.exp(-Z95 * sigma))
    assert 0 <= km.low[1] < 2 / 3 < km.high[1] <= 1


def test_kaplan_meier_without_churn_is_flat_and_empty_input_is_empty():
    km = survival.kaplan_meier([3, 4], [False, False])
    assert km.times == [] and km.at(10) == 1.0
    assert survival.kaplan_meier([], []).n == 0


def test_kaplan_meier_refuses_negative_durations():
    with pytest.raises(ValueError, match="non-negative"):
        survival.kaplan_meier([-1, 2], [True, False])


def test_churn_by_tenure_month_by_hand():
    # Months watched 0.5 (churned), 1.5 (churned), 1.2 (censored), 3.0 (censored).
    rows = survival.churn_by_tenure_month([0.5, 1.5, 1.2, 3.0], [True, True, False, False])
    # Month 1: all 4 reached it; 1 churned in it (the 0.5); the 1.2 and 1.5 were watched
    #   through month 1 (≥ 1): at risk 4.
    # Month 2: the 1.5 churned in it; the 1.2 left mid-month unwatched: at risk = 1.5 and 3.0.
    # Month 3: only the 3.0, watched to its end, no churn.
    assert [(r["month"], r["at_risk"], r["churned"]) for r in rows] == [
        (1, 4, 1),
        (2, 2, 1),
        (3, 1, 0),
    ]
    assert rows[1]["rate"] == 0.5
    assert rows[1]["low"] < 0.5 < rows[1]["high"]
