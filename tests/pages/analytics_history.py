"""A small labelled history for the Analytics page's tests: accounts scored on one past day
(stored snapshots, for a back-test), with one static attribute imported long before (a metric
no scorecard knows, for a suggestion) and survey answers; the low-scored, month-to-month
accounts churn 40 days after the day."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import Account
from scoring.models import Scorecard
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    MetricFactory,
    ScoreRunFactory,
    SegmentFactory,
    SignalFactory,
)


def history_day() -> dt.date:
    """A day whose 90-day horizon has passed."""
    return timezone.localdate() - dt.timedelta(days=200)


def labelled_history(day: dt.date, n: int = 60) -> list[Account]:
    run = ScoreRunFactory(date=day)
    version = Scorecard.objects.get(is_default=True).versions.get(status="active")
    segment = SegmentFactory(slug="mid-market")
    contract = MetricFactory(key="contract_months", name="Contract months", category="Financial")
    csat = MetricFactory(key="csat")
    imported = timezone.make_aware(dt.datetime.combine(day - dt.timedelta(days=100), dt.time(8)))
    accounts = []
    for i in range(n):
        months = (1, 12, 24)[i % 3]
        churns = months == 1 and i % 2 == 0 or i == 5
        account = AccountFactory(
            segment=segment,
            start_date=day - dt.timedelta(days=400),
            status=Account.Status.CHURNED if churns else Account.Status.ACTIVE,
            churn_date=day + dt.timedelta(days=40) if churns else None,
        )
        # Churners mostly score low (unhealthy), the others spread over the bands.
        score = (10 + i % 30) if churns else (20 + (i * 7) % 80)
        HealthScoreFactory(account=account, run=run, version=version, score=score)
        SignalFactory(account=account, metric=contract, observed_at=imported, value=months)
        SignalFactory(account=account, metric=csat, observed_at=imported, value=2 if churns else 5)
        accounts.append(account)
    return accounts
