"""Reads for the account drilldown (selectors): the account, its latest snapshots, its score
history and the versions that scored it; its signal and note timelines, a page at a time.
Each function is a fixed number of queries.

Timeline pages are cut by keyset ("older than this (time, id)"), not OFFSET: the database
walks the (account, time) index from the cursor, so page 40 costs what page 1 costs, and a
signal arriving while someone reads does not shift the next page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db.models import Prefetch, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Account, Metric, Note, Segment, Sentiment, Signal
from healthboard.pages.charts import HistoryRow, VersionBands
from scoring.models import HealthScore, Measure, ScorecardVersion, ScoreRun
from scoring.models.actions import CallToAction

RANGES = (30, 90, 365)
DEFAULT_RANGE = 90


def range_days(value: str | None) -> int:
    """?range=30|90|365; anything else is the default, never an error."""
    try:
        days = int(value or "")
    except ValueError:
        return DEFAULT_RANGE
    return days if days in RANGES else DEFAULT_RANGE


def account_get(*, pk: int) -> Account:
    """The account with what its header shows, or 404. One query."""
    return get_object_or_404(Account.objects.select_related("owner", "segment", "stage"), pk=pk)


def history_end(account: Account) -> dt.date:
    """The last day the trend shows: today, or the churn date (scores stop there)."""
    if not account.is_active and account.churn_date:
        return account.churn_date
    return timezone.localdate()


def account_ctas(*, account: Account) -> list[CallToAction]:
    """The account's open and snoozed calls to action with their owners, the most urgent
    first. One query."""
    return list(
        CallToAction.objects.filter(account=account)
        .active()
        .select_related("owner")
        .only(
            "title",
            "status",
            "due_date",
            "priority",
            "snoozed_until",
            "account_id",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
        )
        .order_by("due_date", "priority", "id")
    )


@dataclass(frozen=True)
class Snapshots:
    current: HealthScore | None
    week_before: HealthScore | None  # the snapshot 7 days before current (or the newest older)


def _published(account: Account):
    return HealthScore.objects.filter(account=account, run__status=ScoreRun.Status.DONE).annotate(
        # The run's percentile band cut-offs ride along on the join the status filter makes
        # anyway, without the run's (large) population samples.
        band_cuts=KeyTransform("band_cuts", "run__reference")
    )


def snapshots_latest(*, account: Account) -> Snapshots:
    """The account's newest published snapshot and the one a week before it (each with
    .band_cuts, its run's percentile cut-offs). One query: the newest eight days hold both
    unless days are missing."""
    rows = list(_published(account).order_by("-date")[:8])
    if not rows:
        return Snapshots(None, None)
    current = rows[0]
    week = current.date - dt.timedelta(days=7)
    before = next((row for row in rows if row.date <= week), None)
    return Snapshots(current, before)


def score_history(*, account: Account, days: int, end: dt.date) -> list[HistoryRow]:
    """(date, score, version id) of each published day in the `days` up to `end`, oldest
    first. One query on the (account, date) index, values only."""
    start = end - dt.timedelta(days=days - 1)
    return list(
        HealthScore.objects.filter(
            account=account,
            run__status=ScoreRun.Status.DONE,
            date__gte=start,
            date__lte=end,
        )
        .order_by("date")
        .values_list("date", "score", "version_id")
    )


def versions_load(ids: Iterable[int]) -> dict[int, ScorecardVersion]:
    """Versions with their scorecard, measures and category weights. Three queries."""
    return {
        v.pk: v
        for v in ScorecardVersion.objects.filter(pk__in=set(ids))
        .select_related("scorecard")
        .prefetch_related(
            Prefetch("measures", queryset=Measure.objects.order_by("order", "id")),
            "category_weights",
            # Which segments a scorecard serves does not matter to an explanation; an empty
            # queryset fills the cache version_config reads without a query.
            Prefetch("scorecard__segments", queryset=Segment.objects.none()),
        )
    }


def version_bands(
    versions: Iterable[ScorecardVersion], cuts: dict[str, list | None] | None = None
) -> dict[int, VersionBands]:
    """What the trend chart needs of each version. Percentile versions take their cut-offs
    from a run's reference (`cuts`: {version id: [red max, green min]}) or show no bands."""
    cuts = cuts or {}
    out = {}
    for v in versions:
        if v.band_mode == ScorecardVersion.BandMode.PERCENTILE:
            pair = cuts.get(str(v.pk)) or [None, None]
            red, green = (list(pair) + [None, None])[:2]
        else:
            red, green = v.red_below, v.green_at
        out[v.pk] = VersionBands(id=v.pk, label=f"v{v.number}", red_below=red, green_at=green)
    return out


def versions_light(ids: Iterable[int]) -> list[ScorecardVersion]:
    """Just what the chart needs of the versions. One query."""
    return list(
        ScorecardVersion.objects.filter(pk__in=set(ids)).only(
            "id", "number", "band_mode", "red_below", "green_at"
        )
    )


def latest_band_cuts(*, account: Account) -> dict[str, list | None]:
    """The percentile band cut-offs of the run of the account's newest snapshot. One query."""
    latest = _published(account).order_by("-date").values_list("band_cuts", flat=True).first()
    return cuts_of(latest)


def cuts_of(value) -> dict[str, list | None]:
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------- timelines

SIGNALS_PER_PAGE = 25
NOTES_PER_PAGE = 20

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first timeline: everything strictly older than (at, pk)."""

    at: dt.datetime
    pk: int

    def __str__(self) -> str:
        micros = (self.at - _EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}_{self.pk}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """A cursor from a URL; anything malformed is None (the first page), never an error."""
        try:
            micros, pk = (text or "").split("_")
            at = _EPOCH + dt.timedelta(microseconds=int(micros))
            cursor = cls(at, int(pk))
        except (ValueError, OverflowError):
            return None
        return cursor if cursor.pk > 0 else None


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    next: Cursor | None  # where the following (older) page starts; None at the end


def _page(qs: QuerySet, *, field: str, before: Cursor | None, size: int) -> Page:
    if before is not None:
        older = Q(**{f"{field}__lt": before.at}) | Q(**{field: before.at, "pk__lt": before.pk})
        # The redundant "<=" is a range the index can seek to; the OR alone makes the
        # database walk (and discard) every newer row first.
        qs = qs.filter(older, **{f"{field}__lte": before.at})
    # One row more than the page tells whether there is a next page without a COUNT.
    rows = list(qs.order_by(f"-{field}", "-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, Cursor(getattr(rows[-1], field), rows[-1].pk) if more else None)


def metrics_all() -> dict[int, Metric]:
    """The metric catalogue by id (tens of rows). One query."""
    return {m.pk: m for m in Metric.objects.all()}


def signal_categories(metrics: dict[int, Metric]) -> list[str]:
    """The metric categories signals can be filtered by (Usage, Support, …), in order."""
    return sorted({m.category for m in metrics.values() if m.category})


def signals_of(
    *, account: Account, metrics: dict[int, Metric], category: str | None = None
) -> QuerySet[Signal]:
    """The account's signals, of one metric category when given, unordered: the timeline
    pages through them, the CSV export streams them all."""
    qs = Signal.objects.filter(account=account)
    if category:
        qs = qs.filter(metric_id__in=[pk for pk, m in metrics.items() if m.category == category])
    return qs


def signals_page(
    *,
    account: Account,
    metrics: dict[int, Metric],
    category: str | None = None,
    before: Cursor | None = None,
    size: int = SIGNALS_PER_PAGE,
) -> Page[Signal]:
    """The account's signals newest first, optionally of one metric category. One query; each
    signal's metric comes from `metrics` (metrics_all()), not a join."""
    qs = signals_of(account=account, metrics=metrics, category=category)
    page = _page(qs, field="observed_at", before=before, size=size)
    for signal in page.rows:
        # Saves a query per signal when the template reads signal.metric.
        if signal.metric_id in metrics:
            signal.metric = metrics[signal.metric_id]
    return page


def notes_page(
    *, account: Account, before: Cursor | None = None, size: int = NOTES_PER_PAGE
) -> Page[Note]:
    """The account's notes (calls, meetings, stage changes) newest first. One query."""
    qs = Note.objects.filter(account=account).select_related("author")
    return _page(qs, field="created_at", before=before, size=size)


def sentiments_recent(*, account: Account, limit: int) -> list[Sentiment]:
    """The account's CSM sentiments newest first (the current one, if any, is the first:
    setting one replaces the one before), with who set and ended them. One query."""
    return list(
        Sentiment.objects.filter(account=account)
        .select_related("set_by", "ended_by")
        .order_by("-set_at", "-id")[:limit]
    )


def notes_all(*, account: Account) -> QuerySet[Note]:
    """Every note of the account, newest first, with its author (the CSV export). One query."""
    return (
        Note.objects.filter(account=account).select_related("author").order_by("-created_at", "-pk")
    )


def score_history_rows(*, account: Account, days: int, end: dt.date) -> QuerySet:
    """Each published day in the `days` up to `end`, oldest first, as tuples of (date, score,
    band, coverage, change over 7 days, scorecard name, version number): the trend's days
    for the CSV export. One query."""
    start = end - dt.timedelta(days=days - 1)
    return (
        HealthScore.objects.filter(
            account=account,
            run__status=ScoreRun.Status.DONE,
            date__gte=start,
            date__lte=end,
        )
        .order_by("date")
        .values_list(
            "date",
            "score",
            "band",
            "coverage",
            "delta_7d",
            "version__scorecard__name",
            "version__number",
        )
    )
