"""The CSM's sentiment as a measure: scored by the normal run pipeline, exactly until its
expiry (the day before counts, the expiry day does not), ended by replacing or withdrawing,
never overwritten by a nightly run, and re-scored as soon as it is set."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Metric, Sentiment, Signal
from scoring import explain
from scoring.models import HealthScore, Measure, ScorecardVersion
from scoring.pipeline import backfill_runs, runs
from scoring.specs import version_config, versions_queryset
from tests.factories import AccountFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
DAY = START.date()


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def account(db, clock):
    # Scored by one scorecard that weighs the sentiment alone: its sub-score is the score.
    for version in ScorecardVersion.objects.filter(status=ScorecardVersion.Status.ACTIVE):
        version.measures.all().delete()
        Measure.objects.create(
            version=version,
            name="CSM sentiment",
            category="sentiment",
            metric=Metric.objects.get(key=Sentiment.METRIC_KEY),
            aggregation="last",
            window_days=365,
            rule="range",
            low=0,
            high=100,
            weight=1,
        )
    owner = UserFactory(role="CSM")
    return AccountFactory(
        segment=SegmentFactory(slug="mid-market"), owner=owner, start_date=DAY - dt.timedelta(90)
    )


def day(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


def score_on(account, as_of: dt.date, clock) -> HealthScore:
    """The nightly run for `as_of`, run the next night as it is."""
    clock.move_to(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(2), tzinfo=dt.UTC))
    runs.run_sync(as_of=as_of)
    return HealthScore.objects.get(account=account, date=as_of)


def sub(score: HealthScore) -> float | None:
    return score.details["sub"][0]


def set_sentiment(account, level: str, expires_on: dt.date, user=None, reason="Champion left"):
    return services.sentiment_set(
        account=account,
        level=level,
        reason=reason,
        expires_on=expires_on,
        user=user or account.owner,
    )


def test_the_sentiment_is_scored_by_the_run_and_explained_as_a_measure(account, clock) -> None:
    set_sentiment(account, Sentiment.Level.AT_RISK, day(30))
    score = score_on(account, DAY, clock)
    assert sub(score) == 50 and score.score == 50
    version = version_config(versions_queryset().get(pk=score.version_id))
    units = {m.pk: m.unit for m in Metric.objects.all()}
    (line,) = explain.score_breakdown(score=score, version=version, units=units).lines
    assert (line.name, line.sub, line.value_text) == ("CSM sentiment", 50, "50 (0–100)")


def test_the_day_before_the_expiry_counts_the_expiry_day_does_not(account, clock) -> None:
    set_sentiment(account, Sentiment.Level.HEALTHY, day(5))
    assert sub(score_on(account, day(4), clock)) == 100
    expired = score_on(account, day(5), clock)
    assert sub(expired) is None and expired.score is None
    # Re-running an earlier day later (a repair) still sees the sentiment it saw then.
    assert sub(score_on(account, day(4), clock)) == 100


def test_a_replaced_sentiment_stops_counting_when_replaced(account, clock) -> None:
    first = set_sentiment(account, Sentiment.Level.HEALTHY, day(30))
    clock.move_to(START + dt.timedelta(days=3))
    manager = UserFactory(role="Manager")
    second = set_sentiment(account, Sentiment.Level.UNHEALTHY, day(10), user=manager)
    first.refresh_from_db()
    assert (first.end, first.ended_by, first.ended_at) == ("replaced", manager, timezone.now())
    assert sub(score_on(account, day(2), clock)) == 100
    assert sub(score_on(account, day(3), clock)) == 0
    # The replacement's own expiry holds, not the first one's.
    assert sub(score_on(account, day(9), clock)) == 0
    assert sub(score_on(account, day(10), clock)) is None
    assert second.is_current(day(9)) and not second.is_current(day(10))


def test_a_withdrawn_sentiment_stops_counting_that_day(account, clock) -> None:
    set_sentiment(account, Sentiment.Level.UNHEALTHY, day(30))
    clock.move_to(START + dt.timedelta(days=4))
    withdrawn = services.sentiment_withdraw(account=account, user=account.owner)
    assert withdrawn.end == "withdrawn" and withdrawn.ended_by == account.owner
    assert services.sentiment_withdraw(account=account, user=account.owner) is None
    assert sub(score_on(account, day(3), clock)) == 0
    assert sub(score_on(account, day(4), clock)) is None


def test_the_nightly_run_never_overwrites_it(account, clock) -> None:
    sentiment = set_sentiment(account, Sentiment.Level.AT_RISK, day(30))
    signals = Signal.objects.filter(account=account).order_by("pk")
    stored = [(s.external_id, s.observed_at, str(s.value)) for s in signals]
    for n in range(3):
        assert sub(score_on(account, day(n), clock)) == 50
    assert list(Sentiment.objects.filter(account=account)) == [sentiment]
    sentiment.refresh_from_db()
    assert sentiment.is_current(day(3)) and sentiment.end == ""
    again = [(s.external_id, s.observed_at, str(s.value)) for s in signals.all()]
    assert again == stored and len(again) == 2


def test_sending_the_same_sentiment_twice_stores_it_once(account) -> None:
    one = set_sentiment(account, Sentiment.Level.AT_RISK, day(30))
    two = set_sentiment(account, Sentiment.Level.AT_RISK, day(30))
    assert one == two
    assert Sentiment.objects.count() == 1 and Signal.objects.count() == 2


def test_an_expiry_out_of_range_is_refused_and_nothing_written(account) -> None:
    for bad in (DAY, day(Sentiment.MAX_DAYS + 1)):
        with pytest.raises(ValueError, match="within 365 days"):
            set_sentiment(account, Sentiment.Level.AT_RISK, bad)
    assert not Sentiment.objects.exists() and not Signal.objects.exists()


def test_setting_it_rescores_the_account_today(
    account, clock, django_capture_on_commit_callbacks
) -> None:
    runs.run_sync(as_of=DAY)
    assert HealthScore.objects.get(account=account, date=DAY).score is None
    with django_capture_on_commit_callbacks(execute=True):
        set_sentiment(account, Sentiment.Level.HEALTHY, day(30))
    assert HealthScore.objects.get(account=account, date=DAY).score == 100


def test_a_backfill_sees_each_sentiment_on_exactly_its_days(account, clock) -> None:
    set_sentiment(account, Sentiment.Level.HEALTHY, day(30))
    clock.move_to(START + dt.timedelta(days=2))
    set_sentiment(account, Sentiment.Level.AT_RISK, day(4))
    clock.move_to(START + dt.timedelta(days=8))
    backfill_runs.run_backfill(first=day(-1), last=day(5))
    subs = {
        s.date: s.details["sub"][0]
        for s in HealthScore.objects.filter(account=account).order_by("date")
    }
    assert list(subs.values()) == [None, 100, 100, 50, 50, None, None]
