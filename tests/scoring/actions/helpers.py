"""Small builders for the rule tests: published runs with chosen scores, signals on a day."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import Metric
from scoring.models import ActionRule
from tests.factories import HealthScoreFactory, ScoreRunFactory, SignalFactory

TODAY = timezone.localdate()


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def scored(account, score: float | None, day: dt.date = TODAY, band: str | None = None):
    """The account's stored score in the published run of `day` (band from the score)."""
    extra = {"band": band} if band else {}
    return HealthScoreFactory(account=account, run=ScoreRunFactory(date=day), score=score, **extra)


def signal(account, key: str, value: float, day: dt.date):
    """A signal of catalogue metric `key` observed at noon (local time) on `day`."""
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    return SignalFactory(
        account=account, metric=Metric.objects.get(key=key), value=value, observed_at=at
    )


def only_rules(*rules) -> None:
    """Switch the seeded default rules off so a test sees only its own."""
    ActionRule.objects.exclude(pk__in=[r.pk for r in rules]).update(enabled=False)
