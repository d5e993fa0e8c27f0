"""The CSV writer: every text cell safe in a spreadsheet, numbers left as numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthboard.lib.csvfile import cell, cell_text, csv_response, number


@pytest.mark.parametrize(
    "value, written",
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Acme = fine", "Acme = fine"),
        # Already apostrophed before a formula: one more, so reading back is exact.
        ("'=1", "''=1"),
        ("'plain", "'plain"),
        ("", ""),
        (None, ""),
        (dt.date(2026, 11, 22), "2026-11-22"),
        (-3, -3),
        (Decimal("-0.5"), Decimal("-0.5")),
    ],
)
def test_each_cell(value, written) -> None:
    assert cell(value) == written


@pytest.mark.parametrize(
    "text", ["=1", "+1", "-1", "@a", "\t=1", "\r=1", "'=1", "''-1", "'plain", "plain", ""]
)
def test_reading_a_cell_back_gives_the_text_that_was_written(text) -> None:
    assert cell_text(cell(text)) == text


@given(st.text())
def test_any_text_reads_back_as_written(text) -> None:
    assert cell_text(cell(text)) == text


@pytest.mark.parametrize(
    "value, digits, text",
    [(59.46, 1, "59.5"), (-0.04, 1, "0.0"), (Decimal("1200"), 2, "1200.00"), (None, 1, None)],
)
def test_numbers_are_rounded_and_never_minus_zero(value, digits, text) -> None:
    result = number(value, digits)
    assert (None if result is None else str(result)) == text


def test_the_response_streams_the_header_and_rows() -> None:
    rows = ([name, n] for name, n in [("=cmd", 1), ("Acme", -2)])

    response = csv_response(filename="x.csv", header=["Name", "N"], rows=rows)

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    body = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(body))) == [["Name", "N"], ["'=cmd", "1"], ["Acme", "-2"]]
