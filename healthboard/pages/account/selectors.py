"""Reads for the account drilldown (selectors): the account, its latest snapshots, its score
history and the versions that scored it. Each function is a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch
from django.db.models.fields.json import KeyTransform
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Account, Segment
from healthboard.pages.charts import HistoryRow, VersionBands
from scoring.models import HealthScore, Measure, ScorecardVersion, ScoreRun

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
