"""Filters of the import pages."""

from __future__ import annotations

import datetime as dt

from django import template

from healthboard.lib.numbers import number_text

register = template.Library()


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """ "0.4 s", "12 s", "3 min 05 s", "1 h 02 min": an import's length at a glance."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{number_text(seconds, 1)} s"  # 0,4 s in Danish
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0]


@register.filter
def get(mapping: dict | None, key: str):
    return (mapping or {}).get(key, "")
