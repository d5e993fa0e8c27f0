"""The weekly review's Plotly figure: accounts (or ARR) per band per day, stacked.

A plain dict in Plotly's figure schema, like scoring.charts (no graph_objects on a request).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.translation import gettext as _

from healthboard.lib.dates import short_day_text
from healthboard.lib.money import money_shown
from healthboard.lib.numbers import number_text
from healthboard.pages.charts import CONFIG, GRID, arr_axis, arr_hover, base_layout
from healthboard.pages.weekly.selectors import DayBands
from scoring.bands import AT_RISK, RISK_ORDER, Band

# The bar colours of static/css/healthboard.css (--hb-*-bar); areas a little lighter.
BAND_LINES = {
    Band.GREEN: "#2f9e57",
    Band.YELLOW: "#e0ac1d",
    Band.RED: "#d64536",
    Band.NO_DATA: "#a4acb6",
}
BAND_AREAS = {
    Band.GREEN: "rgba(47, 158, 87, 0.55)",
    Band.YELLOW: "rgba(224, 172, 29, 0.6)",
    Band.RED: "rgba(214, 69, 54, 0.6)",
    Band.NO_DATA: "rgba(164, 172, 182, 0.55)",
}


def band_history_figure(
    days: Sequence[DayBands], *, measure: str, week: tuple[dt.date, dt.date] | None = None
) -> dict:
    """A stacked area per band over the days; `week` (previous, end) is shaded: the two
    snapshots the review compares."""
    arr = measure == "arr"
    x = [day.date.isoformat() for day in days]
    traces = []
    # Most at risk at the bottom, where a change in it reads against the axis.
    for band in RISK_ORDER:
        label = str(Band(band).label)  # plain text: the figure goes to JSON
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
                    # Plotly fills in %{y}; the words around it are the reader's language.
                    + (arr_hover() if arr else _("%{y:,} accounts"))
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
            **(arr_axis() if arr else {"tickformat": ",d"}),
            "automargin": True,
        },
        shapes=shapes,
    )
    return {"data": traces, "layout": layout, "config": CONFIG}


def band_history_summary(days: Sequence[DayBands], *, measure: str) -> str:
    """The chart in one sentence, for screen readers and print."""
    if not days:
        return _("No scores in these weeks.")
    first, last = days[0], days[-1]

    def part(day: DayBands) -> str:
        if measure == "arr":
            risk = sum(day.arr[band] for band in AT_RISK)
            return _("%(arr)s ARR at risk on %(day)s") % {
                "arr": money_shown(risk),
                "day": short_day_text(day.date),
            }
        return _("%(red)s unhealthy and %(yellow)s at risk of %(total)s accounts on %(day)s") % {
            "red": number_text(day.n[Band.RED]),
            "yellow": number_text(day.n[Band.YELLOW]),
            "total": number_text(sum(day.n.values())),
            "day": short_day_text(day.date),
        }

    return _("%(first)s; %(last)s.") % {"first": part(first), "last": part(last)}
