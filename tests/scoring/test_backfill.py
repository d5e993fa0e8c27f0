"""DailyAggregates: every date of a range from one read, equal to aggregate() date by date."""

import datetime as dt

import numpy as np
import pytest

from accounts.models import Metric, Signal
from scoring.aggregates import AGGREGATIONS, AggRequest, aggregate, window_end
from scoring.pipeline.backfill import DailyAggregates
from tests.factories import AccountFactory

# 40 dates around the spring DST change in America/New_York (8 March 2026); the 100-day
# windows of the first dates reach back over the autumn one (2 November 2025).
FIRST, LAST = dt.date(2026, 2, 1), dt.date(2026, 3, 12)
DATES = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
WINDOWS = (7, 30, 90)


def between(rng, start: dt.datetime, stop: dt.datetime, size: int) -> list[dt.datetime]:
    seconds = rng.uniform(0, (stop - start).total_seconds(), size)
    return [start + dt.timedelta(seconds=float(s)) for s in seconds]


def edges() -> list[dt.datetime]:
    """Local midnights of the dates (exact window and bucket bounds) and instants next to
    them: a microsecond, a second, an hour either side."""
    out = []
    for day in DATES[::3] + [DATES[0] - dt.timedelta(days=w) for w in (7, 30, 90, 100)]:
        end = window_end(day)
        for us in (0, -1, 1, -1_000_000, 1_000_000, -3_600_000_000, 3_600_000_000):
            out.append(end + dt.timedelta(microseconds=us))
    return out


def make_signals(account, metric, times, values) -> list[Signal]:
    return [
        Signal(account=account, metric=metric, observed_at=t, value=float(v))
        for t, v in zip(times, values, strict=True)
    ]


@pytest.fixture
def world(db, settings, request):
    """Accounts with random signals in three metrics, written under the time zone asked."""
    settings.TIME_ZONE = request.param
    rng = np.random.default_rng(7)
    usage, nps, tickets = (Metric.objects.get(key=k) for k in ("logins", "nps", "support_tickets"))
    start = window_end(FIRST) - dt.timedelta(days=105)
    stop = window_end(LAST) + dt.timedelta(days=3)  # some after the last date: never read
    accounts = AccountFactory.create_batch(8)
    busy, quiet, silent, outside, churned, skipped, ties, last_one = accounts
    signals = []
    for account, n in ((busy, 400), (quiet, 12), (skipped, 50), (last_one, 60)):
        for metric in (usage, tickets):
            times = between(rng, start, stop, n) + edges()
            values = rng.normal(50, 20, len(times)).round(rng.integers(0, 4))
            signals += make_signals(account, metric, times, values)
        times = between(rng, start, stop, n // 4) + edges()[::5]
        signals += make_signals(account, nps, times, rng.integers(0, 11, len(times)))
    # Only before the longest window and after the last date: never in any window.
    times = between(rng, start - dt.timedelta(days=30), start, 20)
    times += between(rng, stop - dt.timedelta(days=2), stop, 20)
    signals += make_signals(outside, usage, times, rng.integers(0, 11, len(times)))
    # Stopped before the range: its windows empty out one by one, then it reports nothing.
    times = between(rng, start, window_end(FIRST) - dt.timedelta(days=65), 80)
    signals += make_signals(churned, tickets, times, rng.integers(0, 5, len(times)))
    signals += make_signals(churned, nps, times[:30], rng.integers(0, 11, 30))
    # Ties on the latest time: the highest id is the last value.
    tied = between(rng, start, stop, 30)
    signals += make_signals(ties, usage, tied + tied + tied, rng.integers(0, 100, 90))
    # Pairs an hour apart, alone in their windows: slopes as ill-conditioned as they come.
    for days_back in (3, 20, 60, 85):
        at = window_end(FIRST + dt.timedelta(days=20)) - dt.timedelta(days=days_back, hours=5)
        signals += make_signals(ties, tickets, [at, at + dt.timedelta(hours=1)], [1, 2.5])
    Signal.objects.bulk_create(signals, batch_size=2000)
    ids = np.array(sorted(a.pk for a in accounts if a is not skipped))
    requests = [
        AggRequest(metric.pk, w, agg)
        for metric in (usage, nps, tickets)
        for w in WINDOWS + ((100,) if metric == tickets else ())
        for agg in AGGREGATIONS
    ]
    return ids, requests


def assert_same(got, expected, requests, day):
    assert got.account_ids.tolist() == expected.account_ids.tolist()
    assert got.has_signals.tolist() == expected.has_signals.tolist(), day
    assert list(got.values) == list(expected.values)
    for r in requests:
        np.testing.assert_allclose(
            got.column(r),
            expected.column(r),
            rtol=1e-9,
            atol=1e-12,
            equal_nan=True,
            err_msg=f"{r} on {day}",
        )


# New York: DST changes at 2 a.m.; Havana: at midnight (that day starts at 1 a.m.); Kolkata:
# half-hour offset, so local midnights are at 18:30 UTC.
ZONES = ["UTC", "America/New_York", "America/Havana", "Asia/Kolkata"]


@pytest.mark.parametrize("world", ZONES, indirect=True)
def test_every_date_equals_aggregate(world):
    ids, requests = world
    daily = DailyAggregates.build(requests=requests, account_ids=ids, first=FIRST, last=LAST)
    for day in DATES:
        expected = aggregate(as_of=day, requests=requests, account_ids=ids)
        assert_same(daily.for_date(day), expected, requests, day)


@pytest.mark.parametrize("world", ["UTC"], indirect=True)
def test_the_data_covers_what_it_should(world):
    ids, requests = world
    daily = DailyAggregates.build(requests=requests, account_ids=ids, first=FIRST, last=LAST)
    has = daily.has_signals
    assert has.shape == (len(DATES), len(ids))
    assert has[:, 0].all() and not has[:, 2].any() and not has[:, 3].any()  # busy; silent, outside
    assert has[0, 4] and not has[-1, 4]  # the churned account stops reporting
    # Counts are zero where the account reports, else no data.
    tickets_7d = AggRequest(requests[-1].metric_id, 7, "count")
    count = daily.values[tickets_7d]
    assert (count[:, 4] == 0).any() and np.isnan(count[:, 2]).all()


@pytest.mark.parametrize("world", ["UTC"], indirect=True)
def test_a_date_for_some_of_the_accounts_built(world):
    ids, requests = world
    daily = DailyAggregates.build(requests=requests, account_ids=ids, first=FIRST, last=LAST)
    some = ids[[0, 2, 4, 6]]
    for day in DATES[::13]:
        expected = aggregate(as_of=day, requests=requests, account_ids=some)
        assert_same(daily.for_date(day, account_ids=some), expected, requests, day)
    with pytest.raises(ValueError, match="not built"):
        daily.for_date(FIRST, account_ids=np.array([ids[0], ids[-1] + 1]))


@pytest.mark.parametrize("world", ["UTC"], indirect=True)
def test_one_query_and_one_more_for_last_values(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ids, requests = world
    without_last = [r for r in requests if r.aggregation != "last"]

    def reads(requests) -> int:
        # Reads of the signals (PostgreSQL adds a savepoint and SET LOCAL around each).
        with CaptureQueriesContext(connection) as queries:
            DailyAggregates.build(requests=requests, account_ids=ids, first=FIRST, last=LAST)
        return sum("accounts_signal" in q["sql"] for q in queries.captured_queries)

    assert reads(without_last) == 1
    # SQLite groups in numpy: its one read of the signals serves the last values too.
    assert reads(requests) == (2 if connection.vendor == "postgresql" else 1)


def test_a_single_date_and_a_one_day_window(db):
    account = AccountFactory()
    metric = Metric.objects.get(key="logins")
    end = window_end(FIRST)
    for days, value in ((0.5, 3), (1.5, 9), (0, 100)):  # the last is on the next day
        Signal.objects.create(
            account=account, metric=metric, observed_at=end - dt.timedelta(days=days), value=value
        )
    requests = [AggRequest(metric.pk, 1, a) for a in ("sum", "last", "min")]
    ids = np.array([account.pk])
    got = DailyAggregates.build(requests=requests, account_ids=ids, first=FIRST, last=FIRST)
    assert {r.aggregation: got.for_date(FIRST).column(r)[0] for r in requests} == {
        "sum": 3,
        "last": 3,
        "min": 3,
    }


def test_nothing_to_aggregate(db):
    request = AggRequest(Metric.objects.get(key="logins").pk, 30, "count")
    empty = DailyAggregates.build(
        requests=[request], account_ids=np.array([], dtype=np.int64), first=FIRST, last=LAST
    )
    assert empty.for_date(LAST).column(request).shape == (0,)
    none = DailyAggregates.build(requests=[], account_ids=np.array([1, 2]), first=FIRST, last=LAST)
    assert none.for_date(FIRST).values == {} and not none.for_date(FIRST).has_signals.any()


def test_bad_input_is_refused(db):
    metric = Metric.objects.get(key="logins").pk
    ids = np.array([1])
    with pytest.raises(ValueError, match="Unknown aggregation or window"):
        DailyAggregates.build(
            requests=[AggRequest(metric, 30, "median")], account_ids=ids, first=FIRST, last=LAST
        )
    with pytest.raises(ValueError, match="before"):
        DailyAggregates.build(
            requests=[AggRequest(metric, 30, "sum")], account_ids=ids, first=LAST, last=FIRST
        )
    daily = DailyAggregates.build(
        requests=[AggRequest(metric, 30, "sum")], account_ids=ids, first=FIRST, last=LAST
    )
    with pytest.raises(ValueError, match="outside"):
        daily.for_date(LAST + dt.timedelta(days=1))
