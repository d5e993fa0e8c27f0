"""A signals file with nothing wrong in it goes straight into the signals table (one COPY
per stretch, no stage); anything else rolls that back and takes the staged path, with the
same outcome: every bad row reported, nothing half-written, nothing stored twice."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection, transaction

from accounts.imports import ImportOptions, ImportRefused, import_records, import_run
from accounts.imports.kinds.signals import lock_referenced
from accounts.models import ImportJob, Signal
from tests.factories import AccountFactory, MetricFactory, SignalFactory

# The fast path's job progress is written on a connection of its own, which only sees
# committed rows: as in production.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HEADER = ["account", "metric", "observed_at", "value", "external_id"]


def signals_file(rows) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode())


def run(rows):
    return import_run(kind="signals", file=signals_file(rows), options=ImportOptions(source="crm"))


@pytest.fixture
def world():
    AccountFactory(external_id="A-1")
    AccountFactory(external_id="A-2")
    MetricFactory(key="logins")


def rows(n, *, start=0, ids=True):
    return [
        [
            f"A-{1 + i % 2}",
            "logins",
            f"2026-10-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
            i,
            f"e-{i}" if ids and i % 2 else "",
        ]
        for i in range(start, start + n)
    ]


def went_direct(result) -> bool:
    # The staged path times its steps (read, check, write, commit); the direct one writes
    # as it reads.
    return set(result.timings) == {"write"}


def test_a_clean_file_goes_straight_in_and_its_job_counts_every_row(world):
    result = run(rows(50))
    assert result.status == ImportJob.Status.DONE and went_direct(result)
    assert (result.created, result.unchanged, result.rows_read) == (50, 0, 50)
    assert Signal.objects.count() == 50
    stored = Signal.objects.get(external_id="e-7")
    assert (stored.account.external_id, stored.value, stored.source) == ("A-2", 7.0, "crm")
    assert len(result.accounts) == 2
    job = ImportJob.objects.get(pk=result.job_id)
    assert (job.status, job.rows_read, job.rows_written) == ("done", 50, 50)


def test_the_same_file_again_stores_nothing(world):
    run(rows(50))
    result = run(rows(50))
    assert result.ok and not went_direct(result)
    assert (result.created, result.unchanged) == (0, 50)
    assert Signal.objects.count() == 50


def test_a_file_with_rows_already_stored_stores_only_the_new_ones(world):
    run(rows(10, ids=False))
    result = run(rows(30, ids=False))
    assert (result.created, result.unchanged) == (20, 10)
    assert Signal.objects.count() == 30


@pytest.mark.parametrize("ids", [True, False])
def test_a_duplicate_in_the_file_refuses_it_and_names_the_row(world, ids):
    data = rows(20, ids=ids)
    data.append(data[3 if ids else 4])
    result = run(data)
    assert result.status == ImportJob.Status.REFUSED
    assert [e.row for e in result.errors] == [22]
    assert "first on row" in result.errors[0].reason or "row 6" in result.errors[0].reason
    assert not Signal.objects.exists()


def test_a_bad_last_row_refuses_the_file_and_every_bad_row_is_named(world):
    data = rows(30)
    data[5][0] = "NOPE"
    data.append(["A-1", "logins", "2026-02-30", "1", ""])
    result = run(data)
    assert result.status == ImportJob.Status.REFUSED
    assert [(e.row, e.column) for e in result.errors] == [(7, "account"), (32, "observed_at")]
    assert not Signal.objects.exists()


def test_an_api_batch_inside_a_transaction_goes_in_on_a_savepoint(world):
    records = [dict(zip(HEADER, row, strict=True)) for row in rows(20)]
    with transaction.atomic():
        SignalFactory(source="crm", external_id="e-1")  # item 2 (index 1) is stored already
        result = import_records(
            kind="signals", records=records, options=ImportOptions(source="crm")
        )
        assert (result.created, result.unchanged) == (19, 1)
        assert not went_direct(result)
        result = import_records(
            kind="signals",
            records=records[2:] + [dict(records[0], external_id="new")],
            options=ImportOptions(source="crm"),
        )
    assert result.created == 1 and result.unchanged == 18
    assert Signal.objects.filter(source="crm").count() == 21


def test_writes_lock_the_accounts_they_refer_to_and_refuse_when_one_is_gone(world):
    kept = AccountFactory()
    with transaction.atomic():
        lock_referenced("accounts_account", {kept.pk}, "account(s)")
        with connection.cursor() as cursor:
            # A locked row carries the locker's transaction id: a delete would wait for it.
            cursor.execute(
                "SELECT xmax::text <> '0' FROM accounts_account WHERE id = %s", [kept.pk]
            )
            assert cursor.fetchone()[0]
        with pytest.raises(ImportRefused, match="were deleted while the file"):
            lock_referenced("accounts_account", {kept.pk, kept.pk + 1000}, "account(s)")


def test_signals_have_no_per_row_foreign_key_checks_and_their_keys_are_unique_apart():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "accounts_signal")
        keys = connection.introspection.get_constraints(cursor, "accounts_signalkey")
    assert not [name for name, c in constraints.items() if c["foreign_key"]]
    # Partitioned by month (accounts.partitions): the (source, external id) index is for
    # look-ups, and the keys' own table holds them unique across months.
    lookup = constraints["signal_unique_source_external_id"]
    assert lookup["columns"] == ["source", "external_id"] and not lookup["unique"]
    assert keys["signal_key_unique"]["unique"]
    assert keys["signal_key_unique"]["columns"] == ["source", "external_id"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef('signal_unique_source_external_id'::regclass)")
        assert "WHERE (external_id IS NOT NULL)" in cursor.fetchone()[0]
