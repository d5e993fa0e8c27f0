"""Exports in the import's own columns: an accounts, metrics or signals export re-imports to
the same data. Sent back over the stored data it writes nothing; imported into an empty
table it stores the same values (money to the cent, times to the microsecond with their
time zone, empty optional fields, unicode, commas, quotes, line breaks, formulas)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.exports import account_rows, export_header, metric_rows, signal_rows
from accounts.imports import ImportOptions, import_run, kind_columns
from accounts.models import Account, ImportJob, Metric, Signal
from healthboard.lib.csvfile import csv_lines
from tests.factories import (
    AccountFactory,
    JourneyStageFactory,
    MetricFactory,
    SegmentFactory,
    SignalFactory,
    UserFactory,
)

pytestmark = pytest.mark.postgres

# Names a spreadsheet would run as formulas, and text a CSV writer must quote.
AWKWARD = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A9)",
    "'=already quoted once",
    "Comma, Inc.",
    'The "Quoted" Company',
    "Line one\nline two",
    "Ærøskøbing Café — 東京 ☕",
    "O'Brien's",
]

ACCOUNT_FIELDS = [
    "external_id",
    "name",
    "owner_id",
    "segment_id",
    "industry",
    "arr",
    "plan",
    "seats",
    "start_date",
    "renewal_date",
    "stage_id",
    "status",
    "churn_date",
]
SIGNAL_FIELDS = [
    "account_id",
    "metric_id",
    "observed_at",
    "value",
    "category",
    "text",
    "source",
    "external_id",
]


def csv_file(kind: str, rows) -> io.BytesIO:
    """The export as the browser receives it: the one CSV writer's lines."""
    return io.BytesIO("".join(csv_lines(export_header(kind), rows)).encode())


def accounts_state() -> list[tuple]:
    return list(Account.objects.order_by("external_id").values_list(*ACCOUNT_FIELDS))


def signals_state() -> list[tuple]:
    return sorted(
        Signal.objects.values_list(*SIGNAL_FIELDS), key=lambda row: (row[2], row[3], row[5])
    )


@pytest.fixture
def accounts(db):
    owner = UserFactory(email="Owner.One@Example.com")
    segment = SegmentFactory(slug="mid-market")
    stage = JourneyStageFactory(slug="onboarding")
    made = [
        AccountFactory(
            external_id=f"RT-{i:02d}",
            name=name,
            owner=owner if i % 2 else None,
            segment=segment if i % 3 else SegmentFactory(),
            stage=stage if i % 2 else JourneyStageFactory(),
            industry=AWKWARD[-i] if i % 4 else "",
            plan="" if i % 5 == 0 else "Business, annual",
            arr=[Decimal("0.00"), Decimal("1234567.89"), Decimal("0.10"), Decimal("99.99")][i % 4],
            seats=i * 7,
            renewal_date=None if i % 3 == 0 else dt.date(2027, 2, 28) + dt.timedelta(days=i),
            status=Account.Status.CHURNED if i == 4 else Account.Status.ACTIVE,
            churn_date=dt.date(2026, 10, 31) if i == 4 else None,
        )
        for i, name in enumerate(AWKWARD)
    ]
    return made


def test_the_header_is_the_import_columns_in_their_order() -> None:
    for kind in ("accounts", "metrics", "signals"):
        assert export_header(kind) == [column.label for column in kind_columns(kind)]


def test_an_accounts_export_sent_back_writes_nothing(accounts, django_assert_max_num_queries):
    before = accounts_state()

    with django_assert_max_num_queries(2):
        file = csv_file("accounts", account_rows(Account.objects.order_by("pk")))
    result = import_run(kind="accounts", file=file, file_name="accounts.csv")

    assert result.ok, (result.message, result.errors)
    assert (result.rows_read, result.created, result.updated) == (len(accounts), 0, 0)
    assert result.unchanged == len(accounts)
    assert ImportJob.objects.get(pk=result.job_id).rows_written == 0
    assert accounts_state() == before


def test_an_accounts_export_imported_afresh_stores_the_same_accounts(accounts):
    before = accounts_state()
    file = csv_file("accounts", account_rows(Account.objects.all()))
    Account.objects.all().delete()

    result = import_run(kind="accounts", file=file)

    assert result.ok, (result.message, result.errors)
    assert result.created == len(accounts)
    assert accounts_state() == before
    names = set(Account.objects.values_list("name", flat=True))
    assert '=HYPERLINK("http://evil.example","click")' in names  # the apostrophe is off
    assert "'=already quoted once" in names  # and only the one the export added


def test_an_owner_the_import_cannot_find_is_left_empty_so_it_is_kept(db):
    gone = UserFactory(email="gone@example.com", is_active=False)
    account = AccountFactory(owner=gone)

    rows = list(account_rows(Account.objects.all()))
    result = import_run(kind="accounts", file=csv_file("accounts", rows))

    assert rows[0][export_header("accounts").index("Owner e-mail")] == ""
    assert result.ok and result.updated == 0
    account.refresh_from_db()
    assert account.owner == gone


def test_the_formulas_are_neutralised_in_the_file(accounts):
    text = csv_file("accounts", account_rows(Account.objects.order_by("external_id"))).read()

    names = [row[1] for row in csv.reader(io.StringIO(text.decode()))][1:]
    assert names[:5] == [
        '\'=HYPERLINK("http://evil.example","click")',
        "'+1+2",
        "'-2+3",
        "'@SUM(A1:A9)",
        "''=already quoted once",
    ]


@pytest.fixture
def signals(db, settings):
    # Not UTC, and not a whole hour: the offset must travel with the time.
    settings.TIME_ZONE = "America/St_Johns"
    account = AccountFactory(external_id="SIG-1")
    other = AccountFactory(external_id='Ünïcode, "quoted"')
    csat = MetricFactory(key="csat", category="Sentiment")
    base = dt.datetime(2026, 11, 20, 9, 15, 30, 123456, tzinfo=dt.UTC)
    values = [0.1, 1e-7, -3.5, 123456789.123456, 2 / 3, 0.0, 42.0, 5e20, -0.25, 7.0]
    made = []
    for i, (value, text) in enumerate(zip(values, AWKWARD, strict=True)):
        made.append(
            SignalFactory(
                account=other if i % 3 == 0 else account,
                metric=csat if i % 2 else MetricFactory(),
                observed_at=base - dt.timedelta(days=i, microseconds=i),
                value=value,
                category="" if i % 2 else text[:40],
                text=text,
                source="zendesk" if i % 2 else "=crm",
                external_id=f"ext-{i}" if i < 5 else None,
            )
        )
    return made


def test_a_signals_export_sent_back_stores_nothing_new(signals, django_assert_max_num_queries):
    before = signals_state()

    with django_assert_max_num_queries(1):
        file = csv_file("signals", signal_rows(Signal.objects.order_by("-observed_at")))
    result = import_run(kind="signals", file=file)

    assert result.ok, (result.message, result.errors)
    assert (result.rows_read, result.created, result.unchanged) == (len(signals), 0, len(signals))
    assert ImportJob.objects.get(pk=result.job_id).rows_written == 0
    assert signals_state() == before


def test_a_signals_export_imported_afresh_stores_the_same_signals(signals):
    before = signals_state()
    file = csv_file("signals", signal_rows(Signal.objects.all()))
    Signal.objects.all().delete()

    result = import_run(kind="signals", file=file)

    assert result.ok, (result.message, result.errors)
    assert result.created == len(signals)
    assert signals_state() == before


def test_signal_times_carry_the_time_zone_and_microseconds(signals):
    file = csv_file("signals", signal_rows(Signal.objects.filter(pk=signals[0].pk)))

    rows = list(csv.reader(io.StringIO(file.read().decode())))
    observed = rows[1][export_header("signals").index("Observed at")]
    assert observed == "2026-11-20T05:45:30.123456-03:30"
    assert dt.datetime.fromisoformat(observed) == signals[0].observed_at
    assert timezone.get_current_timezone_name() == "America/St_Johns"


def test_a_metrics_export_sent_back_writes_nothing(db, django_assert_max_num_queries):
    MetricFactory(key="odd_one", name='Odd, "one"', unit="", category="", description="=1+1")
    before = list(Metric.objects.order_by("key").values())

    with django_assert_max_num_queries(1):
        file = csv_file("metrics", metric_rows(Metric.objects.order_by("key")))
    result = import_run(kind="metrics", file=file)

    assert result.ok, (result.message, result.errors)
    assert (result.created, result.updated) == (0, 0)
    assert result.unchanged == len(before) > 10
    assert list(Metric.objects.order_by("key").values()) == before


def test_a_signals_export_re_imports_with_the_source_option_too(signals):
    """The file has its own source column; a --source given anyway does not override it."""
    file = csv_file("signals", signal_rows(Signal.objects.all()))

    result = import_run(kind="signals", file=file, options=ImportOptions(source="other"))

    assert result.ok and result.created == 0


# ---------------------------------------------------------------- from the shell


def test_export_csv_writes_what_import_csv_reads_back_unchanged(signals, accounts, tmp_path):
    from django.core.management import call_command

    before = (accounts_state(), signals_state())
    for kind in ("accounts", "metrics", "signals"):
        path = tmp_path / f"{kind}.csv"
        err = io.StringIO()
        call_command("export_csv", kind, str(path), stderr=err)
        assert f"Wrote {len(list(csv.reader(path.open(newline='')))) - 1:,} {kind}" in (
            err.getvalue()
        )
        result = import_run(kind=kind, file=path.open("rb"))
        assert result.ok and (result.created, result.updated) == (0, 0), result.errors

    assert (accounts_state(), signals_state()) == before


def test_export_csv_writes_one_accounts_signals_to_standard_output(signals):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("export_csv", "signals", "--account", "SIG-1", stdout=out)

    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == export_header("signals")
    assert {row[0] for row in rows[1:]} == {"SIG-1"}
    assert len(rows) - 1 == Signal.objects.filter(account__external_id="SIG-1").count()


def test_export_csv_of_an_unknown_account_says_so(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no account with external id 'NOPE'"):
        call_command("export_csv", "signals", "--account", "NOPE", stdout=io.StringIO())
