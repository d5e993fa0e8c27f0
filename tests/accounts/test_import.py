"""CSV imports of accounts, metrics and signals: every row's fate reported, nothing
half-written, nothing stored twice."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.imports import (
    ImportOptions,
    RowError,
    import_preview,
    import_run,
    rejects_write,
)
from accounts.ingest import signals_ingest
from accounts.models import (
    Account,
    ImportJob,
    JourneyStage,
    Metric,
    Note,
    Segment,
    Signal,
    StageChange,
)
from accounts.signals import signals_ingested
from tests.factories import AccountFactory, MetricFactory, SignalFactory, UserFactory

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
SIGNAL_HEADER = ["account", "metric", "observed_at", "value", "external_id"]


def csv_file(rows, *, header=SIGNAL_HEADER, delimiter=",", encoding="utf-8") -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode(encoding))


def run(kind="signals", rows=(), *, header=SIGNAL_HEADER, **options) -> object:
    dry_run = options.pop("dry_run", False)
    options.setdefault("source", "crm") if kind == "signals" else None
    return import_run(
        kind=kind,
        file=csv_file(rows, header=header),
        options=ImportOptions(**options),
        dry_run=dry_run,
    )


@pytest.fixture
def account(db):
    return AccountFactory(external_id="CRM-1", owner=None)


def signal_rows(n, *, account="CRM-1", with_ids=True):
    start = dt.date(2026, 1, 1)
    return [
        [
            account,
            "logins",
            (start + dt.timedelta(days=i % 300)).isoformat(),
            str(i),
            f"{account}-{i}" if with_ids else "",
        ]
        for i in range(n)
    ]


# ---------------------------------------------------------------- the examples


def test_the_example_files_import_in_order(db):
    UserFactory(username="csm1", email="csm1@healthboard.example")
    results = {}
    for kind in ("accounts", "metrics", "signals"):
        with open(EXAMPLES / f"{kind}.csv", "rb") as file:
            results[kind] = import_run(kind=kind, file=file, file_name=f"{kind}.csv")
        assert results[kind].ok, results[kind].message

    assert (results["accounts"].created, results["metrics"].created) == (3, 2)
    assert results["metrics"].updated == 0  # logins is in the catalogue as the file says
    assert results["signals"].created == 6
    acme = Account.objects.get(external_id="ACME-001")
    assert acme.name == "Acme Corporation" and acme.arr == Decimal("120000.00")
    assert acme.owner.email == "csm1@healthboard.example" and acme.segment.slug == "enterprise"
    assert acme.stage.slug == "adoption" and acme.renewal_date == dt.date(2027, 3, 1)
    initech = Account.objects.get(external_id="ACME-003")
    assert initech.status == "churned" and initech.churn_date == dt.date(2026, 1, 10)
    assert Metric.objects.get(key="open_bugs").direction == Metric.Direction.HIGHER_IS_WORSE
    assert set(Signal.objects.values_list("source", flat=True)) == {
        "product",
        "zendesk",
        "crm",
        "survey",
    }
    assert ImportJob.objects.filter(status=ImportJob.Status.DONE).count() == 3


# ---------------------------------------------------------------- all or nothing


def test_one_bad_row_among_many_writes_nothing_and_names_that_row(account, settings):
    settings.IMPORT_BATCH_ROWS = 500  # the bad row is in the ninth batch
    rows = signal_rows(5000)
    rows[4321][3] = "lots"
    result = run(rows=rows)
    assert result.status == ImportJob.Status.REFUSED
    assert result.errors == [RowError(4323, "value", "'lots' is not a number")]
    assert "nothing imported" in result.message
    assert Signal.objects.count() == 0
    job = ImportJob.objects.get(pk=result.job_id)
    assert job.status == ImportJob.Status.REFUSED and job.rows_written == 0
    assert job.rows_read == 5000 and "row 4323, value" in job.error_summary


def test_the_same_file_twice_stores_nothing_new(account):
    rows = signal_rows(300) + signal_rows(300, with_ids=False)[:200]
    rows = [row for i, row in enumerate(rows) if i < 300 or int(row[3]) < 200]
    first, again = run(rows=rows), run(rows=rows)
    assert (first.created, first.unchanged) == (500, 0)
    assert (again.created, again.unchanged) == (0, 500)
    assert Signal.objects.count() == 500


def test_signals_without_an_external_id_are_stored_once_through_the_batch_entry_too(account):
    row = {"account": "CRM-1", "metric": "logins", "observed_at": "2026-11-01", "value": "3"}
    first = signals_ingest(rows=[row], source="crm")
    again = signals_ingest(rows=[row, {**row, "value": "4"}], source="crm")
    assert (first.created, again.created, again.duplicates) == (1, 1, 1)
    assert Signal.objects.count() == 2


def test_a_stored_signal_with_an_id_is_not_a_duplicate_of_the_same_values_without_one(account):
    SignalFactory(
        account=account,
        metric=MetricFactory(),
        observed_at=dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC),
        value=3,
        source="crm",
        external_id="x-1",
    )
    assert run(rows=[["CRM-1", "logins", "2026-11-01", "3", ""]]).created == 1


def test_skip_bad_rows_writes_the_good_rows_and_returns_the_rejects(account):
    rows = signal_rows(10)
    rows[2][0] = "CRM-404"
    rows[7][3] = "=1+2"
    file = csv_file(rows)
    result = import_run(
        kind="signals", file=file, options=ImportOptions(source="crm", skip_bad_rows=True)
    )
    assert result.ok and (result.created, result.skipped) == (8, 2)
    assert result.rejected_rows == [4, 9]
    assert Signal.objects.count() == 8

    out = io.StringIO(newline="")
    file.seek(0)
    assert rejects_write(file=file, result=result, out=out) == 2
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[0] == ["row", "errors", *SIGNAL_HEADER]
    assert lines[1] == ["4", "account: no account with external id 'CRM-404'", *rows[2]]
    # A formula is neutralised before a spreadsheet opens the rejects.
    assert lines[2][:2] == ["9", "value: '=1+2' is not a number"]
    assert lines[2][5] == "'=1+2"


def test_every_kind_of_row_error_with_its_row_column_and_reason(account, settings):
    settings.IMPORT_MAX_FIELD_CHARS = 50
    header = [*SIGNAL_HEADER, "category", "text"]
    good = ["CRM-1", "logins", "2026-11-01", "1", "", "", ""]
    rows = [
        good,
        ["CRM-404", *good[1:]],
        ["CRM-1", "vibes", *good[2:]],
        ["CRM-1", "logins", "2026-11-02", "lots", "", "", ""],
        ["CRM-1", "logins", "yesterday", "1", "", "", ""],
        ["CRM-1", "logins", "2026-02-30", "1", "", "", ""],
        ["CRM-1", "logins", "2026-11-03", "1", "dup", "", ""],
        ["CRM-1", "logins", "2026-11-04", "2", "dup", "", ""],
        good,  # the same signal as row 2, and neither has an id
        ["", "logins", "2026-11-05", "", "", "", ""],
        ["CRM-1", "logins", "2026-11-06", "1", "x" * 101, "c" * 61, "t" * 51],
        ["CRM-1", "logins", "2026-11-07", "1", "", "", "", "extra"],
        ["CRM-1", "logins", "2099-01-01", "1", "", "", ""],
    ]
    result = run(rows=rows, header=header)
    assert Signal.objects.count() == 0
    reasons = {(e.row, e.column): e.reason for e in result.errors}
    assert reasons == {
        (3, "account"): "no account with external id 'CRM-404'",
        (4, "metric"): "unknown metric 'vibes'",
        (5, "value"): "'lots' is not a number",
        (6, "observed_at"): "'yesterday' is not a date (YYYY-MM-DD)",
        (7, "observed_at"): "'2026-02-30' is not a valid date (day is out of range for month)",
        (9, "external_id"): "'dup' appears twice in this import (first on row 8)",
        (10, "value"): (
            "the same signal as row 2 (account, metric, time, value and source; give the "
            "signals external ids to keep both)"
        ),
        (11, "account"): "a value is required",
        (11, "value"): "a value is required",
        (12, "external_id"): "longer than 100 characters",
        (12, "category"): "longer than 60 characters",
        (12, "text"): "longer than 50 characters",
        (13, "(row)"): (
            "8 cells but the header has 7 columns: quote the values that contain the delimiter"
        ),
        (14, "observed_at"): "2099-01-01 12:00 is in the future",
    }
    assert result.rejected_rows == [3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14]


def test_too_many_errors_stop_reading_and_say_why(account, settings):
    settings.IMPORT_MAX_ERRORS = 10
    settings.IMPORT_BATCH_ROWS = 5
    rows = [["CRM-1", "logins", "2026-11-01", "x", f"s-{i}"] for i in range(100)]
    result = run(rows=rows, skip_bad_rows=True)
    assert result.status == ImportJob.Status.REFUSED
    assert result.message.startswith("More than 10 problems (stopped at row")
    assert result.rows_read < 100
    assert Signal.objects.count() == 0


def test_the_limits_refuse_the_file_with_their_names(account, settings):
    settings.IMPORT_MAX_ROWS = 10
    result = run(rows=signal_rows(11))
    assert result.status == ImportJob.Status.REFUSED
    assert "more than 10 rows" in result.message and "IMPORT_MAX_ROWS" in result.message
    assert ImportJob.objects.get().error_summary.startswith("The file has more than 10 rows")


# ---------------------------------------------------------------- preview and mapping


def test_preview_shows_the_mapping_the_first_rows_and_every_error_and_writes_nothing(account):
    header = ["Customer ID", "Metric key", "Date", "Amount", "Ticket ID", "Colour"]
    rows = [[*row, "blue"] for row in signal_rows(50)]
    rows[40][3] = "n/a"
    result = import_preview(
        kind="signals",
        file=csv_file(rows, header=header),
        options=ImportOptions(source="crm"),
        rows=3,
    )
    assert result.mapping == {
        "account": "Customer ID",
        "metric": "Metric key",
        "observed_at": "Date",
        "value": "Amount",
        "external_id": "Ticket ID",
    }
    assert result.unused_columns == ["Colour"]
    assert [r["row"] for r in result.preview] == [2, 3, 4]
    assert result.preview[0] | {"observed_at": None} == {
        "row": 2,
        "account": "CRM-1",
        "metric": "logins",
        "observed_at": None,
        "value": 0.0,
        "category": "",
        "text": "",
        "source": "crm",
        "external_id": "CRM-1-0",
    }
    assert result.errors == [RowError(42, "Amount", "'n/a' is not a number")]
    assert (result.encoding, result.delimiter) == ("UTF-8", ",")
    assert not Signal.objects.exists() and not ImportJob.objects.exists()


def test_a_dry_run_counts_what_it_would_write(account):
    run(rows=signal_rows(5))
    result = run(rows=signal_rows(8), dry_run=True)
    assert result.ok and (result.created, result.unchanged) == (3, 5)
    assert result.summary().startswith("Would import 3 new")
    assert Signal.objects.count() == 5 and ImportJob.objects.count() == 1


def test_an_explicit_mapping_overrides_the_match_and_missing_columns_are_named(account):
    header = ["Kunde", "metric", "Zeitpunkt", "value"]
    rows = [["CRM-1", "logins", "2026-11-01", "2"]]
    refused = run(rows=rows, header=header)
    assert refused.status == ImportJob.Status.REFUSED
    assert refused.message.startswith("The file lacks column(s) account, observed_at")
    done = run(rows=rows, header=header, mapping={"account": "Kunde", "observed_at": "Zeitpunkt"})
    assert done.ok and done.created == 1
    wrong = run(rows=rows, header=header, mapping={"account": "Customer"})
    assert "the file has no column 'Customer' (for account)" in wrong.message


def test_a_column_named_twice_is_refused_not_guessed(account):
    result = run(
        rows=[["CRM-1", "logins", "2026-11-01", "1", "2"]], header=SIGNAL_HEADER[:4] + ["Value"]
    )
    assert result.status == ImportJob.Status.REFUSED
    assert "both look like Value" in result.message


def test_without_a_source_column_or_name_the_file_is_refused(account):
    result = import_run(kind="signals", file=csv_file(signal_rows(1)))
    assert result.status == ImportJob.Status.REFUSED
    assert "no source column" in result.message


# ---------------------------------------------------------------- files as teams have them


def test_a_semicolon_file_with_decimal_commas_and_day_first_dates_in_windows_1252(account):
    header = ["Konto", "Metrik", "Dato", "Værdi", "Tekst"]
    rows = [
        ["CRM-1", "logins", "31.10.2026", "1.234,5", "Kunden er glad – æøå"],
        ["CRM-1", "logins", "01/11/2026 14:30", "12,25", ""],
    ]
    file = csv_file(rows, header=header, delimiter=";", encoding="cp1252")
    mapping = {
        "account": "Konto",
        "metric": "Metrik",
        "observed_at": "Dato",
        "value": "Værdi",
        "text": "Tekst",
    }
    options = ImportOptions(source="crm", day_first=True, mapping=mapping)
    result = import_run(kind="signals", file=file, options=options)
    assert result.ok, result.errors
    assert (result.encoding, result.delimiter) == ("Windows-1252", ";")
    signals = list(Signal.objects.order_by("observed_at"))
    assert [s.value for s in signals] == [1234.5, 12.25]
    assert signals[0].observed_at == dt.datetime(2026, 10, 31, 12, tzinfo=dt.UTC)
    assert signals[0].text == "Kunden er glad – æøå"
    assert signals[1].observed_at == dt.datetime(2026, 11, 1, 14, 30, tzinfo=dt.UTC)

    file.seek(0)
    month_first = import_run(
        kind="signals", file=file, options=ImportOptions(source="crm", mapping=mapping)
    )
    assert "choose day-first dates" in month_first.errors[0].reason


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-8"])
def test_utf_encodings_with_and_without_a_bom(account, encoding):
    rows = [["CRM-1", "logins", "2026-11-01", "1", "naïve-1"]]
    result = import_run(
        kind="signals", file=csv_file(rows, encoding=encoding), options=ImportOptions(source="crm")
    )
    assert result.ok and Signal.objects.get().external_id == "naïve-1"


# ---------------------------------------------------------------- accounts and metrics


ACCOUNT_HEADER = ["external_id", "name", "segment", "stage", "start date", "arr", "seats", "owner"]


def test_accounts_upsert_by_external_id_and_an_empty_cell_keeps_the_stored_value(db):
    owner = UserFactory(email="Pat@Example.com")
    stored = AccountFactory(external_id="A-1", arr=Decimal("10"), seats=5, plan="Gold")
    rows = [
        ["A-1", "", "", "", "", "2.500,50", "", "pat@example.com"],
        ["A-2", "Newco", "smb", "Onboarding", "2026-10-01", "", "3", ""],
    ]
    result = run("accounts", rows, header=ACCOUNT_HEADER, decimal_comma=True)
    assert result.ok and (result.created, result.updated) == (1, 1)
    stored.refresh_from_db()
    assert (stored.arr, stored.seats, stored.plan, stored.owner) == (
        Decimal("2500.50"),
        5,
        "Gold",
        owner,
    )
    new = Account.objects.get(external_id="A-2")
    assert (new.name, new.segment.slug, new.stage.slug, new.seats) == (
        "Newco",
        "smb",
        "onboarding",
        3,
    )
    assert (new.arr, new.status, new.owner) == (0, "active", None)
    again = run("accounts", rows, header=ACCOUNT_HEADER, decimal_comma=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_a_new_account_needs_its_name_segment_stage_and_start_date(db):
    result = run("accounts", [["A-9", "", "", "", "", "", "", ""]], header=ACCOUNT_HEADER)
    assert {(e.column, e.reason) for e in result.errors} == {
        (column, "a value is required for a new account")
        for column in ("name", "segment", "stage", "start date")
    }


def test_unknown_segments_and_stages_list_the_known_ones_or_are_created_when_asked(db):
    rows = [["A-1", "Newco", "Startups", "Hypergrowth", "2026-10-01", "", "", ""]]
    refused = run("accounts", rows, header=ACCOUNT_HEADER)
    assert [e.reason for e in refused.errors] == [
        "unknown segment 'Startups' (known: Enterprise, Mid-market, SMB; or create missing ones)",
        "unknown journey stage 'Hypergrowth' (known: "
        + ", ".join(JourneyStage.objects.values_list("name", flat=True))
        + "; or create missing ones)",
    ]
    created = run("accounts", rows, header=ACCOUNT_HEADER, create_missing=True)
    assert created.ok and created.notes == [
        "created segment 'Startups'",
        "created journey stage 'Hypergrowth'",
    ]
    account = Account.objects.get(external_id="A-1")
    assert account.segment == Segment.objects.get(slug="startups")
    assert account.stage.name == "Hypergrowth"


def test_a_changed_stage_is_recorded_as_a_stage_change_with_a_note(db):
    admin = UserFactory()
    account = AccountFactory(external_id="A-1", stage=JourneyStage.objects.get(slug="adoption"))
    import_run(
        kind="accounts",
        file=csv_file([["A-1", "renewal"]], header=["external_id", "stage"]),
        user=admin,
    )
    account.refresh_from_db()
    change = StageChange.objects.get(account=account)
    assert (change.from_stage.slug, change.to_stage.slug, change.changed_by) == (
        "adoption",
        "renewal",
        admin,
    )
    assert account.stage.slug == "renewal" and account.stage_since == dt.date.today()
    note = Note.objects.get(account=account, kind=Note.Kind.STAGE_CHANGE)
    assert note.body == "Stage changed from Adoption to Renewal (import)."


def test_account_cells_are_checked(db):
    rows = [["A-1", "X", "smb", "adoption", "2026-02-30", "-5", "2.5", "nobody@example.com"]]
    result = run("accounts", rows, header=ACCOUNT_HEADER)
    assert {(e.column, e.reason) for e in result.errors} == {
        ("start date", "'2026-02-30' is not a valid date (day is out of range for month)"),
        ("arr", "'-5' is negative; ARR is 0 or more"),
        ("seats", "'2.5' is not a whole number of 0 or more"),
        ("owner", "no user with e-mail 'nobody@example.com'"),
    }


def test_metrics_upsert_by_key(db):
    header = ["key", "name", "direction", "unit"]
    rows = [["logins", "", "", "per week"], ["nps_comment", "NPS comment", "more is worse", ""]]
    result = run("metrics", rows, header=header)
    assert result.ok and (result.created, result.updated) == (1, 1)
    assert Metric.objects.get(key="logins").unit == "per week"
    assert Metric.objects.get(key="nps_comment").direction == -1
    bad = run(
        "metrics", [["no spaces", "X", "sideways", ""], ["new_one", "", "", ""]], header=header
    )
    assert {(e.row, e.reason) for e in bad.errors} == {
        (2, "'no spaces' may only hold letters, digits, - and _"),
        (2, "'sideways' is not a direction (1 or 'more is better', -1 or 'more is worse')"),
        (3, "a value is required for a new metric"),
    }


# ---------------------------------------------------------------- after the commit


def test_only_accounts_with_new_signals_are_announced_after_the_commit(
    account, django_capture_on_commit_callbacks
):
    other = AccountFactory(external_id="CRM-2")
    run(rows=signal_rows(3))
    announced = []

    def receiver(sender, account_ids, **kwargs):
        announced.append(set(account_ids))

    signals_ingested.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = run(rows=signal_rows(3) + signal_rows(2, account="CRM-2"))
    finally:
        signals_ingested.disconnect(receiver)
    assert announced == [{other.pk}] and result.rescore_scheduled is True


# ---------------------------------------------------------------- the command


def write(tmp_path, rows, header=SIGNAL_HEADER, name="signals.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(csv_file(rows, header=header).getvalue())
    return path


def test_import_csv_command_imports_and_reports(account, tmp_path):
    path = write(tmp_path, signal_rows(4))
    out = io.StringIO()
    call_command("import_csv", "signals", str(path), source="crm", no_progress=True, stdout=out)
    assert "Imported 4 signal(s) for 1 account(s); 0 already stored were skipped" in out.getvalue()
    job = ImportJob.objects.get()
    assert (job.kind, job.file_name, job.rows_read, job.rows_written) == (
        "signals",
        "signals.csv",
        4,
        4,
    )
    assert job.file_size == path.stat().st_size and job.duration is not None


def test_import_csv_dry_run_writes_nothing(account, tmp_path):
    out = io.StringIO()
    path = write(tmp_path, signal_rows(4))
    call_command(
        "import_csv", "signals", str(path), "--dry-run", "--source=crm", "--no-progress", stdout=out
    )
    assert "Would import 4 new" in out.getvalue()
    assert not Signal.objects.exists() and not ImportJob.objects.exists()


def test_import_csv_exits_non_zero_naming_the_rows_when_nothing_was_written(account, tmp_path):
    rows = signal_rows(4)
    rows[1][3] = "x"
    path = write(tmp_path, rows)
    with pytest.raises(
        CommandError, match=r"(?s)nothing imported.*row 3, value: 'x' is not a number"
    ):
        call_command("import_csv", "signals", str(path), "--source=crm", "--no-progress")
    every = write(tmp_path, [["CRM-404", "logins", "2026-11-01", "1", "a"]], name="all-bad.csv")
    with pytest.raises(CommandError, match="every row was bad"):
        call_command(
            "import_csv", "signals", str(every), "--source=crm", "--skip-bad-rows", "--no-progress"
        )


def test_import_csv_skips_bad_rows_and_writes_the_rejects(account, tmp_path):
    rows = signal_rows(4)
    rows[1][0] = "CRM-404"
    path = write(tmp_path, [[*row, "extra"] for row in rows], header=[*SIGNAL_HEADER, "note"])
    rejects = tmp_path / "rejects.csv"
    out = io.StringIO()
    call_command(
        "import_csv",
        "signals",
        str(path),
        "--source=crm",
        "--skip-bad-rows",
        f"--rejects={rejects}",
        "--map=text=note",
        "--no-progress",
        stdout=out,
    )
    assert "skipped row 3, account: no account with external id 'CRM-404'" in out.getvalue()
    assert "Wrote 1 rejected row(s)" in out.getvalue()
    assert rejects.read_text().splitlines()[1].startswith("3,account: no account")
    assert Signal.objects.count() == 3 and set(Signal.objects.values_list("text", flat=True)) == {
        "extra"
    }
