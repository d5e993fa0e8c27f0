"""Retention from the accounts' own start and churn dates, worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Account
from scoring.analytics.retention import MONTH_DAYS, retention_report
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory

START = dt.date(2025, 1, 1)
TODAY = dt.date(2026, 1, 1)


def _account(churn_days: int | None = None, undated: bool = False) -> Account:
    churned = churn_days is not None or undated
    return AccountFactory(
        start_date=START,
        status=Account.Status.CHURNED if churned else Account.Status.ACTIVE,
        churn_date=START + dt.timedelta(days=churn_days) if churn_days is not None else None,
    )


@pytest.mark.django_db
def test_retention_by_cohort_and_tenure_month_by_hand():
    for days in (60, 60, 120, None, None):
        _account(days)
    _account(undated=True)  # churned, but when is unknown: left out and counted
    report = retention_report(today=TODAY)
    assert report.n_accounts == 5 and report.n_churned == 3 and report.undated_churn == 1
    # Every account started in 2025 Q1: quarterly cohorts, one curve.
    assert report.cohort_unit == "quarter"
    (curve,) = report.by_cohort
    assert curve["label"] == "2025-Q1"
    # Day 60: 5 at risk, 2 churn: S = 3/5. Day 120: 3 at risk, 1 churns: S = 2/5.
    assert curve["times"] == pytest.approx([60 / MONTH_DAYS, 120 / MONTH_DAYS])
    assert curve["survival"] == pytest.approx([0.6, 0.4])
    months = {m["month"]: (m["at_risk"], m["churned"]) for m in report.tenure_months}
    # Day 60 is in month 2 (1.97 months), day 120 in month 4 (3.94 months).
    assert months[2] == (5, 2) and months[4] == (3, 1) and months[1] == (5, 0)


@pytest.mark.django_db
def test_retention_by_band_starts_from_a_snapshot():
    run = ScoreRunFactory(date=dt.date(2025, 6, 1))
    for i in range(5):
        HealthScoreFactory(account=_account(300 if i < 2 else None), run=run, score=20)
    for _ in range(5):
        HealthScoreFactory(account=_account(), run=run, score=90)
    report = retention_report(today=TODAY, band_date=dt.date(2025, 6, 1))
    assert report.band_date == "2025-06-01"
    curves = {c["band"]: c for c in report.by_band}
    assert set(curves) == {"red", "green"}
    # Red: 5 watched from 1 Jun 2025; 2 churn on day 300 of tenure = 149 days later: S = 3/5.
    assert curves["red"]["survival"] == pytest.approx([0.6])
    assert curves["red"]["times"] == pytest.approx([149 / MONTH_DAYS])
    assert curves["green"]["times"] == []


@pytest.mark.django_db
def test_no_accounts_or_no_churn_say_what_is_missing():
    assert "No accounts" in retention_report(today=TODAY).missing[0]
    _account()
    report = retention_report(today=TODAY)
    assert any("No account has churned" in m for m in report.missing)
    assert any("No stored scores" in m for m in report.missing)


@pytest.mark.django_db
def test_retention_by_tenure_at_the_band_date():
    run = ScoreRunFactory(date=dt.date(2025, 6, 1))
    for i in range(5):  # customers for 5 months on 1 Jun 2025; two churn 149 days later
        HealthScoreFactory(account=_account(300 if i < 2 else None), run=run, score=50)
    report = retention_report(today=TODAY, band_date=dt.date(2025, 6, 1))
    (curve,) = report.by_tenure
    assert curve["label"] == "Under 6 months" and curve["n"] == 5
    assert curve["survival"] == pytest.approx([0.6])
    assert any("still customers" in line for line in report.interpretation)
