"""Plotly figures of the what-if preview, as JSON for `<div data-plotly-figure>`.

The histogram is binned here (20 bins of 5 points), so the page receives 40 bar heights
however many accounts were scored, not every score.
"""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from scoring.bands import Band
from scoring.editor.preview import Preview

ACTIVE_COLOUR = "#8a94a3"
DRAFT_COLOUR = "#1f6feb"
BAND_LINE = {Band.GREEN: "#1c7c3c", Band.RED: "#b42318"}


def histogram_json(preview: Preview) -> str | None:
    """Score distribution, active version behind the draft; None when nothing was scored."""
    if preview.error or not preview.accounts:
        return None
    edges = preview.histogram_edges
    centres = [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)]
    labels = [f"{a:g}–{b:g}" for a, b in zip(edges, edges[1:], strict=False)]
    active = (
        _("Active v%(number)s") % {"number": preview.active.number}
        if preview.active
        else _("Active")
    )
    draft = _("Draft v%(number)s") % {"number": preview.draft.number}
    # Plotly fills in %{customdata} and %{y}; the words are the reader's language.
    hover = _("Score %(range)s: %(accounts)s accounts") % {
        "range": "%{customdata}",
        "accounts": "%{y}",
    }
    fig = go.Figure()
    fig.add_bar(
        x=centres,
        y=preview.histogram_before,
        name=active,
        marker_color=ACTIVE_COLOUR,
        opacity=0.55,
        customdata=labels,
        hovertemplate=hover + "<extra>" + active + "</extra>",
    )
    fig.add_bar(
        x=centres,
        y=preview.histogram_after,
        name=draft,
        marker_color=DRAFT_COLOUR,
        opacity=0.55,
        customdata=labels,
        hovertemplate=hover + "<extra>" + _("Draft") + "</extra>",
    )
    if preview.draft.band_mode == "fixed":
        # Labels on the outer side of each line, so close cut-offs do not overlap.
        for value, colour, text, side in (
            (preview.draft.red_below, BAND_LINE[Band.RED], _("Unhealthy <"), "top left"),
            (preview.draft.green_at, BAND_LINE[Band.GREEN], _("Healthy ≥"), "top right"),
        ):
            fig.add_vline(
                x=value,
                line_dash="dot",
                line_color=colour,
                annotation_text=f"{text} {value:g}",
                annotation_position=side,
                annotation_font_size=11,
                annotation_font_color=colour,
            )
    fig.update_layout(
        barmode="overlay",
        bargap=0.05,
        height=300,
        margin={"l": 48, "r": 12, "t": 28, "b": 40},
        legend={"orientation": "h", "y": -0.22, "x": 0},
        xaxis={"title": {"text": _("Score")}, "range": [0, 100], "dtick": 10},
        yaxis={"title": {"text": _("Accounts")}, "rangemode": "tozero"},
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    fig.update_xaxes(gridcolor="#eef0f3")
    fig.update_yaxes(gridcolor="#eef0f3")
    return fig.to_json()
