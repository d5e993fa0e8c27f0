"""Filters for the Analytics page: shares as percentages, intervals, AUCs, in one place,
written in the reader's language (healthboard/lib/numbers.py)."""

from __future__ import annotations

import datetime as dt

from django import template

from healthboard.lib.numbers import number_text, percent_text, share_text

register = template.Library()

DASH = "–"


@register.filter
def percent(share, digits: int = 1) -> str:
    """0.412 -> "41.2%" (Danish "41,2 %"); None -> "–"."""
    if share is None or share == "":
        return DASH
    return share_text(share, int(digits))


@register.filter
def share_range(row: dict, digits: int = 1) -> str:
    """A row's 95 % interval {low, high} as shares -> "28.8–54.8%"."""
    low, high = (row or {}).get("low"), (row or {}).get("high")
    if low is None or high is None:
        return DASH
    digits = int(digits)
    return f"{number_text(100 * low, digits)}–{percent_text(100 * high, digits)}"


@register.filter
def number(value, digits: int = 2) -> str:
    """An AUC or any figure to `digits` places; None -> "–"."""
    if value is None or value == "":
        return DASH
    return number_text(value, int(digits))


@register.filter
def points(value, digits: int = 1) -> str:
    """A signed figure (NPS points, an AUC difference): "+3.0", "−2.5"."""
    if value is None:
        return DASH
    text = number_text(value, int(digits))
    return text if text.startswith("\u2212") else "+" + text


@register.filter
def as_date(value) -> dt.date | None:
    """A day a stored result holds as ISO text ("2026-12-03") as a date, for `|date:"j M Y"`:
    the page shows it in the reader's language, never as ISO."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
