"""The weekly review's renewal forecast takes each band's churn rate from the latest back-tests
when they have enough scores in that band."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from healthboard.pages.weekly.selectors import CHURN_MIN_SAMPLE, DEFAULT_CHURN, churn_basis
from scoring.bands import Band
from scoring.models import AnalysisRun, Scorecard


def _backtest(bands: dict, *, status="ok", is_draft=False, days_ago=0) -> AnalysisRun:
    return AnalysisRun.objects.create(
        kind=AnalysisRun.Kind.BACKTEST,
        status=AnalysisRun.Status.DONE,
        scorecard=Scorecard.objects.get(is_default=True),
        computed_at=timezone.now() - dt.timedelta(days=days_ago),
        result={
            "status": status,
            "is_draft": is_draft,
            "horizon_days": 90,
            "churn_rate_by_band": {b: {"k": k, "n": n} for b, (k, n) in bands.items()},
        },
    )


@pytest.mark.django_db
def test_bands_with_enough_backtested_scores_use_the_observed_rate():
    _backtest({"green": (1, 100), "yellow": (6, 40), "red": (9, 30), "none": (1, 5)}, days_ago=3)
    _backtest({"green": (50, 100), "red": (50, 100)}, days_ago=9)  # older: not read
    basis = churn_basis(as_of=timezone.localdate())
    assert basis.rates[Band.GREEN].rate == pytest.approx(0.01)
    assert basis.rates[Band.RED].rate == pytest.approx(0.3)
    assert basis.rates[Band.RED].source == "backtest"
    # Five "No data" scores are fewer than CHURN_MIN_SAMPLE: that band keeps its default.
    assert 5 < CHURN_MIN_SAMPLE
    assert basis.rates[Band.NO_DATA].rate == DEFAULT_CHURN[Band.NO_DATA]
    assert basis.backtest["horizon_days"] == [90] and basis.backtest["scorecards"] == 1


@pytest.mark.django_db
def test_drafts_and_back_tests_without_enough_data_are_not_used():
    _backtest({"red": (9, 30)}, is_draft=True)
    _backtest({"red": (9, 30)}, status="not_enough_data")
    basis = churn_basis(as_of=timezone.localdate())
    assert basis.backtest is None
    assert basis.rates[Band.RED].rate == DEFAULT_CHURN[Band.RED]
    assert basis.rates[Band.RED].source == "snapshot"
