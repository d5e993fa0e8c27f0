"""The weekly review's Plotly figure: accounts (or ARR) per band per day, stacked.

A plain dict in Plotly's figure schema, like scoring.charts (no graph_objects on a request).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from healthboard.pages.charts import CONFIG, GRID, base_layout
from healthboard.pages.weekly.selectors import DayBands
from scoring.models import Band

# The bar colours of static/css/healthboard.css (--hb-*-bar); areas a little lighter.
BAND_LINES = {"green": "#2f9e57", "yellow": "#e0ac1d", "red": "#d64536", "none": "#a4acb6"}
BAND_AREAS = {
    "green": "rgba(47, 158, 87, 0.55)",
    "yellow": "rgba(224, 172, 29, 0.6)",
    "red": "rgba(214, 69, 54, 0.6)",
    "none": "rgba(164, 172, 182, 0.55)",
}
# Most at risk at the bottom, where a change in it reads against the axis.
STACK = ("red", "yellow", "none", "green")


def band_history_figure(
    days: Sequence[DayBands], *, measure: str, week: tuple[dt.date, dt.date] | None = None
) -> dict:
    """A stacked area per band over the days; `week` (previous, end) is shaded: the two
    snapshots the review compares."""
    arr = measure == "arr"
    x = [day.date.isoformat() for day in days]
    traces = []
    for band in STACK:
        label = Band(band).label
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "stackgroup": "bands",
                "name": label,
                "x": x,
                "y": [round(day.arr[band]) if arr else day.n[band] for day in days],
                "line": {"color": BAND_LINES[band], "width": 1},
                "fillcolor": BAND_AREAS[band],
                "hovertemplate": (
                    f"%{{x|%-d %b %Y}} · {label}<br>"
                    + ("$%{y:,.0f} ARR" if arr else "%{y:,} accounts")
                    + "<extra></extra>"
                ),
            }
        )
    shapes = []
    if week is not None:
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": week[0].isoformat(),
                "x1": week[1].isoformat(),
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(31, 59, 87, 0.08)",
                "line": {"color": "rgba(31, 59, 87, 0.6)", "width": 1, "dash": "dot"},
                "layer": "above",
            }
        )
    layout = base_layout(
        height=280,
        margin={"l": 52, "r": 12, "t": 36, "b": 32},
        hovermode="x unified",
        xaxis={"type": "date", "fixedrange": True, "showgrid": False, "tickformat": "%-d %b"},
        yaxis={
            "fixedrange": True,
            "gridcolor": GRID,
            "rangemode": "tozero",
            "tickformat": "$~s" if arr else ",d",
            "automargin": True,
        },
        shapes=shapes,
    )
    return {"data": traces, "layout": layout, "config": CONFIG}


def band_history_summary(days: Sequence[DayBands], *, measure: str) -> str:
    """The chart in one sentence, for screen readers and print."""
    if not days:
        return "No scores in these weeks."
    first, last = days[0], days[-1]

    def part(day: DayBands) -> str:
        if measure == "arr":
            risk = day.arr["red"] + day.arr["yellow"]
            return f"${risk:,.0f} ARR at risk on {day.date:%-d %b %Y}"
        return (
            f"{day.n['red']:,} unhealthy and {day.n['yellow']:,} at risk of "
            f"{sum(day.n.values()):,} accounts on {day.date:%-d %b %Y}"
        )

    return f"{part(first)}; {part(last)}."
