"""Signal marks (accounts.marks): on PostgreSQL kept by triggers as signals are inserted,
changed and deleted, always equal to the marks computed from the signals themselves; the CTA
rules read them only for a date no signal of the metric is observed after."""

from __future__ import annotations

import datetime as dt
import threading
import time
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts import marks
from accounts.marks import TABLE, marks_sql
from accounts.models import Account, Metric, Signal
from scoring.actions.rules import rule_hits
from scoring.models import ActionRule
from tests.factories import AccountFactory
from tests.scoring.actions.helpers import TODAY, days_ago, scored, signal

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOON = dt.time(12)


def at(day: dt.date, time: dt.time = NOON) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time))


def kept() -> dict[tuple[int, int], tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT metric_id, account_id, newest_at, newest_value, positive_at, "
            f"nonpositive_at FROM {TABLE}"
        )
        return {(row[0], row[1]): row[2:] for row in cursor.fetchall()}


def expected() -> dict[tuple[int, int], tuple]:
    """The marks as their definition reads, from the signals in Python."""
    marks: dict[tuple[int, int], tuple] = {}
    pairs = Signal.objects.values_list("metric_id", "account_id").distinct()
    for metric_id, account_id in pairs:
        rows = list(
            Signal.objects.filter(metric_id=metric_id, account_id=account_id).values_list(
                "observed_at", "value"
            )
        )
        newest = max(when for when, _ in rows)
        at_newest = [value for when, value in rows if when == newest and value is not None]
        positive = [when for when, value in rows if value is not None and value > 0]
        other = [when for when, value in rows if value is not None and value <= 0]
        marks[(metric_id, account_id)] = (
            newest,
            max(at_newest) if at_newest else None,
            max(positive) if positive else None,
            max(other) if other else None,
        )
    return marks


def add(account: Account, metric: Metric, *values_at) -> list[Signal]:
    """Signals inserted by one statement (one trigger call for all of them)."""
    return Signal.objects.bulk_create(
        Signal(account=account, metric=metric, observed_at=when, value=value)
        for value, when in values_at
    )


def test_inserted_signals_move_the_marks_forward_only():
    account, other = AccountFactory.create_batch(2)
    logins = Metric.objects.get(key="logins")
    add(account, logins, (3, at(days_ago(5))), (0, at(days_ago(3))), (None, at(days_ago(9))))
    add(other, logins, (2, at(days_ago(1))))
    # Later statements: an older signal changes nothing but what it is the newest of; two
    # at the newest moment keep the higher value; a NULL value is no value.
    add(account, logins, (7, at(days_ago(8))), (-1, at(days_ago(20))))
    add(account, logins, (1, at(days_ago(3))), (None, at(days_ago(3))))

    assert kept() == expected()
    three_days_ago = at(days_ago(3))
    assert kept()[(logins.pk, account.pk)] == (three_days_ago, 1.0, three_days_ago, three_days_ago)


def test_deleted_and_changed_signals_recompute_the_marks_they_were():
    account = AccountFactory()
    logins = Metric.objects.get(key="logins")
    first, newest, older = add(
        account, logins, (4, at(days_ago(10))), (0, at(days_ago(2))), (5, at(days_ago(6)))
    )

    Signal.objects.filter(pk=newest.pk).delete()
    assert kept() == expected()
    assert kept()[(logins.pk, account.pk)] == (at(days_ago(6)), 5.0, at(days_ago(6)), None)

    Signal.objects.filter(pk=older.pk).update(value=-2, observed_at=at(days_ago(1)))
    assert kept() == expected()
    assert kept()[(logins.pk, account.pk)] == (
        at(days_ago(1)),
        -2.0,
        at(days_ago(10)),
        at(days_ago(1)),
    )

    Signal.objects.filter(pk=first.pk).delete()
    assert kept() == expected()
    Signal.objects.all().delete()
    assert kept() == {}


def test_a_mixed_history_of_writes_leaves_the_marks_the_signals_give():
    accounts = AccountFactory.create_batch(3)
    metrics = list(Metric.objects.filter(key__in=["logins", "nps", "invoice_days_late"]))
    for day in range(12):
        for i, account in enumerate(accounts):
            for j, metric in enumerate(metrics):
                value = ((day * 7 + i * 3 + j) % 11) - 4  # some above 0, some not
                add(account, metric, (value, at(days_ago(day), dt.time(8 + (i + j) % 3))))
    Signal.objects.filter(observed_at__lt=at(days_ago(6))).delete()  # as retention does
    Signal.objects.filter(account=accounts[0], metric=metrics[0]).update(value=3)
    Signal.objects.filter(account=accounts[1], observed_at__gte=at(days_ago(1))).delete()

    assert kept() == expected()


def test_an_account_deleted_takes_its_marks_with_it():
    account = AccountFactory()
    add(account, Metric.objects.get(key="logins"), (1, at(TODAY)))
    account.delete()
    assert kept() == {}


def marks_read(metric: Metric, end: dt.datetime) -> dict[int, tuple]:
    sql, params = marks_sql(metric.pk, end)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: row[1:] for row in cursor.fetchall()}


def test_the_marks_read_for_a_date_count_no_signal_observed_after_it():
    account = AccountFactory()
    metric = Metric.objects.get(key="invoice_days_late")
    add(account, metric, (45, at(days_ago(3))))
    end = at(TODAY + dt.timedelta(days=1), dt.time.min)
    assert marks_read(metric, end) == {account.pk: (at(days_ago(3)), 45.0, at(days_ago(3)), None)}
    # Reported ahead (after the date asked about): the kept marks count it, so the marks are
    # computed from the signals observed before `end`.
    add(account, metric, (0, at(TODAY + dt.timedelta(days=2))))
    assert kept()[(metric.pk, account.pk)][0] == at(TODAY + dt.timedelta(days=2))
    assert marks_read(metric, end) == {account.pk: (at(days_ago(3)), 45.0, at(days_ago(3)), None)}


def test_a_rule_counts_no_signal_observed_after_its_date():
    late, paid_ahead = AccountFactory.create_batch(2)
    for account in (late, paid_ahead):
        scored(account, 50.0)
        signal(account, "invoice_days_late", 45, days_ago(3))
    # Paid, but the signal says so for the day after tomorrow: as of today it is still late.
    signal(paid_ahead, "invoice_days_late", 0, TODAY + dt.timedelta(days=2))
    rule = ActionRule(
        name="late",
        kind="invoice_late",
        parameters={"days": 30, "metric": "invoice_days_late"},
        cta_type="risk",
    )

    hits = {hit.account_id for hit in rule_hits(rule=rule, as_of=TODAY) if hit.fires}

    assert hits == {late.pk, paid_ahead.pk}


def test_a_load_that_skipped_the_triggers_is_repaired_by_the_rebuild_command():
    account = AccountFactory()
    logins = Metric.objects.get(key="logins")
    add(account, logins, (1, at(days_ago(4))))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # as a bulk load does
        add(account, logins, (0, at(days_ago(1))))
        Signal.objects.filter(observed_at=at(days_ago(4))).delete()
    assert kept() != expected()

    out = StringIO()
    call_command("rebuild_signal_marks", stdout=out)

    assert (
        kept()
        == expected()
        == {(logins.pk, account.pk): (at(days_ago(1)), 0.0, None, at(days_ago(1)))}
    )
    assert "1 signal marks and 0 signal keys rebuilt" in out.getvalue()


def test_a_metric_whose_signals_have_no_marks_is_read_from_the_signals():
    account = AccountFactory()
    metric = Metric.objects.get(key="invoice_days_late")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # the triggers skipped
        add(account, metric, (45, at(days_ago(3))))
    end = at(TODAY + dt.timedelta(days=1), dt.time.min)

    assert kept() == {}
    assert marks_read(metric, end) == {account.pk: (at(days_ago(3)), 45.0, at(days_ago(3)), None)}


def _connect():
    """A connection of its own to the test database, committing by hand."""
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=False,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "second",
    [
        "DELETE FROM accounts_signal WHERE id = %s",
        "UPDATE accounts_signal SET value = -3 WHERE id = %s",
    ],
)
def test_two_removals_at_once_in_the_same_marks_leave_them_right(second):
    # The first transaction removes the newest signal (its trigger recomputes the mark to
    # the second one, uncommitted); the second removes or changes that second signal and
    # waits for the first's lock: it must recompute after the first has committed.
    account = AccountFactory()
    logins = Metric.objects.get(key="logins")
    newest, middle, _oldest = add(
        account, logins, (5, at(days_ago(1))), (7, at(days_ago(2))), (-1, at(days_ago(3)))
    )
    first, other = _connect(), _connect()
    try:
        first.execute("DELETE FROM accounts_signal WHERE id = %s", [newest.pk])
        waiting = threading.Thread(
            target=lambda: (other.execute(second, [middle.pk]), other.commit())
        )
        waiting.start()
        time.sleep(0.3)  # the second is waiting for the first's lock
        first.commit()
        waiting.join(10)
        assert not waiting.is_alive()
    finally:
        first.close()
        other.close()

    assert kept() == expected()


def test_only_the_accounts_with_a_signal_reported_ahead_are_read_from_their_signals():
    ahead, usual = AccountFactory.create_batch(2)
    metric = Metric.objects.get(key="invoice_days_late")
    for account in (ahead, usual):
        add(account, metric, (45, at(days_ago(3))), (0, at(days_ago(9))))
    add(ahead, metric, (0, at(TODAY.replace(year=TODAY.year + 30))))  # a typo in the year
    end = at(TODAY + dt.timedelta(days=1), dt.time.min)
    as_of_today = {
        account.pk: (at(days_ago(3)), 45.0, at(days_ago(3)), at(days_ago(9)))
        for account in (ahead, usual)
    }

    assert marks_read(metric, end) == as_of_today
    # An earlier day: both accounts have signals after it, each read from its own.
    earlier = at(days_ago(5), dt.time.min)
    assert marks_read(metric, earlier) == {
        account.pk: (at(days_ago(9)), 0.0, None, at(days_ago(9))) for account in (ahead, usual)
    }


def test_more_accounts_ahead_than_read_one_by_one_are_computed_with_the_whole_metric(
    monkeypatch,
):
    monkeypatch.setattr(marks, "FEW_AHEAD", 1)
    accounts = AccountFactory.create_batch(3)
    metric = Metric.objects.get(key="nps")
    for i, account in enumerate(accounts):
        add(account, metric, (9 - i, at(days_ago(2))), (3, at(TODAY + dt.timedelta(days=3))))
    end = at(TODAY + dt.timedelta(days=1), dt.time.min)

    assert marks_read(metric, end) == {
        account.pk: (at(days_ago(2)), float(9 - i), at(days_ago(2)), None)
        for i, account in enumerate(accounts)
    }
