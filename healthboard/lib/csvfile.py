"""CSV downloads: rows streamed to the browser, every text cell safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before
them) as a formula, so a customer named `=HYPERLINK(...)` could run one on the reader's
machine (CSV injection). As OWASP advises, such a text cell gets a leading apostrophe. Every
text cell goes through `cell()`: callers cannot forget it. Numbers are written as numbers
(a negative change is not a formula).

The imports read these files back (an accounts or signals export re-imports to the same
data), so the apostrophe must come off again: `cell_text()` is `cell()` undone. To keep the
pair exact, a text that already starts with apostrophes before a formula character gets one
more, so "'=x" is written "''=x" and read back as "'=x", never as "=x".
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | Decimal | dt.date | None


# The first characters worth a closer look (the formula starts, and an apostrophe that may
# stand before one).
_SUSPECT_FIRST = frozenset((*FORMULA_STARTS, "'"))


def cell(value: Cell) -> str | int | float | Decimal:
    """One cell as written: text neutralised, dates in ISO form, None empty."""
    if type(value) is str:
        # Most cells are plain text with a harmless first character: decided by one set
        # lookup (a 100,000-row export calls this a million times).
        if value[:1] in _SUSPECT_FIRST and _looks_like_formula(value):
            return f"'{value}"
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return f"'{text}" if _looks_like_formula(text) else text


def _looks_like_formula(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_STARTS)


def cell_text(text: str) -> str:
    """A text cell as cell() wrote it, read back: the apostrophe it added taken off."""
    if text[:1] == "'" and _looks_like_formula(text[1:]):
        return text[1:]
    return text


def number(value: float | Decimal | None, digits: int) -> Decimal | None:
    """A figure rounded to `digits` places for a CSV cell; no change is never "-0.0"."""
    if value is None:
        return None
    rounded = Decimal(f"{value:.{digits}f}")
    return abs(rounded) if rounded == 0 else rounded


class _Echo:
    """csv.writer writes into this and gets the line back, to stream it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([cell(value) for value in header])
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> StreamingHttpResponse:
    """A download of `rows` under `header`, written as the rows come (a generator of rows
    keeps memory flat however many there are)."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
