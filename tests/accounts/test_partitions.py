"""The signals' table by month (PostgreSQL): each signal in its month's partition, one from
outside every month in the default partition until its month is made; a (source, external
id) stored once across months; whole months dropped by retention with the marks and keys
left as deleting their signals would have left them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from accounts import partitions
from accounts.marks import marks_rebuild
from accounts.models import Metric, Signal, SignalKey
from accounts.partitions import (
    month_after,
    month_start,
    signal_partitions,
    signal_partitions_drop_before,
    signal_partitions_ensure,
)
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

UTC = dt.UTC
TODAY = dt.datetime.now(UTC).date()


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def months_back(n: int) -> dt.date:
    month = month_start(TODAY)
    for _ in range(n):
        month = month_start(month - dt.timedelta(days=1))
    return month


def partition_of(signal: Signal) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM accounts_signal WHERE id = %s", [signal.pk]
        )
        return cursor.fetchone()[0]


def stored_marks() -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_signalmark")
        return set(cursor.fetchall())


def signal(account, value, when, **fields) -> Signal:
    logins = Metric.objects.get(key="logins")
    return Signal.objects.create(
        account=account, metric=logins, value=value, observed_at=when, **fields
    )


def test_the_table_is_partitioned_by_month_with_the_coming_months_made_ahead():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = %s::regclass",
            [partitions.TABLE],
        )
        assert cursor.fetchone() == ("r",)
    signal_partitions_ensure()
    months = signal_partitions()
    ahead = month_start(TODAY)
    for _ in range(partitions.MONTHS_AHEAD):
        ahead = month_after(ahead)
    assert month_start(TODAY) in months and ahead in months


def test_a_signal_from_outside_every_month_waits_in_the_default_then_moves_to_its_month():
    account = AccountFactory()
    old_month = dt.date(2011, 3, 1)
    kept = signal(account, 2.0, at(old_month + dt.timedelta(days=4)), external_id="e-1")
    marks = stored_marks()
    assert partition_of(kept) == partitions.DEFAULT

    assert old_month in signal_partitions_ensure()

    assert partition_of(kept) == "accounts_signal_p201103"
    assert Signal.objects.get(pk=kept.pk).value == 2.0
    # Moved, not deleted and inserted again: the marks and the key are as they were.
    assert stored_marks() == marks
    assert SignalKey.objects.filter(source="manual", external_id="e-1").exists()
    assert old_month not in signal_partitions_ensure()  # made once


def test_a_key_is_stored_once_across_months_and_free_again_once_its_signal_is_deleted():
    account = AccountFactory()
    first = signal(account, 1.0, at(months_back(2)), source="crm", external_id="x-9")
    with pytest.raises(IntegrityError), transaction.atomic():
        signal(account, 1.0, at(TODAY), source="crm", external_id="x-9")
    signal(account, 1.0, at(TODAY), source="other", external_id="x-9")  # another source

    first.delete()

    again = signal(account, 3.0, at(TODAY), source="crm", external_id="x-9")
    assert Signal.objects.filter(source="crm", external_id="x-9").get() == again


def test_dropping_old_months_leaves_the_marks_as_deleting_their_signals_would():
    # Three accounts: one with only old signals, one with old and recent ones (its last
    # login above 0 is old), one with recent ones only.
    gone, mixed, recent = AccountFactory.create_batch(3)
    old = at(months_back(14) + dt.timedelta(days=3))
    signal(gone, 4.0, old, source="crm", external_id="g-1")
    signal(mixed, 5.0, old)
    signal(mixed, 0.0, at(TODAY))
    signal(recent, 1.0, at(TODAY))
    signal_partitions_ensure()
    cutoff = at(months_back(2) + dt.timedelta(days=10))

    counted, before = signal_partitions_drop_before(cutoff, dry_run=True)
    assert counted == 2 and Signal.objects.count() == 4

    dropped, before = signal_partitions_drop_before(cutoff)

    assert (dropped, before) == (2, at(months_back(2), 0))
    assert not Signal.objects.filter(observed_at__lt=before).exists()
    assert Signal.objects.count() == 2
    assert all(m >= months_back(2) for m in signal_partitions())
    assert not SignalKey.objects.filter(external_id="g-1").exists()
    expected = stored_marks()
    marks_rebuild()  # the marks computed from the signals left
    assert stored_marks() == expected


def test_a_year_before_1000_gets_its_month_too():
    account = AccountFactory()
    ancient = signal(account, 1.0, dt.datetime(24, 3, 5, tzinfo=UTC))

    made = signal_partitions_ensure()

    assert dt.date(24, 3, 1) in made and partition_of(ancient) == "accounts_signal_p002403"


def test_a_dry_run_of_the_pruning_changes_nothing():
    from scoring.retention import signals_prune

    account = AccountFactory()
    signal(account, 1.0, at(dt.date(2011, 3, 4)))  # waits in the default partition
    months = signal_partitions()

    counted, _before, _days = signals_prune(older_than_days=30, dry_run=True)

    # Counted: a pruning would make its month first, then drop it.
    assert counted == 1
    assert signal_partitions() == months and Signal.objects.count() == 1
