"""One cell to one value: numbers with a decimal point or a decimal comma, ISO or day-first
dates. Each parser returns the value or raises CellError with the reason a person reads."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

# Thousands separators a spreadsheet may write: spaces, no-break and thin spaces.
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")
# 1.234.567,89 (decimal comma) and 1,234,567.89 (decimal point): grouped by three.
_GROUPED_COMMA = re.compile(r"[-+]?\d{1,3}(\.\d{3})+(,\d*)?")
_GROUPED_POINT = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")
_DAY_FIRST = re.compile(
    r"(\d{1,2})([./-])(\d{1,2})\2(\d{4})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
)


class CellError(ValueError):
    """The cell cannot be read as the column's type; the message is the reason."""


def number_text(raw: str, *, decimal_comma: bool) -> str:
    """The cell as Python's float() and Decimal() read it: "1.234,5" → "1234.5" in a
    decimal-comma file, "1,234.5" → "1234.5" in a decimal-point one."""
    text = raw.strip().translate(_SPACES)
    if decimal_comma:
        if "." in text:
            if not _GROUPED_COMMA.fullmatch(text):
                raise CellError(
                    _("%(raw)r is not a number in this file's format (decimal comma, as 1.234,5)")
                    % {"raw": raw}
                )
            text = text.replace(".", "")
        return text.replace(",", ".")
    if "," in text:
        if not _GROUPED_POINT.fullmatch(text):
            raise CellError(
                _("%(raw)r is not a number in this file's format (decimal point, as 1,234.5)")
                % {"raw": raw}
            )
        text = text.replace(",", "")
    return text


def parse_float(raw: str, *, decimal_comma: bool) -> float:
    try:
        value = float(raw)  # the common case first: "12", "0.75"
    except ValueError:
        text = number_text(raw, decimal_comma=decimal_comma)
        try:
            value = float(text)
        except ValueError:
            raise CellError(_("%(raw)r is not a number") % {"raw": raw}) from None
    else:
        if decimal_comma and "." in raw:
            # "1.5" in a decimal-comma file is ambiguous (1.5, or 15 with a misplaced
            # thousands dot): read it as that file's Excel would, or refuse.
            value = float(number_text(raw, decimal_comma=True))
    if not math.isfinite(value) or "_" in raw:
        raise CellError(_("%(raw)r is not a number") % {"raw": raw})
    return value


def parse_decimal(raw: str, *, decimal_comma: bool, max_digits: int, places: int) -> Decimal:
    text = number_text(raw, decimal_comma=decimal_comma)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellError(_("%(raw)r is not a number") % {"raw": raw}) from None
    if not value.is_finite() or "_" in raw:
        raise CellError(_("%(raw)r is not a number") % {"raw": raw})
    # Checked before rounding (quantize() fails past Decimal's 28 digits) and after it
    # (999.999 rounds up to 1000.00).
    if value and value.adjusted() < max_digits - places:
        value = value.quantize(Decimal(1).scaleb(-places))
    if value and value.adjusted() >= max_digits - places:
        raise CellError(
            _("%(raw)r is too large (at most %(value)s digits before the point)")
            % {"raw": raw, "value": max_digits - places}
        )
    return value.quantize(Decimal(1).scaleb(-places))


def parse_count(raw: str, *, decimal_comma: bool) -> int:
    """A whole, non-negative number ("12", "12.0", "1.200" in a decimal-comma file)."""
    value = parse_float(raw, decimal_comma=decimal_comma)
    if value < 0 or value != int(value) or value > 2_147_483_647:
        raise CellError(_("%(raw)r is not a whole number of 0 or more") % {"raw": raw})
    return int(value)


def parse_date(raw: str, *, day_first: bool) -> dt.date:
    """ISO (2026-12-31), or with day_first also 31/12/2026, 31.12.2026 and 31-12-2026. A
    date and time (as CRMs export dates: 2026-12-31 00:00:00) gives its date."""
    text = raw.strip()
    if day_first and (match := _DAY_FIRST.fullmatch(text)):
        return _date(raw, int(match.group(4)), int(match.group(3)), int(match.group(1)))
    try:
        if len(text) > 10:
            return dt.datetime.fromisoformat(text).date()
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CellError(_date_reason(raw, exc, day_first=day_first)) from None


def parse_datetime(raw: str, *, day_first: bool, tz: dt.tzinfo, date_at: dt.time) -> dt.datetime:
    """An aware date-time: ISO 8601 (with or without an offset; naive ones are in `tz`), a
    bare date at `date_at`, or with day_first 31/12/2026 [14:30[:05]]."""
    text = raw.strip()
    if day_first and (match := _DAY_FIRST.fullmatch(text)):
        day = _date(raw, int(match.group(4)), int(match.group(3)), int(match.group(1)))
        if match.group(5) is None:
            return dt.datetime.combine(day, date_at, tzinfo=tz)
        try:
            when = dt.datetime.combine(
                day,
                dt.time(
                    int(match.group(5)),
                    int(match.group(6)),
                    int(match.group(7) or 0),
                    int((match.group(8) or "0").ljust(6, "0")),
                ),
            )
        except ValueError as exc:
            raise CellError(
                _("%(raw)r is not a valid time (%(exc)s)") % {"raw": raw, "exc": exc}
            ) from None
        return when.replace(tzinfo=tz)
    try:
        if len(text) <= 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), date_at, tzinfo=tz)
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise CellError(_date_reason(raw, exc, day_first=day_first)) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def _date(raw: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise CellError(
            _("%(raw)r is not a valid date (%(exc)s)") % {"raw": raw, "exc": exc}
        ) from None


def _date_reason(raw: str, exc: ValueError, *, day_first: bool) -> str:
    reason = str(exc)
    if "out of range" in reason or "must be in" in reason:
        return _("%(raw)r is not a valid date (%(why)s)") % {"raw": raw, "why": reason}
    return _not_a_date(raw, day_first=day_first)


def _not_a_date(raw: str, *, day_first: bool) -> str:
    if not raw.strip():
        return _("a date is required")
    if not day_first and _DAY_FIRST.fullmatch(raw.strip()):
        return _(
            "%(raw)r is not an ISO date (YYYY-MM-DD); for 31/12/2026 choose day-first dates"
        ) % {"raw": raw}
    if day_first:
        return _("%(raw)r is not a date (YYYY-MM-DD or DD/MM/YYYY)") % {"raw": raw}
    return _("%(raw)r is not a date (YYYY-MM-DD)") % {"raw": raw}
