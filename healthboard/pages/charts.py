"""Plotly figures, built in Python and drawn by plotly.js in the page (static/js/healthboard.js).

Figures are plain dicts in Plotly's figure schema, serialised by plotly.io without validation:
building the same figure with plotly.graph_objects costs ~11 ms per request (and ~250 ms on a
process's first), which is most of a page's budget. tests/scoring/test_explain.py checks the
dicts against the schema with graph_objects instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import plotly.io as pio
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from healthboard.lib.dates import short_day_text
from healthboard.lib.money import currency_affixes
from scoring.bands import Band

# The band colours of static/css/healthboard.css (--hb-*-bar), faint enough to read a line on.
BAND_FILLS = {
    Band.RED: "rgba(214, 69, 54, 0.13)",
    Band.YELLOW: "rgba(224, 172, 29, 0.17)",
    Band.GREEN: "rgba(47, 158, 87, 0.13)",
}
LINE = "#1f3b57"
TEXT = "#373c43"
GRID = "#e4e7eb"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
# plotly.js options: no toolbar, redraw on resize; zooming is off in the layout instead.
CONFIG = {"displayModeBar": False, "responsive": True}

HistoryRow = tuple[dt.date, float | None, int]  # (date, score, version id)


@dataclass(frozen=True)
class VersionBands:
    """A scorecard version as the trend chart shows it: its label and its band cut-offs.
    red_below / green_at are None where unknown (percentile bands without stored cut-offs)."""

    id: int
    label: str  # "v2"
    red_below: float | None
    green_at: float | None


def arr_hover() -> str:
    """ "$%{y:,.0f} ARR" with the installation's currency where the reader's language puts it
    (Danish "%{y:,.0f} kr. ARR"); plotly.js writes the number with the language's marks."""
    prefix, suffix = currency_affixes(settings.CURRENCY, get_language())
    return _("%(amount)s ARR") % {"amount": f"{prefix}%{{y:,.0f}}{suffix}"}


def arr_axis() -> dict:
    """An ARR axis's ticks ("$1.2M"), in the installation's currency."""
    prefix, suffix = currency_affixes(settings.CURRENCY, get_language())
    return {"tickformat": "~s", "tickprefix": prefix, "ticksuffix": suffix}


def base_layout(**overrides) -> dict:
    """The house style of every chart: transparent paper, system font, legend on top, no
    dragging (pages are read, not explored)."""
    return {
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "font": {"family": FONT, "size": 12, "color": TEXT},
        "legend": {
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 0,
            "traceorder": "normal",
        },
        "dragmode": False,
        **overrides,
    }


def figure_json(figure: dict) -> str:
    return pio.to_json(figure, validate=False)


def _day_edge(day: dt.date, offset_days: float) -> str:
    """A date's edge on a date axis: -0.5 is the day's start minus half a day, so a day's
    point sits in the middle of its band rectangle."""
    moment = dt.datetime.combine(day, dt.time()) + dt.timedelta(days=offset_days)
    return moment.isoformat(sep=" ")


def _segments(history: Sequence[HistoryRow]) -> list[tuple[int, dt.date, dt.date]]:
    """Consecutive runs of the same version: (version id, first date, last date)."""
    segments: list[tuple[int, dt.date, dt.date]] = []
    for day, _score, version_id in history:
        if segments and segments[-1][0] == version_id:
            segments[-1] = (version_id, segments[-1][1], day)
        else:
            segments.append((version_id, day, day))
    return segments


def _band_rects(bands: VersionBands | None, x0: str, x1: str) -> list[dict]:
    if bands is None:
        return []
    red_below, green_at = bands.red_below, bands.green_at
    spans = []
    if red_below is not None:
        spans.append((Band.RED, 0.0, red_below))
    if red_below is not None and green_at is not None:
        spans.append((Band.YELLOW, red_below, green_at))
    if green_at is not None:
        spans.append((Band.GREEN, green_at, 100.0))
    return [
        {
            "type": "rect",
            "xref": "x",
            "yref": "y",
            "x0": x0,
            "x1": x1,
            "y0": y0,
            "y1": y1,
            "fillcolor": BAND_FILLS[band],
            "line": {"width": 0},
            "layer": "below",
        }
        for band, y0, y1 in spans
        if y1 > y0
    ]


def score_trend_figure(
    *,
    history: Sequence[HistoryRow],
    versions: Mapping[int, VersionBands],
    start: dt.date,
    end: dt.date,
) -> dict:
    """The daily score from `start` to `end` over its bands (per version, where the version
    changed), with a dashed line and a label where a new version took over."""
    history = sorted(history, key=lambda row: row[0])
    x0, x1 = _day_edge(start, -0.5), _day_edge(end, 0.5)
    shapes: list[dict] = []
    annotations: list[dict] = []
    segments = _segments(history)
    for i, (version_id, first, last) in enumerate(segments):
        left = x0 if i == 0 else _day_edge(first, -0.5)
        right = x1 if i == len(segments) - 1 else _day_edge(last, 0.5)
        shapes += _band_rects(versions.get(version_id), left, right)
        if i == 0:
            continue
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": left,
                "x1": left,
                "y0": 0,
                "y1": 1,
                "line": {"color": TEXT, "width": 1.5, "dash": "dash"},
            }
        )
        bands = versions.get(version_id)
        annotations.append(
            {
                "x": left,
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "yanchor": "bottom",
                "text": bands.label if bands else _("new version"),
                "showarrow": False,
                "font": {"size": 12, "color": TEXT},
            }
        )
    scores = [score for _day, score, _version in history]
    trace = {
        "type": "scatter",
        "x": [day.isoformat() for day, _score, _version in history],
        "y": [None if score is None else round(score, 1) for score in scores],
        "mode": "lines+markers" if len(history) <= 120 else "lines",
        "line": {"color": LINE, "width": 2},
        "marker": {"color": LINE, "size": 4},
        "connectgaps": False,
        # Plotly fills in %{x} and %{y}; the words are the reader's language.
        "hovertemplate": "%{x|%-d %b %Y}<br>" + _("Score %{y:.0f}") + "<extra></extra>",
        "name": _("Score"),
    }
    layout = {
        "height": 260,
        "margin": {"l": 36, "r": 12, "t": 24, "b": 32},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "font": {"family": FONT, "size": 12, "color": TEXT},
        "showlegend": False,
        "hovermode": "closest",
        "dragmode": False,
        "xaxis": {
            "type": "date",
            "range": [x0, x1],
            "fixedrange": True,
            "showgrid": False,
            "tickformat": "%-d %b" if (end - start).days <= 120 else "%b %Y",
        },
        "yaxis": {
            "range": [0, 100],
            "fixedrange": True,
            "dtick": 20,
            "gridcolor": GRID,
            "zeroline": False,
        },
        "shapes": shapes,
        "annotations": annotations,
    }
    return {"data": [trace], "layout": layout, "config": CONFIG}


def trend_summary(history: Sequence[HistoryRow], days: int) -> str:
    """The chart in one sentence, for screen readers and for print."""
    scored = [(day, score) for day, score, _v in history if score is not None]
    if not scored:
        return _("No scores in the last %(days)s days.") % {"days": days}
    (first_day, first), (last_day, last) = scored[0], scored[-1]
    low = min(score for _d, score in scored)
    high = max(score for _d, score in scored)
    return _(
        "Score over the last %(days)s days: %(first).0f on %(first_day)s, %(last).0f on "
        "%(last_day)s (lowest %(low).0f, highest %(high).0f)."
    ) % {
        "days": days,
        "first": first,
        "first_day": short_day_text(first_day),
        "last": last,
        "last_day": short_day_text(last_day),
        "low": low,
        "high": high,
    }
