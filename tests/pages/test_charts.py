"""The score trend figure: valid Plotly, bands per version, a marker where the version changed."""

from __future__ import annotations

import datetime as dt
import json

import plotly.graph_objects as go

from healthboard.pages.charts import (
    BAND_FILLS,
    CONFIG,
    VersionBands,
    figure_json,
    score_trend_figure,
    trend_summary,
)

END = dt.date(2026, 11, 22)
V1 = VersionBands(id=1, label="v1", red_below=40, green_at=70)
V2 = VersionBands(id=2, label="v2", red_below=45, green_at=72)


def history(days: int, versions=(1,), switch_at: int | None = None):
    rows = []
    for i in range(days):
        day = END - dt.timedelta(days=days - 1 - i)
        version = versions[-1] if switch_at is not None and i >= switch_at else versions[0]
        rows.append((day, 50.0 + i % 7, version))
    return rows


def rects(figure: dict) -> list[dict]:
    return [s for s in figure["layout"]["shapes"] if s["type"] == "rect"]


def test_the_figure_is_valid_plotly_and_draws_without_a_toolbar() -> None:
    figure = score_trend_figure(
        history=history(90), versions={1: V1}, start=END - dt.timedelta(days=89), end=END
    )

    # graph_objects validates every property against plotly.js's schema.
    go.Figure(data=figure["data"], layout=figure["layout"])
    assert figure["config"] == CONFIG == {"displayModeBar": False, "responsive": True}
    assert figure["layout"]["yaxis"]["range"] == [0, 100]
    assert figure["layout"]["xaxis"]["fixedrange"] and figure["layout"]["yaxis"]["fixedrange"]
    data = json.loads(figure_json(figure))
    assert len(data["data"][0]["x"]) == 90
    assert data["data"][0]["x"][-1] == "2026-11-22"


def test_the_bands_are_the_versions_thresholds() -> None:
    figure = score_trend_figure(
        history=history(30), versions={1: V1}, start=END - dt.timedelta(days=29), end=END
    )

    assert [(r["y0"], r["y1"], r["fillcolor"]) for r in rects(figure)] == [
        (0.0, 40, BAND_FILLS["red"]),
        (40, 70, BAND_FILLS["yellow"]),
        (70, 100.0, BAND_FILLS["green"]),
    ]
    assert all(r["layer"] == "below" for r in rects(figure))
    assert not figure["layout"]["annotations"]


def test_a_version_change_gets_a_line_a_label_and_its_own_bands() -> None:
    figure = score_trend_figure(
        history=history(60, versions=(1, 2), switch_at=40),
        versions={1: V1, 2: V2},
        start=END - dt.timedelta(days=59),
        end=END,
    )

    go.Figure(data=figure["data"], layout=figure["layout"])
    switch_day = END - dt.timedelta(days=19)
    [annotation] = figure["layout"]["annotations"]
    assert annotation["text"] == "v2"
    lines = [s for s in figure["layout"]["shapes"] if s["type"] == "line"]
    assert len(lines) == 1 and lines[0]["x0"].startswith(str(switch_day - dt.timedelta(days=1)))
    assert annotation["x"] == lines[0]["x0"]
    assert sorted({(r["y0"], r["y1"]) for r in rects(figure)}) == [
        (0.0, 40),
        (0.0, 45),
        (40, 70),
        (45, 72),
        (70, 100.0),
        (72, 100.0),
    ]


def test_percentile_bands_without_cut_offs_are_left_out() -> None:
    unknown = VersionBands(id=3, label="v1", red_below=None, green_at=None)
    figure = score_trend_figure(
        history=history(10, versions=(3,)), versions={3: unknown}, start=END, end=END
    )

    assert rects(figure) == []


def test_days_without_a_score_are_gaps_not_zeros() -> None:
    rows = history(5)
    rows[2] = (rows[2][0], None, 1)

    figure = score_trend_figure(history=rows, versions={1: V1}, start=rows[0][0], end=END)

    assert figure["data"][0]["y"][2] is None
    assert figure["data"][0]["connectgaps"] is False


def test_the_summary_says_the_chart_in_words() -> None:
    assert trend_summary([], 30) == "No scores in the last 30 days."
    assert trend_summary(
        [
            (dt.date(2026, 11, 1), 61.2, 1),
            (dt.date(2026, 11, 2), None, 1),
            (dt.date(2026, 11, 3), 44.6, 1),
        ],
        30,
    ) == (
        "Score over the last 30 days: 61 on 1 Nov 2026, 45 on 3 Nov 2026 (lowest 45, highest 61)."
    )
