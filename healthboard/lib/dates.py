"""A day as sentences name it ("3 December 2026"), in the active language."""

from __future__ import annotations

import datetime as dt

from django.utils.formats import date_format


def day_text(day: dt.date | dt.datetime) -> str:
    """The day written out for a sentence ("3 December 2026"; Polish "3 grudnia 2026"); the
    caller localises a datetime first."""
    # "E" is the month as a date writes it (the genitive in Polish), "F" in English. The
    # year unpadded, as strftime's %Y wrote it: year 1 reads "1", not "0001".
    return f"{date_format(day, 'j E')} {day.year}"


def short_day_text(day: dt.date | dt.datetime) -> str:
    """The day with the month's abbreviation ("3 Dec 2026"), for tight places."""
    return f"{date_format(day, 'j M')} {day.year}"
