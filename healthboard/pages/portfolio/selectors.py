"""Reads that build page data (selectors): keyword-only, typed, a bounded number of queries.

Writes that touch several models live in services; these functions only read.
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.expressions import OrderBy

from accounts.models import Account
from healthboard.lib.planner import serial_plan
from healthboard.pages.filters import AccountFilters
from scoring.bands import ORDER, Band
from scoring.models import HealthScore, ScoreRun
from scoring.rollups.totals import RunTotal


def score_run_latest() -> ScoreRun | None:
    """The newest finished run: every page shows the scores of this one. One query."""
    return ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date").first()


# ---------------------------------------------------------------- portfolio
#
# The portfolio lists active accounts with their score in one done run. Every read below is
# one query whatever the number of accounts: the page's rows (LIMIT 50), the band summary
# (which also gives the paginator its count), and the sparklines of the page's rows.

PAGE_SIZE = 50
SPARKLINE_DAYS = 30
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class PortfolioFilters(AccountFilters):
    """What the portfolio shows: the account filters and its own; every field empty means
    "all active accounts"."""

    # The band on the done run a week before the shown one (the weekly review's transitions).
    prev_bands: tuple[str, ...] = ()
    moved: float | None = None
    sort: str = "score"


# sort key → the columns it orders by, ascending; "-key" reverses them. Missing values
# (no score, no renewal date) always sort last.
SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "owner": ("owner__first_name", "owner__last_name", "owner__username"),
    "segment": ("segment__name",),
    "stage": ("stage__order",),
    "arr": ("arr",),
    "renewal": ("renewal_date",),
    "score": ("cur__score",),
    "delta": ("cur__delta_7d",),
    "coverage": ("cur__coverage",),
}


# What a row shows (the stages' descriptions and practices stay in the database).
ROW_FIELDS = (
    "name",
    "external_id",
    "arr",
    "renewal_date",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "segment__name",
    "segment__slug",
    "stage__name",
    "stage__slug",
    "stage__order",
)


def sort_is_valid(sort: str) -> bool:
    return sort.removeprefix("-") in SORT_FIELDS


@dataclass(frozen=True)
class RunPair:
    """The shown run and the done run seven days before it (None when there is none)."""

    run: ScoreRun
    week_before: ScoreRun | None


def score_runs_for(*, on: dt.date | None = None) -> RunPair | None:
    """The done run on `on` (the latest when None) and the one a week before. One query.

    Done runs are unique per date, so the run seven days back is among the eight newest
    up to the date. None when there is no done run on that date (or none at all). Each run
    says whether it has stored totals (`has_totals`, see scoring/rollups/totals.py).
    """
    runs = list(
        ScoreRun.objects.filter(status=ScoreRun.Status.DONE)
        .filter(**({"date__lte": on} if on else {}))
        .annotate(has_totals=Exists(RunTotal.objects.filter(run=OuterRef("pk"))))
        .order_by("-date")
        .only("id", "date", "status", "finished_at")[:8]
    )
    if not runs or (on is not None and runs[0].date != on):
        return None
    run = runs[0]
    week_before = next((r for r in runs if r.date == run.date - WEEK), None)
    return RunPair(run=run, week_before=week_before)


def _portfolio_accounts(
    *, runs: RunPair, filters: PortfolioFilters, today: dt.date, with_bands: bool = True
) -> QuerySet[Account]:
    """Active accounts scored in the run that match the filters, annotated with that score
    (`cur`) and, when asked about, the score a week before (`prev`).

    with_bands=False leaves out the band filter: the summary counts every band.
    """
    qs = Account.objects.annotate(cur=FilteredRelation("scores", condition=Q(scores__run=runs.run)))
    # One filter() call: each further call on a multi-valued relation would join it again.
    # Filtering on `cur` makes it an inner join, so unscored accounts drop out.
    where = [Q(cur__run=runs.run)]
    if with_bands and filters.bands:
        where.append(Q(cur__band__in=filters.bands))
    if filters.prev_bands:
        if runs.week_before is None:
            return qs.none()
        qs = qs.annotate(prev=FilteredRelation("scores", condition=Q(scores__run=runs.week_before)))
        where.append(Q(prev__band__in=filters.prev_bands))
    where += filters.conditions(today)
    if filters.moved is not None:
        where.append(Q(cur__delta_7d__gte=filters.moved) | Q(cur__delta_7d__lte=-filters.moved))
    return qs.active().filter(*where)


# Sort columns that are never NULL. Descending, they are ordered without NULLS LAST (the
# same rows): PostgreSQL walks an index backwards only for the plain DESC order.
NEVER_NULL = frozenset({"name", "arr"})


def _ordering(sort: str) -> list[OrderBy]:
    descending = sort.startswith("-")
    fields = SORT_FIELDS.get(sort.removeprefix("-"), SORT_FIELDS["score"])
    order = [
        (F(field).desc() if field in NEVER_NULL else F(field).desc(nulls_last=True))
        if descending
        else F(field).asc(nulls_last=True)
        for field in fields
    ]
    # A unique tie-break keeps pages stable: no account on two pages, none skipped.
    return [*order, F("name").asc(), F("id").asc()]


def _with_score_fields(qs: QuerySet[Account], sort: str) -> QuerySet[Account]:
    return (
        qs.select_related("owner", "segment", "stage")
        .only(*ROW_FIELDS)
        .annotate(
            score=F("cur__score"),
            band=F("cur__band"),
            coverage=F("cur__coverage"),
            delta_7d=F("cur__delta_7d"),
        )
        .order_by(*_ordering(sort))
    )


def portfolio_accounts(
    *, runs: RunPair, filters: PortfolioFilters, today: dt.date
) -> QuerySet[Account]:
    """Every filtered row, sorted: accounts with score, band, coverage and delta_7d (the
    CSV export iterates it). One query."""
    return _with_score_fields(
        _portfolio_accounts(runs=runs, filters=filters, today=today), filters.sort
    )


def portfolio_page(
    *, runs: RunPair, filters: PortfolioFilters, today: dt.date, start: int, stop: int
) -> list[Account]:
    """Rows start..stop of portfolio_accounts. One query.

    The sort runs over the narrow join of scores and accounts in a subquery; owner, segment
    and stage are joined for the page's rows only, not for every matching account.
    """
    page_ids = (
        _portfolio_accounts(runs=runs, filters=filters, today=today)
        .order_by(*_ordering(filters.sort))
        .values("pk")[start:stop]
    )
    qs = Account.objects.annotate(
        cur=FilteredRelation("scores", condition=Q(scores__run=runs.run))
    ).filter(cur__run=runs.run, pk__in=Subquery(page_ids))
    # Worst first (the default) walks the run's scores in index order, and for a CSM's book
    # PostgreSQL would split that walk between parallel workers: see serial_plan. Other
    # orders are sorted, and the workers help there.
    with serial_plan() if filters.sort == "score" else nullcontext():
        return list(_with_score_fields(qs, filters.sort))


class SummaryRow(TypedDict):
    band: str
    label: str
    n: int
    arr: Decimal
    share: float  # % of the accounts summarised, 0–100
    week_before: int  # accounts in this band on the run a week before
    change: int | None  # n − week_before; None when there is no run a week before


class PortfolioSummary(TypedDict):
    rows: list[SummaryRow]
    n: int
    arr: Decimal
    compared: bool  # whether there was a run a week before to compare with


def _week_before_counts(
    *, runs: RunPair, filters: PortfolioFilters, today: dt.date
) -> dict[str, int]:
    """Accounts per band on the run a week before, for the same filters. One query.

    Filters on the account itself select last week's accounts directly: then the count is
    what that run scored (the accounts active then), and needs no join when nothing is
    filtered. Filters on the scores (moved, was-in-band) select accounts by this week's
    run: then it is the same accounts a week before.
    """
    scores = HealthScore.objects.filter(run=runs.week_before)
    if filters.moved is not None or filters.prev_bands:
        chosen = _portfolio_accounts(runs=runs, filters=filters, today=today, with_bands=False)
        scores = scores.filter(account_id__in=Subquery(chosen.values("pk")))
    else:
        scores = scores.filter(*filters.conditions(today, prefix="account__"))
    return dict(scores.values_list("band").annotate(n=Count("id")).order_by())


def _live_counts(*, runs: RunPair, filters: PortfolioFilters, today: dt.date) -> dict[str, dict]:
    """Active accounts and ARR per band in the shown run, counted from the scores. One query."""
    qs = _portfolio_accounts(runs=runs, filters=filters, today=today, with_bands=False)
    return {
        row["cur__band"]: row
        for row in qs.values("cur__band").annotate(n=Count("id"), arr=Sum("arr")).order_by()
    }


def _cell_conditions(filters: PortfolioFilters) -> Q | None:
    """The filters as conditions on stored totals' cells (owner, segment, stage); None when
    a filter needs more of the account or of its scores than a cell knows."""
    if filters.renewal_within is not None or filters.q:
        return None
    if filters.moved is not None or filters.prev_bands:
        return None
    return filters.cell_conditions()


def _stored_counts(*, runs: list[ScoreRun], cells: Q) -> dict[int, dict[str, dict]]:
    """Per run and band: active accounts (n) and their ARR, and every account the run scored
    (n_all: churned ones too, as the week-before comparison counts), summed over the stored
    totals' cells that match. One query for all the runs; a run missing from the answer has
    no totals (any more)."""
    active = Q(active=True) & cells
    rows = (
        RunTotal.objects.filter(run__in=runs)
        .values("run_id", "band")
        .annotate(
            accounts=Sum("n", filter=active, default=0),
            total_arr=Sum("arr", filter=active, default=Decimal(0)),
            accounts_all=Sum("n", filter=cells, default=0) if cells else Sum("n"),
        )
        .order_by()
    )
    counts: dict[int, dict[str, dict]] = {}
    for row in rows:
        counts.setdefault(row["run_id"], {})[row["band"]] = {
            "n": row["accounts"],
            "arr": row["total_arr"],
            "n_all": row["accounts_all"],
        }
    return counts


def portfolio_summary(
    *, runs: RunPair, filters: PortfolioFilters, today: dt.date
) -> PortfolioSummary:
    """Accounts and ARR per band for the filters (bands aside: the strip lists every band,
    and picking one is a filter), and the change in each band's count since the run a week
    before (see _week_before_counts).

    Runs with stored totals are summed from them when the filters are on owner and segment
    only (one query for both runs); otherwise, or for a run without totals, counted
    from the scores: one query per run. At most three queries, one when both have totals.
    """
    compared = runs.week_before is not None
    cells = _cell_conditions(filters)
    stored_runs = [
        run
        for run in (runs.run, runs.week_before)
        if run is not None and getattr(run, "has_totals", False)
    ]
    stored = (
        _stored_counts(runs=stored_runs, cells=cells) if stored_runs and cells is not None else {}
    )

    if runs.run.pk in stored:
        now = stored[runs.run.pk]
    else:
        now = _live_counts(runs=runs, filters=filters, today=today)
    before: dict[str, int] = {}
    if compared and runs.week_before.pk in stored:
        before = {band: row["n_all"] for band, row in stored[runs.week_before.pk].items()}
    elif compared:
        before = _week_before_counts(runs=runs, filters=filters, today=today)

    total = sum(row["n"] for row in now.values())
    rows = []
    for band in ORDER:
        row = now.get(band, {})
        n = row.get("n", 0)
        week_before = before.get(band, 0)
        rows.append(
            SummaryRow(
                band=str(band),
                label=Band(band).label,
                n=n,
                arr=row.get("arr") or Decimal(0),
                share=round(100 * n / total, 1) if total else 0.0,
                week_before=week_before,
                change=n - week_before if compared else None,
            )
        )
    return PortfolioSummary(
        rows=rows,
        n=total,
        arr=sum((row["arr"] for row in rows), Decimal(0)),
        compared=compared,
    )


def score_sparklines(
    *, account_ids: list[int], until: dt.date, days: int = SPARKLINE_DAYS
) -> dict[int, list[float | None]]:
    """Each account's daily score over the `days` days up to `until` from done runs, one
    slot per day (None where there is no score). One query (index score_account_date)."""
    start = until - dt.timedelta(days=days - 1)
    history: dict[int, list[float | None]] = {pk: [None] * days for pk in account_ids}
    if not account_ids:
        return history
    rows = HealthScore.objects.filter(
        account_id__in=account_ids,
        date__gte=start,
        date__lte=until,
        run__status=ScoreRun.Status.DONE,
    ).values_list("account_id", "date", "score")
    for account_id, date, score in rows:
        history[account_id][(date - start).days] = score
    return history
