"""Small labelled histories for the analytics tests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Account
from scoring.models import Scorecard, ScorecardVersion
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory, SegmentFactory


def standard_version() -> ScorecardVersion:
    return Scorecard.objects.get(is_default=True).versions.get(status="active")


@pytest.fixture
def day() -> dt.date:
    """An evaluation date whose 90-day horizon has passed."""
    return timezone.localdate() - dt.timedelta(days=200)


def stored_history(day: dt.date, scores: list[float], churned: set[float]) -> list[Account]:
    """One mid-market account (the default scorecard's) per score, stored on `day`'s done run;
    those whose score is in `churned` churn 30 days later."""
    run = ScoreRunFactory(date=day)
    version = standard_version()
    segment = SegmentFactory(slug="mid-market")
    accounts = []
    for score in scores:
        gone = score in churned
        account = AccountFactory(
            segment=segment,
            start_date=day - dt.timedelta(days=300),
            status=Account.Status.CHURNED if gone else Account.Status.ACTIVE,
            churn_date=day + dt.timedelta(days=30) if gone else None,
        )
        HealthScoreFactory(account=account, run=run, version=version, score=score)
        accounts.append(account)
    return accounts
