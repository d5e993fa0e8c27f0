"""Survey sentiment as the seeds define it, for the portfolio and per segment, month by month.

- CSAT: the share of satisfied answers (4 or 5 on a 1–5 scale: the top two fifths of any
  other scale).
- CES: the average answer and the share of low-effort answers (the easy third of the
  scale; which end is easy follows the metric's direction: "more is better" = 7 is easy).
- NPS: % promoters − % detractors (9–10 and 0–6 of 0–10; other scales rescaled to 0–10).

Each with its number of answers (signals, not accounts) and a 95 % interval. Surveys are
signals of catalogue metrics (keys csat, ces, nps in the seeded catalogue); metrics imported
under other keys are found by name, and a scale is read from the metric's unit ("1–5") or,
failing that, from the answers themselves. Answers outside the scale are counted and left out.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from accounts.models import Metric, Segment, Signal
from scoring.aggregates import window_end
from scoring.analytics.metrics import Z95, wilson_interval

CSAT, CES, NPS = "csat", "ces", "nps"
KINDS = (CSAT, CES, NPS)
# How a metric is recognised when its key is not exactly the kind: key or name fragments.
NAMES = {
    CSAT: ("csat", "satisfaction"),
    CES: ("ces", "effort"),
    NPS: ("nps", "net promoter", "recommend"),
}
DEFAULT_SCALE = {CSAT: (1.0, 5.0), CES: (1.0, 7.0), NPS: (0.0, 10.0)}
TITLES = {CSAT: "CSAT", CES: "Customer effort (CES)", NPS: "NPS"}


def parse_scale(unit: str) -> tuple[float, float] | None:
    """ "1–5", "0-10", "rating 1 to 7" → (low, high); None when the unit names no scale."""
    found = re.search(r"(-?\d+(?:\.\d+)?)\s*(?:–|-|—|to|\.\.)\s*(-?\d+(?:\.\d+)?)", unit or "")
    if not found:
        return None
    low, high = float(found.group(1)), float(found.group(2))
    return (low, high) if low < high else None


def infer_scale(kind: str, values: np.ndarray) -> tuple[float, float]:
    """The scale the answers were most likely given on, from their smallest and largest."""
    if not values.size:
        return DEFAULT_SCALE[kind]
    low, high = float(values.min()), float(values.max())
    if kind == NPS and high <= 10:
        return 0.0, 10.0
    for top in (5.0, 7.0, 10.0, 100.0):
        if high <= top:
            return (0.0 if low < 1 else 1.0), top
    return low, high


def find_metric(kind: str, metrics: list[Metric]) -> Metric | None:
    """The catalogue metric holding a survey kind: its key exactly, else a key or name that
    contains one of the kind's words (the first in catalogue order)."""
    for m in metrics:
        if m.key.lower() == kind:
            return m
    for m in metrics:
        text = f"{m.key} {m.name}".lower().replace("_", " ")
        if any(re.search(rf"\b{re.escape(w)}\b", text) for w in NAMES[kind]):
            return m
    return None


@dataclass(frozen=True)
class Scale:
    low: float
    high: float
    higher_is_better: bool = True

    def position(self, values: np.ndarray) -> np.ndarray:
        """0 at the scale's bottom, 1 at its top."""
        return (values - self.low) / (self.high - self.low)


@dataclass
class Figure:
    """One kind's figure over a set of answers."""

    responses: int
    value: float | None  # CSAT %, CES average answer, NPS points
    low: float | None
    high: float | None
    share: float | None = None  # CES: % low-effort answers
    share_low: float | None = None
    share_high: float | None = None
    promoters: int | None = None
    detractors: int | None = None


def figure(kind: str, scale: Scale, values: np.ndarray, counts: np.ndarray) -> Figure:
    """The kind's figure from distinct answers and how often each was given."""
    n = int(counts.sum())
    if n == 0:
        return Figure(0, None, None, None)
    pos = scale.position(values)
    if kind == CSAT:
        k = int(counts[pos >= 0.75 - 1e-9].sum())
        low, high = wilson_interval(k, n)
        return Figure(n, 100 * k / n, 100 * low, 100 * high)
    if kind == NPS:
        tenths = values if scale.high == 10 else 10 * pos
        p = int(counts[tenths >= 9].sum())
        d = int(counts[tenths <= 6].sum())
        fp, fd = p / n, d / n
        sd = math.sqrt(max(fp + fd - (fp - fd) ** 2, 0.0) / n)
        score = fp - fd
        return Figure(
            n,
            100 * score,
            100 * max(-1.0, score - Z95 * sd),
            100 * min(1.0, score + Z95 * sd),
            promoters=p,
            detractors=d,
        )
    mean = float((values * counts).sum() / n)
    var = float((counts * (values - mean) ** 2).sum() / max(n - 1, 1))
    half = Z95 * math.sqrt(var / n) if n > 1 else None
    easy = pos >= 2 / 3 - 1e-9 if scale.higher_is_better else pos <= 1 / 3 + 1e-9
    k = int(counts[easy].sum())
    s_low, s_high = wilson_interval(k, n)
    return Figure(
        n,
        mean,
        None if half is None else mean - half,
        None if half is None else mean + half,
        share=100 * k / n,
        share_low=100 * s_low,
        share_high=100 * s_high,
    )


@dataclass
class SurveySeries:
    kind: str
    title: str
    metric_key: str
    metric_name: str
    scale: list[float]
    higher_is_better: bool
    out_of_scale: int
    total: dict
    months: list[dict] = field(default_factory=list)  # [{month: "YYYY-MM", **Figure}]
    segments: dict[str, list[dict]] = field(default_factory=dict)


@dataclass
class SurveyReport:
    start: str
    end: str
    series: list[SurveySeries]
    missing: list[str]  # kinds with no metric or no answers, in words

    def to_json(self) -> dict:
        return asdict(self)


def _month_key(value) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def survey_report(*, start: dt.date, end: dt.date) -> SurveyReport:
    """CSAT, CES and NPS per month for the portfolio and per segment, answers observed from
    the start of `start` to the end of `end`. One grouped query: answers are few distinct
    values, so rows are months × segments × metrics × values, never one per signal."""
    metrics = list(Metric.objects.order_by("pk"))
    chosen = {kind: find_metric(kind, metrics) for kind in KINDS}
    missing = [
        _("No %(survey)s metric in the catalogue.") % {"survey": TITLES[k]}
        for k, m in chosen.items()
        if m is None
    ]
    found = {k: m for k, m in chosen.items() if m is not None}
    if not found:
        return SurveyReport(start.isoformat(), end.isoformat(), [], missing)
    rows = (
        Signal.objects.filter(
            metric_id__in=[m.pk for m in found.values()],
            observed_at__gte=window_end(start - dt.timedelta(days=1)),
            observed_at__lt=window_end(end),
        )
        .annotate(month=TruncMonth("observed_at"))
        .values_list("month", "account__segment_id", "metric_id", "value")
        .annotate(n=Count("id"))
    )
    by_metric: dict[int, list[tuple]] = defaultdict(list)
    for month, segment, metric, value, n in rows:
        by_metric[metric].append((_month_key(month), segment, float(value), int(n)))
    segment_names = dict(Segment.objects.values_list("pk", "name"))
    series = []
    for kind, metric in found.items():
        data = by_metric.get(metric.pk, [])
        if not data:
            missing.append(
                _("No %(survey)s answers (%(key)s) in the period.")
                % {"survey": TITLES[kind], "key": metric.key}
            )
            continue
        series.append(_series(kind, metric, data, segment_names))
    return SurveyReport(start.isoformat(), end.isoformat(), series, missing)


def _series(kind: str, metric: Metric, data: list[tuple], segment_names: dict) -> SurveySeries:
    values = np.array([d[2] for d in data])
    low, high = parse_scale(metric.unit) or infer_scale(kind, values)
    scale = Scale(low, high, metric.direction >= 0)
    inside = (values >= low) & (values <= high)
    counts = np.array([d[3] for d in data])
    out = SurveySeries(
        kind=kind,
        title=TITLES[kind],
        metric_key=metric.key,
        metric_name=metric.name,
        scale=[low, high],
        higher_is_better=scale.higher_is_better,
        out_of_scale=int(counts[~inside].sum()),
        total=asdict(figure(kind, scale, values[inside], counts[inside])),
    )

    def group(keys: list) -> dict:
        buckets: dict = defaultdict(lambda: defaultdict(int))
        for key, (_low, _high, value, n), ok in zip(keys, data, inside, strict=True):
            if ok:
                buckets[key][value] += n
        return buckets

    def figures(buckets: dict) -> list[dict]:
        result = []
        for month in sorted(buckets):
            answers = buckets[month]
            v = np.array(list(answers.keys()))
            c = np.array(list(answers.values()))
            result.append({"month": month, **asdict(figure(kind, scale, v, c))})
        return result

    out.months = figures(group([d[0] for d in data]))
    per_segment = group([(d[1], d[0]) for d in data])
    by_segment: dict = defaultdict(dict)
    for (segment, month), answers in per_segment.items():
        by_segment[segment_names.get(segment, f"Segment {segment}")][month] = answers
    out.segments = {name: figures(months) for name, months in sorted(by_segment.items())}
    return out
