"""Candidate measures for the suggested scorecard: every metric with signals, aggregated
several ways over several windows, for each (account, evaluation date) of the labelled
history, from the signals observed up to the end of that date (never a later one).

One set-based aggregation pass per date and slice of accounts (scoring.aggregates) computes
every candidate at once: the windows of a metric are rings read once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import Max, Min

from accounts.models import Metric, Signal
from healthboard.lib.dates import short_day_text
from scoring.aggregates import AggRequest, aggregate, window_end

# What a candidate may be: aggregations × windows (days). "last" over a year catches static
# attributes imported once (plan size, contract length); counts and sums catch events.
AGGREGATIONS = ("mean", "last", "sum", "count", "min", "max", "trend")
WINDOWS = (30, 90, 365)
# An attribute imported once (at signing) stays readable for as long as a measure can look
# back: its last value over the longest window a measure allows.
STATIC = ("last", 730)
CHUNK_ACCOUNTS = 20_000


@dataclass(frozen=True)
class Candidate:
    metric_id: int
    metric_key: str
    metric_name: str
    metric_category: str
    metric_direction: int
    aggregation: str
    window_days: int

    @property
    def request(self) -> AggRequest:
        return AggRequest(self.metric_id, self.window_days, self.aggregation)

    @property
    def label(self) -> str:
        return f"{self.metric_name}: {self.aggregation} over {self.window_days} days"


def metrics_with_data(start: dt.date, end: dt.date) -> list[Metric]:
    """The metrics with any signal that a candidate window ending in [start, end] reads."""
    first = window_end(start - dt.timedelta(days=STATIC[1] + 1))
    ids = (
        Signal.objects.filter(observed_at__gte=first, observed_at__lt=window_end(end))
        .values_list("metric_id", flat=True)
        .distinct()
    )
    return list(Metric.objects.filter(pk__in=list(ids)).order_by("pk"))


def candidates_for(metrics: list[Metric]) -> list[Candidate]:
    out = []
    for m in metrics:
        for w in WINDOWS:
            for a in AGGREGATIONS:
                out.append(Candidate(m.pk, m.key, m.name, m.category, m.direction, a, w))
        a, w = STATIC
        out.append(Candidate(m.pk, m.key, m.name, m.category, m.direction, a, w))
    return out


def candidate_matrix(
    candidates: list[Candidate], day: dt.date, ids: np.ndarray, chunk: int = CHUNK_ACCOUNTS
) -> np.ndarray:
    """(accounts × candidates) values as of the end of `day` for these sorted accounts."""
    requests = [c.request for c in candidates]
    parts = []
    for start in range(0, len(ids), chunk):
        sub = ids[start : start + chunk]
        aggregated = aggregate(as_of=day, requests=requests, account_ids=sub)
        parts.append(np.column_stack([aggregated.column(r) for r in requests]))
    return np.vstack(parts) if parts else np.empty((0, len(candidates)))


def signal_span() -> tuple[dt.datetime | None, dt.datetime | None]:
    span = Signal.objects.aggregate(first=Min("observed_at"), last=Max("observed_at"))
    return span["first"], span["last"]


def no_signals_hint(end: dt.date) -> str:
    """Why dates up to `end` see no signals, in words: none at all, or only later ones."""
    first, _last = signal_span()
    if first is None:
        return "There are no signals at all: import some first."
    if first >= window_end(end):
        return (
            f"The first signal was observed on {short_day_text(first)}, after the period: an "
            "evaluation date only sees signals observed up to it. Choose later dates."
        )
    return ""
