"""Signal has no database foreign keys (imports lock the rows they refer to instead, FOR KEY
SHARE): deleting an account or a metric while an import is writing signals for it must
wait for that import, and then leave no signal pointing at a row that is gone."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.db.models.deletion import ProtectedError

from accounts.imports.kinds.signals import lock_referenced
from accounts.models import Account, Metric, Signal
from tests.factories import AccountFactory, MetricFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def import_in_another_transaction(*, account: Account, metric: Metric) -> tuple:
    """An import, on a connection of its own, that has locked the account and metric and
    written a signal for them, and commits when `commit` is set."""
    locked, commit = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with transaction.atomic():
                lock_referenced("accounts_account", {account.pk}, "account(s)")
                lock_referenced("accounts_metric", {metric.pk}, "metric(s)")
                Signal.objects.create(
                    account_id=account.pk,
                    metric_id=metric.pk,
                    observed_at=dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC),
                    value=1,
                    source="crm",
                )
                locked.set()
                commit.wait(timeout=30)
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    assert locked.wait(timeout=30)
    return thread, commit, failures


def commit_soon(commit: threading.Event) -> threading.Timer:
    # The delete below blocks on the import's lock until it commits.
    timer = threading.Timer(1.0, commit.set)
    timer.start()
    return timer


def test_an_account_deleted_during_an_import_of_its_signals_leaves_none_behind():
    account, metric = AccountFactory(), MetricFactory()
    thread, commit, failures = import_in_another_transaction(account=account, metric=metric)
    commit_soon(commit)

    pk = account.pk
    account.delete()
    thread.join(timeout=30)

    assert failures == []
    assert not Signal.objects.filter(account_id=pk).exists()


def test_a_metric_deleted_during_an_import_of_its_first_signals_is_refused():
    # A metric no measure uses (measures protect theirs anyway).
    account, metric = AccountFactory(), MetricFactory(key="imported_only", name="Imported only")
    thread, commit, failures = import_in_another_transaction(account=account, metric=metric)
    commit_soon(commit)

    pk = metric.pk
    with pytest.raises(ProtectedError, match="signals were imported for it"):
        metric.delete()
    thread.join(timeout=30)

    assert failures == []
    assert Metric.objects.filter(pk=pk).exists()
    assert Signal.objects.filter(metric_id=pk).count() == 1
