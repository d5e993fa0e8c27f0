"""Signal ingestion: atomic, specific errors, re-sent signals stored once."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from accounts.ingest import IngestError, signals_ingest
from accounts.models import Signal
from tests.factories import AccountFactory, MetricFactory, SignalFactory


@pytest.fixture
def account(db):
    return AccountFactory(external_id="CRM-1")


def row(**overrides):
    base = {
        "account": "CRM-1",
        "metric": "logins",
        "observed_at": "2026-11-01",
        "value": "12",
        "external_id": "e-1",
    }
    return {**base, **overrides}


def test_a_re_sent_signal_is_stored_once(account):
    first = signals_ingest(rows=[row()], source="crm")
    again = signals_ingest(rows=[row(), row(external_id="e-2")], source="crm")
    assert (first.created, again.created, again.duplicates) == (1, 1, 1)
    assert Signal.objects.count() == 2


def test_the_database_refuses_a_duplicate_source_and_external_id(account):
    SignalFactory(account=account, source="crm", external_id="x")
    with pytest.raises(IntegrityError):
        SignalFactory(account=account, source="crm", external_id="x")


def test_the_same_external_id_from_another_source_is_another_signal(account):
    signals_ingest(rows=[row()], source="crm")
    signals_ingest(rows=[row()], source="zendesk")
    assert Signal.objects.count() == 2


def test_one_bad_row_writes_nothing_and_says_which_row_and_field(account):
    with pytest.raises(IngestError) as exc:
        signals_ingest(
            rows=[
                row(),
                row(external_id="e-2", value="lots"),
                row(external_id="e-3", metric="vibes"),
                row(external_id="e-4", account="CRM-404"),
                row(external_id="e-5", observed_at="yesterday"),
            ],
            source="crm",
        )
    assert Signal.objects.count() == 0
    text = str(exc.value)
    assert "row 2, value: 'lots' is not a number" in text
    assert "row 3, metric: unknown metric 'vibes'" in text
    assert "row 4, account: no account with external id 'CRM-404'" in text
    assert "row 5, observed_at" in text


def test_duplicate_external_ids_within_one_import_are_an_error(account):
    with pytest.raises(IngestError, match="appears twice"):
        signals_ingest(rows=[row(), row()], source="crm")


def test_csv_import_command(account, tmp_path):
    MetricFactory(key="csat")
    path = tmp_path / "signals.csv"
    path.write_text(
        "account,metric,observed_at,value,category,text,external_id\n"
        "CRM-1,csat,2026-11-01T10:00:00Z,4,,Great,s-1\n"
        "CRM-1,logins,2026-11-02,30,,,s-2\n"
    )
    out = io.StringIO()
    call_command("import_signals", str(path), source="survey", stdout=out)
    assert "Imported 2 signal(s) for 1 account(s)" in out.getvalue()
    call_command("import_signals", str(path), source="survey", stdout=out)
    assert "2 already stored were skipped" in out.getvalue()
    assert Signal.objects.count() == 2


def test_csv_import_names_missing_columns(account, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("account,value\nCRM-1,3\n")
    with pytest.raises(CommandError, match="lacks column.*metric.*observed_at"):
        call_command("import_signals", str(path), source="crm")


def test_csv_row_numbers_match_the_spreadsheet(account, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "account,metric,observed_at,value\nCRM-1,logins,2026-11-01,1\nCRM-1,logins,2026-11-01,x\n"
    )
    with pytest.raises(CommandError, match="row 3, value"):
        call_command("import_signals", str(path), source="crm")
    assert Signal.objects.count() == 0
