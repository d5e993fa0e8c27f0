"""Reading files as teams have them: encodings, delimiters, limits, streaming; and the cell
parsers (decimal commas, day-first dates)."""

import codecs
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import translation

from accounts.imports import FileRefused
from accounts.imports.cells import (
    CellError,
    parse_count,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_float,
)
from accounts.imports.options import Limits
from accounts.imports.reader import CHUNK_BYTES, SAMPLE_BYTES, table_open

LIMITS = Limits(
    max_bytes=10**9, max_rows=10**7, max_field_chars=10_000, max_errors=100, batch_rows=100
)
TEXT = "account;metric;observed_at;value;text\nCRM-1;logins;2026-11-01;1,5;Café «crème» – 10 €\n"


def read(data: bytes, **kwargs):
    table = table_open(io.BytesIO(data), limits=kwargs.pop("limits", LIMITS), **kwargs)
    return table, list(table)


@pytest.mark.parametrize(
    ("encoded", "label"),
    [
        (TEXT.encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "UTF-8 (BOM)"),
        (TEXT.encode("utf-16"), "UTF-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "UTF-16"),
        (TEXT.encode("utf-16-le"), "UTF-16 LE"),
        (TEXT.encode("cp1252"), "Windows-1252"),
    ],
)
def test_it_reads_the_encodings_spreadsheets_write(encoded, label):
    table, rows = read(encoded)
    assert table.header == ["account", "metric", "observed_at", "value", "text"]
    assert rows == [(2, ["CRM-1", "logins", "2026-11-01", "1,5", "Café «crème» – 10 €"])]
    assert table.encoding_label == label


def test_windows_1252_after_a_long_ascii_start_still_reads():
    # The first accented name sits far beyond the detection sample.
    data = b"name,value\n" + b"plain,1\n" * 40_000 + "Zoë,2\n".encode("cp1252")
    table, rows = read(data)
    assert rows[-1] == (40_002, ["Zoë", "2"])
    assert table.encoding_label == "Windows-1252"


def test_a_file_mixing_utf8_and_windows_1252_is_refused_with_a_message():
    data = "name,value\nZoë,1\n".encode() + b"x,1\n" * 40_000 + "Zoë,2\n".encode("cp1252")
    with pytest.raises(FileRefused, match="mixes UTF-8 with another encoding"):
        read(data)


def test_an_explicit_encoding_that_does_not_fit_is_refused_with_a_message():
    with pytest.raises(FileRefused, match="cannot be read as UTF-8"):
        read(TEXT.encode("cp1252"), encoding="utf-8")
    with pytest.raises(FileRefused, match="Unknown encoding"):
        read(TEXT.encode(), encoding="klingon")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_it_finds_the_delimiter(delimiter):
    data = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", '"x, y; z"', "3"]) + "\n"
    table, rows = read(data.encode())
    assert table.delimiter == delimiter
    assert rows == [(2, ["1", "x, y; z", "3"])]


def test_a_semicolon_file_with_decimal_commas_is_read_as_semicolon_delimited():
    table, _ = read(b"a;b;c\n1,5;2,25;x\n3,0;4;y\n")
    assert table.delimiter == ";"


def test_row_numbers_are_the_spreadsheet_rows_with_blank_rows_skipped_and_quoted_newlines():
    data = b'a,b\r\n1,"two\r\nlines"\r\n\r\n,\r\n3,4'
    _, rows = read(data)
    assert rows == [(2, ["1", "two\r\nlines"]), (5, ["3", "4"])]


@pytest.mark.parametrize("data", [b"", b"   \n\n", codecs.BOM_UTF8, b",,\n1,2,3\n"])
def test_an_empty_file_or_header_is_refused(data):
    with pytest.raises(FileRefused, match="empty|no column names"):
        read(data)


def test_limits_refuse_with_the_limit_named():
    data = b"a,b\n" + b"1,2\n" * 1000
    with pytest.raises(FileRefused, match="more than 100 rows.*IMPORT_MAX_ROWS"):
        read(data, limits=Limits(10**9, 100, 100, 100, 10))
    with pytest.raises(FileRefused, match="larger than 1,000 bytes.*IMPORT_MAX_FILE_BYTES"):
        read(data, limits=Limits(1000, 10**6, 100, 100, 10))
    with pytest.raises(FileRefused, match="longer than 131,072 characters"):
        read(b"a,b\n" + b"x" * 200_000 + b",1\n")


class RecordingFile(io.BytesIO):
    """Remembers the largest read asked of it."""

    largest = 0

    def read(self, size=-1):
        self.largest = max(self.largest, size if size >= 0 else 10**12)
        return super().read(size)


def test_the_file_is_streamed_never_read_whole():
    data = b"account,metric,observed_at,value\n" + b"CRM-1,logins,2026-11-01,1\n" * 200_000
    file = RecordingFile(data)
    table = table_open(file, limits=LIMITS)
    rows = iter(table)
    next(rows)
    assert table.bytes_read <= SAMPLE_BYTES + CHUNK_BYTES < len(data) // 10
    assert sum(1 for _ in rows) == 199_999
    assert file.largest <= max(SAMPLE_BYTES, CHUNK_BYTES)


# ---------------------------------------------------------------- cells


@pytest.mark.parametrize(
    ("raw", "decimal_comma", "value"),
    [
        ("12", False, 12.0),
        ("0.75", False, 0.75),
        ("1,234.5", False, 1234.5),
        ("1.234,5", True, 1234.5),
        ("1234,5", True, 1234.5),
        ("-1.234.567,8", True, -1234567.8),
        ("1 234,5", True, 1234.5),
        ("7", True, 7.0),
    ],
)
def test_numbers_with_decimal_points_and_commas(raw, decimal_comma, value):
    assert parse_float(raw, decimal_comma=decimal_comma) == value


@pytest.mark.parametrize(
    ("raw", "decimal_comma"),
    [
        ("lots", False),
        ("1,5", False),
        ("1.5", True),
        ("nan", False),
        ("inf", False),
        ("1_0", False),
    ],
)
def test_what_is_not_a_number_in_the_files_format(raw, decimal_comma):
    with pytest.raises(CellError, match="is not a number"):
        parse_float(raw, decimal_comma=decimal_comma)


def test_decimals_are_rounded_to_their_places_and_too_large_ones_refused():
    assert parse_decimal("1.234,567", decimal_comma=True, max_digits=14, places=2) == Decimal(
        "1234.57"
    )
    assert parse_decimal("999999999999.99", decimal_comma=False, max_digits=14, places=2)
    for raw in ("1000000000000", "999999999999.999", "100000000000000000000000000", "1e30"):
        with pytest.raises(CellError, match="is too large"):
            parse_decimal(raw, decimal_comma=False, max_digits=14, places=2)


def test_counts_are_whole_and_not_negative():
    assert parse_count("1.200", decimal_comma=True) == 1200
    for raw in ("-1", "2.5"):
        with pytest.raises(CellError, match="whole number"):
            parse_count(raw, decimal_comma=False)


def test_dates_iso_and_day_first():
    assert parse_date("2026-12-31", day_first=False) == dt.date(2026, 12, 31)
    assert parse_date("2026-12-31 00:00:00", day_first=False) == dt.date(2026, 12, 31)
    assert parse_date("31/12/2026", day_first=True) == dt.date(2026, 12, 31)
    assert parse_date("31.12.2026", day_first=True) == dt.date(2026, 12, 31)
    assert parse_date("2026-12-31", day_first=True) == dt.date(2026, 12, 31)
    with pytest.raises(CellError, match="choose day-first dates"):
        parse_date("31/12/2026", day_first=False)


@pytest.mark.parametrize("raw", ["2026-02-30", "30.02.2026", "2026-13-01", "2026-02-30T10:00"])
def test_impossible_dates_say_why(raw):
    with pytest.raises(CellError, match="is not a valid date"):
        parse_datetime(raw, day_first=True, tz=dt.UTC, date_at=dt.time(12))


def test_date_times_are_aware_and_bare_dates_fall_at_the_given_time():
    tz = dt.timezone(dt.timedelta(hours=1))
    at = dt.time(12)
    assert parse_datetime("2026-11-01", day_first=False, tz=tz, date_at=at) == dt.datetime(
        2026, 11, 1, 12, tzinfo=tz
    )
    assert parse_datetime("2026-11-01T10:00:00Z", day_first=False, tz=tz, date_at=at) == (
        dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    )
    assert parse_datetime("01.11.2026 14:30", day_first=True, tz=tz, date_at=at) == dt.datetime(
        2026, 11, 1, 14, 30, tzinfo=tz
    )


def test_cells_an_export_neutralised_read_as_they_were_stored():
    data = b"name,arr,note\n'=HYPERLINK(x),'-5,'plain\n''=twice,O'Brien,\"'@a, b\"\n"

    _table, rows = read(data)

    assert rows == [
        (2, ["=HYPERLINK(x)", "-5", "'plain"]),
        (3, ["'=twice", "O'Brien", "@a, b"]),
    ]


@pytest.mark.parametrize("language", ["da", "pl", "id"])
def test_a_refused_file_is_told_in_the_reader_s_language(language) -> None:
    with translation.override(language):
        with pytest.raises(FileRefused) as refused:
            table_open(io.BytesIO(b"   \n"))
        assert str(refused.value.args[0]) == translation.gettext("The file is empty.")
    assert str(refused.value.args[0]) != "The file is empty."
