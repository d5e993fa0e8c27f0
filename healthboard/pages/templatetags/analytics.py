"""Filters for the Analytics page: shares as percentages, intervals, AUCs, in one place."""

from __future__ import annotations

from django import template

register = template.Library()

DASH = "–"


@register.filter
def percent(share, digits: int = 1) -> str:
    """0.412 -> "41.2 %"; None -> "–"."""
    if share is None or share == "":
        return DASH
    return f"{100 * float(share):.{int(digits)}f} %"


@register.filter
def share_range(row: dict, digits: int = 1) -> str:
    """A row's 95 % interval {low, high} as shares -> "28.8–54.8 %"."""
    low, high = (row or {}).get("low"), (row or {}).get("high")
    if low is None or high is None:
        return DASH
    return f"{100 * low:.{int(digits)}f}–{100 * high:.{int(digits)}f} %"


@register.filter
def number(value, digits: int = 2) -> str:
    """An AUC or any figure to `digits` places; None -> "–"."""
    if value is None or value == "":
        return DASH
    return f"{float(value):.{int(digits)}f}"


@register.filter
def points(value, digits: int = 1) -> str:
    """A signed figure (NPS points, an AUC difference): "+3.0", "−2.5"."""
    if value is None:
        return DASH
    text = f"{float(value):+.{int(digits)}f}"
    return text.replace("-", "−")
