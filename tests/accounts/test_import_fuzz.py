"""Fuzzing the reader, the cell parsers and whole imports, plus a corpus of malformed files:
never an exception other than the documented refusals, never a partial write."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.imports import FileRefused, ImportOptions, import_run
from accounts.imports.cells import (
    CellError,
    parse_count,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_float,
)
from accounts.imports.options import Limits
from accounts.imports.reader import table_open
from accounts.models import Account, ImportJob, Metric, Signal
from tests.factories import AccountFactory

LIMITS = Limits(max_bytes=10**6, max_rows=1000, max_field_chars=1000, max_errors=100, batch_rows=7)
DB_EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@given(st.binary(max_size=3000))
@settings(max_examples=300, deadline=None)
def test_the_reader_reads_any_bytes_or_refuses_them(data):
    try:
        table = table_open(io.BytesIO(data), limits=LIMITS)
        for row, cells in table:
            assert row >= 2 and any(cells)
    except FileRefused as exc:
        assert str(exc)


@given(
    st.text(max_size=2000),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]),
)
@settings(max_examples=200, deadline=None)
def test_the_reader_reads_any_text_in_any_encoding_or_refuses_it(text, encoding):
    data = text.encode(encoding, errors="replace")
    try:
        list(table_open(io.BytesIO(data), limits=LIMITS))
    except FileRefused:
        pass


@given(st.text(max_size=40), st.booleans())
@settings(max_examples=500, deadline=None)
def test_the_cell_parsers_return_a_value_or_say_why_not(raw, flag):
    for parse in (
        lambda: parse_float(raw, decimal_comma=flag),
        lambda: parse_count(raw, decimal_comma=flag),
        lambda: parse_decimal(raw, decimal_comma=flag, max_digits=14, places=2),
        lambda: parse_date(raw, day_first=flag),
        lambda: parse_datetime(raw, day_first=flag, tz=dt.UTC, date_at=dt.time(12)),
    ):
        try:
            parse()
        except CellError as exc:
            assert str(exc)


# ---------------------------------------------------------------- whole imports

CELLS = st.one_of(
    st.sampled_from(
        [
            "CRM-1",
            "CRM-404",
            "logins",
            "vibes",
            "2026-11-01",
            "2026-02-30",
            "31.12.2025",
            "1,5",
            "1.234,5",
            "3",
            "",
            '=HYPERLINK("x")',
            "x" * 150,
            "enterprise",
            "adoption",
            "-1",
        ]
    ),
    st.text(max_size=12),
)
FIELDS = {
    "signals": (["account", "metric", "observed_at", "value"], ["external_id", "text", "source"]),
    "accounts": (["external_id"], ["name", "segment", "stage", "start_date", "arr", "status"]),
    "metrics": (["key"], ["name", "unit", "direction", "description"]),
}


@st.composite
def files(draw):
    """A kind, and a file for it: mostly its own columns (in any order, some optional ones,
    now and then a stray one) and rows of plausible and implausible cells."""
    kind = draw(st.sampled_from(sorted(FIELDS)))
    required, optional = FIELDS[kind]
    header = required + draw(st.lists(st.sampled_from(optional), unique=True))
    if draw(st.integers(0, 4)) == 0:
        header.append(draw(st.sampled_from(["extra", "", "Value", "account", "key"])))
    header = draw(st.permutations(header))
    width = len(header)
    rows = draw(
        st.lists(
            st.lists(CELLS, min_size=width, max_size=width) | st.lists(CELLS, max_size=width + 2),
            max_size=25,
        )
    )
    return kind, header, rows


def counts() -> tuple[int, int, int]:
    return Signal.objects.count(), Account.objects.count(), Metric.objects.count()


@pytest.fixture
def stored(db):
    return AccountFactory(external_id="CRM-1", owner=None)


@given(
    file=files(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]),
    skip=st.booleans(),
    day_first=st.booleans(),
)
@DB_EXAMPLES
def test_an_import_of_any_file_is_whole_or_nothing(
    stored, file, delimiter, encoding, skip, day_first
):
    kind, header, rows = file
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    data = text.getvalue().encode(encoding, errors="replace")
    options = ImportOptions(source="fuzz", skip_bad_rows=skip, day_first=day_first)
    with transaction.atomic():
        before = counts()
        result = import_run(kind=kind, file=io.BytesIO(data), options=options)
        after = counts()
        event(f"{kind} {result.status}")
        if result.status == ImportJob.Status.DONE:
            index = {"signals": 0, "accounts": 1, "metrics": 2}[kind]
            assert after[index] - before[index] == result.created
            assert not skip or result.skipped == len(result.rejected_rows)
            assert skip or not result.errors
        else:
            assert result.status == ImportJob.Status.REFUSED and result.message
            assert after == before
        transaction.set_rollback(True)


MALFORMED = {
    "empty": b"",
    "bom only": codecs.BOM_UTF8,
    "utf-16 bom only": codecs.BOM_UTF16_LE,
    "header only": b"account,metric,observed_at,value\n",
    "no header (data first)": b"CRM-1,logins,2026-11-01,1\nCRM-1,logins,2026-11-02,2\n",
    "duplicated headers": b"account,account,metric,observed_at,value\n"
    b"CRM-1,CRM-1,logins,2026-11-01,1\n",
    "extra columns": b"account,metric,observed_at,value\nCRM-1,logins,2026-11-01,1,5,6\n",
    "short rows": b"account,metric,observed_at,value\nCRM-1,logins\n",
    "huge field": b"account,metric,observed_at,value\nCRM-1,logins,2026-11-01,"
    + b"9" * 300_000
    + b"\n",
    "huge text": b"account,metric,observed_at,value,text\nCRM-1,logins,2026-11-01,1,"
    + b"t" * 50_000
    + b"\n",
    "formulas": b'account,metric,observed_at,value\n=cmd|"/c calc"!A1,@SUM(1),+1,-1\n',
    "nul bytes": b"account,metric,observed_at,value\nCRM\x00-1,logins,2026-11-01,1\n",
    "binary": bytes(range(256)) * 40,
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200),
    "utf-16 declared as utf-8 bom": codecs.BOM_UTF8 + "account,value\n".encode("utf-16-le"),
    "utf-32": "account,metric,observed_at,value\nCRM-1,logins,2026-11-01,1\n".encode("utf-32"),
    "unterminated quote": b'account,metric,observed_at,value\n"CRM-1,logins,2026-11-01,1\n',
    "mixed line endings": b"account,metric,observed_at,value\rCRM-1,logins,2026-11-01,1\r\n"
    b"CRM-1,logins,2026-11-02,2\n",
    "mixed encodings": b"account,metric,observed_at,value,text\n"
    + "CRM-1,logins,2026-11-01,1,é\n".encode()
    + b"CRM-1,logins,2026-11-02,1,x\n" * 5000
    + "CRM-1,logins,2026-11-03,1,é\n".encode("cp1252"),
    "one very long line": b"a" * (17 * 1024 * 1024),  # no line break within the limit
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
@pytest.mark.parametrize("kind", ["signals", "accounts", "metrics"])
def test_malformed_files_are_refused_or_imported_never_a_traceback(stored, name, kind):
    before = counts()
    result = import_run(
        kind=kind, file=io.BytesIO(MALFORMED[name]), options=ImportOptions(source="corpus")
    )
    assert result.status in (ImportJob.Status.DONE, ImportJob.Status.REFUSED)
    if result.status == ImportJob.Status.REFUSED:
        assert result.message and counts() == before
        job = ImportJob.objects.get(pk=result.job_id)
        assert job.status == ImportJob.Status.REFUSED and job.error_summary
