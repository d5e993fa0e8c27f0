"""The journey board's Plotly figure: accounts (or ARR) per band in each stage, stacked.

A plain dict in Plotly's figure schema, like scoring.charts (no graph_objects on a request).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from accounts.i18n import builtin
from healthboard.lib.money import money_shown
from healthboard.lib.numbers import number_text
from healthboard.pages.charts import CONFIG, GRID, arr_axis, arr_hover, base_layout
from healthboard.pages.journey.selectors import StageColumn
from scoring.bands import AT_RISK, RISK_ORDER, Band

# The bar colours of static/css/healthboard.css (--hb-*-bar).
BAND_COLOURS = {
    Band.GREEN: "#2f9e57",
    Band.YELLOW: "#e0ac1d",
    Band.RED: "#d64536",
    Band.NO_DATA: "#a4acb6",
}


def stage_bands_figure(columns: Sequence[StageColumn], *, measure: str) -> dict:
    """One stacked bar per stage, most at risk at the bottom; `measure` is "accounts" or
    "arr"."""
    stages = [builtin(column.stage.name) for column in columns]
    arr = measure == "arr"
    traces = []
    for band in RISK_ORDER:
        values = [
            float(column.bands[band].arr) if arr else column.bands[band].n for column in columns
        ]
        label = str(Band(band).label)  # plain text: the figure goes to JSON
        traces.append(
            {
                "type": "bar",
                "name": label,
                "x": stages,
                "y": values,
                "marker": {"color": BAND_COLOURS[band]},
                "hovertemplate": (
                    f"%{{x}} · {label}<br>"
                    # Plotly fills in %{y}; the words around it are the reader's language.
                    + (arr_hover() if arr else _("%{y:,} accounts"))
                    + "<extra></extra>"
                ),
            }
        )
    layout = base_layout(
        barmode="stack",
        height=240,
        margin={"l": 48, "r": 8, "t": 8, "b": 40},
        hovermode="closest",
        bargap=0.35,
        xaxis={"fixedrange": True, "automargin": True},
        yaxis={
            "fixedrange": True,
            "gridcolor": GRID,
            "rangemode": "tozero",
            **(arr_axis() if arr else {"tickformat": ",d"}),
            "automargin": True,
        },
    )
    return {"data": traces, "layout": layout, "config": CONFIG}


def stage_bands_summary(columns: Sequence[StageColumn], *, measure: str) -> str:
    """The chart in one sentence, for screen readers."""
    if not any(column.n for column in columns):
        return _("No accounts to chart.")
    parts = []
    for column in columns:
        stage = builtin(column.stage.name)
        if measure == "arr":
            at_risk = sum(column.bands[b].arr for b in AT_RISK)
            parts.append(
                _("%(stage)s: %(arr)s ARR, %(at_risk)s at risk")
                % {"stage": stage, "arr": money_shown(column.arr), "at_risk": money_shown(at_risk)}
            )
        else:
            red = column.bands[Band.RED].n
            parts.append(
                _("%(stage)s: %(accounts)s accounts, %(red)s unhealthy")
                % {"stage": stage, "accounts": number_text(column.n), "red": number_text(red)}
            )
    return "; ".join(parts) + "."
