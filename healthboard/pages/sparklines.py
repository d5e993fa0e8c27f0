"""Sparklines: a month of daily scores as a tiny inline SVG, drawn on the server.

Fifty of them on a page cost nothing to render and need no JavaScript, unlike fifty Plotly
figures. The line is in `currentColor`, so CSS colours it (by band).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# The vertical scale spans at least this many points: a wobble of one or two points stays
# a flat line instead of filling the height.
MIN_SPAN = 20.0
PAD = 2.0


def _scale(values: list[float], height: float) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high - low < MIN_SPAN:
        middle = (low + high) / 2
        low, high = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
        if low < 0:
            low, high = 0.0, MIN_SPAN
        elif high > 100:
            low, high = 100 - MIN_SPAN, 100.0
    return low, (height - 2 * PAD) / (high - low)


def sparkline_svg(
    values: Sequence[float | None], *, width: int = 96, height: int = 24, css_class: str = ""
) -> SafeString:
    """One polyline per run of consecutive days with a score (gaps stay gaps), a dot on the
    last score. Screen readers get the first and last score instead of the drawing."""
    known = [(day, value) for day, value in enumerate(values) if value is not None]
    if not known:
        empty = _("No scores in these %(days)s days") % {"days": len(values)}
        return format_html(
            '<span class="spark spark--empty {}" title="{}">'
            '<span class="visually-hidden">{}</span></span>',
            css_class,
            empty,
            empty,
        )
    low, per_point = _scale([value for _, value in known], height)
    step = (width - 2 * PAD) / max(len(values) - 1, 1)

    def xy(day: int, value: float) -> str:
        return f"{PAD + day * step:.1f},{height - PAD - (value - low) * per_point:.1f}"

    lines: list[list[str]] = []
    previous_day = None
    for day, value in known:
        if previous_day is None or day != previous_day + 1:
            lines.append([])
        lines[-1].append(xy(day, value))
        previous_day = day
    last_x, last_y = xy(*known[-1]).split(",")
    label = _("Score over %(days)s days: from %(first).0f to %(last).0f") % {
        "days": len(values),
        "first": known[0][1],
        "last": known[-1][1],
    }
    shapes = "".join(
        f'<polyline points="{" ".join(points)}"/>' if len(points) > 1 else "" for points in lines
    )
    return format_html(
        '<svg class="spark {}" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="{}"><title>{}</title><g fill="none" stroke="currentColor" '
        'stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round">{}</g>'
        '<circle cx="{}" cy="{}" r="2.25" fill="currentColor"/></svg>',
        css_class,
        width,
        height,
        width,
        height,
        label,
        label,
        mark_safe(shapes),  # built above from numbers only
        last_x,
        last_y,
    )
