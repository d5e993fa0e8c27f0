"""The Analytics page's Plotly figures: plain dicts (healthboard.pages.charts), built from the
stored results' JSON, so a page never recomputes an analysis."""

from __future__ import annotations

from django.utils.translation import gettext as _

from healthboard.lib.numbers import number_text
from healthboard.pages.charts import GRID, LINE, base_layout
from healthboard.pages.weekly.charts import BAND_LINES
from scoring.bands import ORDER, Band

# Curves that are not bands (tenure groups, cohorts, segments): distinct, colour-blind safe.
PALETTE = ["#1f3b57", "#e69f00", "#0072b2", "#cc79a7", "#009e73", "#d55e00", "#56b4e9", "#7f7f7f"]
MARGIN = {"l": 52, "r": 12, "t": 36, "b": 44}


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def band_rates_figure(rates: dict[str, dict]) -> dict:
    """Churn rate per band (%) with its 95 % interval as error bars; bands without scores
    are left out."""
    bands = [b for b in ORDER if rates.get(b, {}).get("n")]
    pct = [100 * (rates[b]["rate"] or 0) for b in bands]
    low = [100 * (rates[b]["low"] or 0) for b in bands]
    high = [100 * (rates[b]["high"] or 0) for b in bands]
    trace = {
        "type": "bar",
        # The band's words in the reader's language (the stored result holds English ones).
        "x": [str(Band(b).label) for b in bands],
        "y": pct,
        "marker": {"color": [BAND_LINES[b] for b in bands]},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": [h - p for h, p in zip(high, pct, strict=True)],
            "arrayminus": [p - lo for lo, p in zip(low, pct, strict=True)],
            "color": LINE,
            "thickness": 1.5,
            "width": 6,
        },
        "text": [
            _("%(k)s of %(n)s") % {"k": number_text(rates[b]["k"]), "n": number_text(rates[b]["n"])}
            for b in bands
        ],
        "textposition": "outside",
        "cliponaxis": False,
        "customdata": list(zip(low, high, strict=True)),
        # Plotly's own placeholders (%{y}, …) go in as values, so translators see only ours.
        "hovertemplate": _(
            "%(band)s: %(rate)s %% churned (%(counts)s)<br>95 %% interval %(low)s–%(high)s %%"
        )
        % {
            "band": "%{x}",
            "rate": "%{y:.1f}",
            "counts": "%{text}",
            "low": "%{customdata[0]:.1f}",
            "high": "%{customdata[1]:.1f}",
        }
        + "<extra></extra>",
    }
    return {
        "data": [trace],
        "layout": base_layout(
            height=300,
            margin=MARGIN,
            showlegend=False,
            xaxis={"fixedrange": True},
            yaxis={
                "fixedrange": True,
                "rangemode": "tozero",
                "ticksuffix": " %",
                "gridcolor": GRID,
                "title": {"text": _("churned within the horizon")},
            },
        ),
    }


def roc_figure(roc: list[dict], auc: float | None) -> dict:
    """The ROC curve against the diagonal of a coin toss."""
    curve = {
        "type": "scatter",
        "mode": "lines",
        "name": _("Score (AUC %(auc)s)") % {"auc": number_text(auc, 2)}
        if auc is not None
        else _("Score"),
        "x": [p["false_positive_rate"] for p in roc],
        "y": [p["true_positive_rate"] for p in roc],
        "line": {"color": LINE, "width": 2, "shape": "hv"},
        "customdata": [p["threshold"] for p in roc],
        "hovertemplate": _(
            "Flag scores below %(score)s: %(caught)s of churners caught, %(flagged)s of loyal "
            "accounts flagged"
        )
        % {"score": "%{customdata:.0f}", "caught": "%{y:.0%}", "flagged": "%{x:.0%}"}
        + "<extra></extra>",
    }
    chance = {
        "type": "scatter",
        "mode": "lines",
        "name": _("Coin toss (0.5)"),
        "x": [0, 1],
        "y": [0, 1],
        "line": {"color": "#a4acb6", "dash": "dot", "width": 1},
        "hoverinfo": "skip",
    }
    axis = {"fixedrange": True, "range": [0, 1], "tickformat": ".0%", "gridcolor": GRID}
    return {
        "data": [chance, curve],
        "layout": base_layout(
            height=320,
            margin=MARGIN,
            xaxis={**axis, "title": {"text": _("loyal accounts flagged")}},
            yaxis={**axis, "title": {"text": _("churners caught")}},
        ),
    }


def _km_traces(curve: dict, colour: str, fill: str) -> list[dict]:
    """A step curve from 100 % at month 0, with its Greenwood interval shaded behind it."""
    x = [0.0, *curve["times"]]
    y = [1.0, *curve["survival"]]
    low = [1.0, *curve["low"]]
    high = [1.0, *curve["high"]]
    label = f"{curve['label']} ({number_text(curve['n'])})"
    return [
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": high,
            "line": {"width": 0, "shape": "hv"},
            "hoverinfo": "skip",
            "showlegend": False,
            "legendgroup": label,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": low,
            "fill": "tonexty",
            "fillcolor": fill,
            "line": {"width": 0, "shape": "hv"},
            "hoverinfo": "skip",
            "showlegend": False,
            "legendgroup": label,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": label,
            "legendgroup": label,
            "x": x,
            "y": y,
            "line": {"color": colour, "width": 2, "shape": "hv"},
            "customdata": list(zip(low, high, strict=True)),
            "hovertemplate": _(
                "%(curve)s: %(share)s still customers after %(months)s months<br>95 %% "
                "%(low)s–%(high)s"
            )
            % {
                "curve": curve["label"],
                "share": "%{y:.0%}",
                "months": "%{x:.0f}",
                "low": "%{customdata[0]:.0%}",
                "high": "%{customdata[1]:.0%}",
            }
            + "<extra></extra>",
        },
    ]


def retention_figure(curves: list[dict], *, by_band: bool = False) -> dict:
    """Kaplan–Meier curves (share still customers, by months) with shaded 95 % intervals."""
    data = []
    for i, curve in enumerate(curves):
        if by_band and curve.get("band") in BAND_LINES:
            colour = BAND_LINES[curve["band"]]
            # The stored label is in the language the analysis ran in; the band is the reader's.
            curve = {**curve, "label": str(Band(curve["band"]).label)}
        else:
            colour = PALETTE[i % len(PALETTE)]
        data += _km_traces(curve, colour, _rgba(colour, 0.15))
    return {
        "data": data,
        "layout": base_layout(
            height=320,
            margin=MARGIN,
            hovermode="closest",
            xaxis={
                "fixedrange": True,
                "rangemode": "tozero",
                "gridcolor": GRID,
                "title": {"text": _("months")},
            },
            yaxis={
                "fixedrange": True,
                "range": [0, 1.02],
                "tickformat": ".0%",
                "gridcolor": GRID,
                "title": {"text": _("still customers")},
            },
        ),
    }


def tenure_months_figure(months: list[dict], *, min_at_risk: int = 1) -> dict:
    """Churn during each month of tenure (%) with 95 % intervals: a peak at month 12–13 is
    "they leave after a year"."""
    shown = [m for m in months if m["at_risk"] >= min_at_risk and m["rate"] is not None]
    pct = [100 * m["rate"] for m in shown]
    return {
        "data": [
            {
                "type": "bar",
                "x": [m["month"] for m in shown],
                "y": pct,
                "marker": {"color": LINE},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [100 * m["high"] - p for m, p in zip(shown, pct, strict=True)],
                    "arrayminus": [p - 100 * m["low"] for m, p in zip(shown, pct, strict=True)],
                    "color": "#a4acb6",
                    "thickness": 1,
                    "width": 0,
                },
                "customdata": [[m["churned"], m["at_risk"]] for m in shown],
                "hovertemplate": _("Month %(month)s: %(rate)s %% left (%(left)s of %(of)s)")
                % {
                    "month": "%{x}",
                    "rate": "%{y:.1f}",
                    "left": "%{customdata[0]}",
                    "of": "%{customdata[1]}",
                }
                + "<extra></extra>",
            }
        ],
        "layout": base_layout(
            height=280,
            margin=MARGIN,
            showlegend=False,
            xaxis={"fixedrange": True, "title": {"text": _("month of tenure")}, "dtick": 6},
            yaxis={
                "fixedrange": True,
                "rangemode": "tozero",
                "ticksuffix": " %",
                "gridcolor": GRID,
                "title": {"text": _("left during the month")},
            },
        ),
    }


def survey_figure(series: dict) -> dict:
    """A survey's monthly figure for the portfolio (bold, with its 95 % interval shaded) and
    each segment (thin lines); the hover gives the answer counts."""
    unit = "" if series["kind"] == "ces" else (_(" points") if series["kind"] == "nps" else " %")

    def line(name: str, months: list[dict], colour: str, width: float) -> dict:
        return {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": [m["month"] + "-01" for m in months],
            "y": [m["value"] for m in months],
            "line": {"color": colour, "width": width},
            "marker": {"size": 4 + width},
            "customdata": [m["responses"] for m in months],
            "hovertemplate": _("%(name)s · %(month)s: %(value)s%(unit)s (%(answers)s answers)")
            % {
                "name": name,
                "month": "%{x|%b %Y}",
                "value": "%{y:.1f}",
                "unit": unit,
                "answers": "%{customdata:,}",
            }
            + "<extra></extra>",
        }

    months = series["months"]
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": [m["month"] + "-01" for m in months],
            "y": [m["high"] for m in months],
            "line": {"width": 0},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": [m["month"] + "-01" for m in months],
            "y": [m["low"] for m in months],
            "fill": "tonexty",
            "fillcolor": _rgba(LINE, 0.12),
            "line": {"width": 0},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        line(_("Portfolio"), months, LINE, 3),
    ]
    for i, (segment, rows) in enumerate(sorted(series["segments"].items())):
        data.append(line(segment, rows, PALETTE[1 + i % (len(PALETTE) - 1)], 1.5))
    return {
        "data": data,
        "layout": base_layout(
            height=300,
            margin=MARGIN,
            hovermode="closest",
            xaxis={
                "type": "date",
                "fixedrange": True,
                "showgrid": False,
                "tickformat": "%b %Y",
            },
            yaxis={"fixedrange": True, "gridcolor": GRID, "ticksuffix": unit.rstrip()},
        ),
    }
