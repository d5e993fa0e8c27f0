"""The set-based aggregation: every aggregation, window edges, rings, and no query per account."""

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from accounts.models import Metric
from healthboard.lib.idranges import spread_thin
from scoring import aggregates
from scoring.aggregates import AggRequest, aggregate, window_end
from tests.factories import AccountFactory, SignalFactory

AS_OF = dt.date(2026, 6, 30)


def at(days_before_end: float) -> dt.datetime:
    return window_end(AS_OF) - dt.timedelta(days=days_before_end)


@pytest.fixture
def metric(db):
    return Metric.objects.get(key="csat")


@pytest.fixture
def nps(db):
    return Metric.objects.get(key="nps")


def values(account, metric, days_values):
    for days, value in days_values:
        SignalFactory(account=account, metric=metric, observed_at=at(days), value=value)


def run(accounts, *requests):
    ids = np.array(sorted(a.pk for a in accounts))
    result = aggregate(as_of=AS_OF, requests=list(requests), account_ids=ids)
    return {r: dict(zip(ids.tolist(), result.column(r).tolist(), strict=True)) for r in requests}


def test_each_aggregation_over_one_window(metric):
    account = AccountFactory()
    values(account, metric, [(1, 5), (2, 3), (10, 4), (40, 1)])  # the last is outside 30 days
    reqs = {
        agg: AggRequest(metric.pk, 30, agg)
        for agg in ("sum", "mean", "count", "min", "max", "last")
    }
    out = run([account], *reqs.values())
    got = {agg: out[r][account.pk] for agg, r in reqs.items()}
    assert got == {"sum": 12, "mean": 4, "count": 3, "min": 3, "max": 5, "last": 5}


def test_windows_of_one_metric_add_up_their_rings(metric):
    account = AccountFactory()
    values(account, metric, [(1, 5), (20, 3), (60, 1), (200, 2)])
    short, long = AggRequest(metric.pk, 30, "mean"), AggRequest(metric.pk, 90, "mean")
    count90, last90 = AggRequest(metric.pk, 90, "count"), AggRequest(metric.pk, 90, "last")
    min90 = AggRequest(metric.pk, 90, "min")
    out = run([account], short, long, count90, last90, min90)
    assert out[short][account.pk] == 4
    assert out[long][account.pk] == 3
    assert out[count90][account.pk] == 3
    assert out[last90][account.pk] == 5
    assert out[min90][account.pk] == 1


def test_window_edges_belong_to_the_window_that_starts_there(metric):
    account = AccountFactory()
    values(account, metric, [(30, 2), (30.0001, 9), (0.0001, 4)])
    out = run([account], AggRequest(metric.pk, 30, "sum"))
    assert list(out.values())[0][account.pk] == 6


def test_signals_after_the_date_are_ignored(metric):
    account = AccountFactory()
    values(account, metric, [(1, 2), (-1, 100)])
    out = run([account], AggRequest(metric.pk, 30, "max"))
    assert list(out.values())[0][account.pk] == 2


def test_nps_is_promoters_minus_detractors(nps):
    account = AccountFactory()
    values(account, nps, [(1, 10), (2, 9), (3, 8), (4, 6), (5, 0)])
    out = run([account], AggRequest(nps.pk, 90, "nps"))
    assert list(out.values())[0][account.pk] == pytest.approx(100 * (2 - 2) / 5)


def test_trend_is_the_slope_per_day(metric):
    account = AccountFactory()
    values(account, metric, [(30, 1), (20, 2), (10, 3), (0.5, 3.95)])
    out = run([account], AggRequest(metric.pk, 60, "trend"))
    assert list(out.values())[0][account.pk] == pytest.approx(0.1, rel=1e-3)


def test_no_signals_is_no_data_but_counts_are_zero_for_accounts_that_report(metric, nps):
    silent, reporting = AccountFactory(), AccountFactory()
    values(reporting, nps, [(3, 9)])
    count, mean = AggRequest(metric.pk, 30, "count"), AggRequest(metric.pk, 30, "mean")
    out = run([silent, reporting], count, mean, AggRequest(nps.pk, 30, "nps"))
    assert np.isnan(out[count][silent.pk]) and np.isnan(out[mean][silent.pk])
    assert out[count][reporting.pk] == 0
    assert np.isnan(out[mean][reporting.pk])


def test_one_query_for_many_accounts(metric):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    accounts = AccountFactory.create_batch(25)
    for a in accounts:
        values(a, metric, [(1, 3), (5, 4)])
    requests = [AggRequest(metric.pk, 30, agg) for agg in ("sum", "mean", "trend", "count")]
    ids = np.array(sorted(a.pk for a in accounts))
    with CaptureQueriesContext(connection) as queries:
        result = aggregate(as_of=AS_OF, requests=requests, account_ids=ids)
    # One read of the signals (PostgreSQL adds a savepoint and SET LOCAL around it).
    assert sum("accounts_signal" in q["sql"] for q in queries.captured_queries) == 1
    assert np.allclose(result.column(requests[1]), 3.5)


def test_other_accounts_in_the_id_range_are_not_mixed_in(metric):
    a, b, c = AccountFactory(), AccountFactory(), AccountFactory()
    values(a, metric, [(1, 1)])
    values(b, metric, [(1, 50)])
    values(c, metric, [(1, 3)])
    ids = np.array([a.pk, c.pk])
    result = aggregate(as_of=AS_OF, requests=[AggRequest(metric.pk, 30, "sum")], account_ids=ids)
    assert result.column(AggRequest(metric.pk, 30, "sum")).tolist() == [1, 3]


def test_timezone_aware_end_of_day():
    assert window_end(AS_OF) == timezone.make_aware(dt.datetime(2026, 7, 1))


def test_scattered_accounts_are_read_one_by_one_with_the_same_values(metric, nps):
    """Ids spread thin (a sample) are read by id, not as the range between them: the same
    values as reading each account alone, and none of the accounts in between."""
    accounts = AccountFactory.create_batch(20)
    for i, account in enumerate(accounts):
        values(account, metric, [(1, i), (5, 2 * i), (40, 7)])
        values(account, nps, [(3, 10 - i % 3)])
    reqs = [
        AggRequest(metric.pk, 30, "mean"),
        AggRequest(metric.pk, 90, "last"),
        AggRequest(nps.pk, 30, "nps"),
    ]
    scattered = [accounts[0], accounts[10], accounts[19]]
    ids = np.array([a.pk for a in scattered])
    assert spread_thin(ids)
    result = aggregate(as_of=AS_OF, requests=reqs, account_ids=ids)
    for row, account in enumerate(scattered):
        alone = aggregate(as_of=AS_OF, requests=reqs, account_ids=np.array([account.pk]))
        assert [result.column(r)[row] for r in reqs] == [alone.column(r)[0] for r in reqs]
    assert result.has_signals.all()
    # The range between them would have read seventeen more accounts' signals.
    assert aggregates._Accounts.of(ids).ids == ids.tolist()
    assert aggregates._Accounts.of(np.array([a.pk for a in accounts])).ids is None
