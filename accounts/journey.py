"""Reads for the journey board (selectors): where the accounts of each score sit in the
customer journey, stage by stage.

The board shows the active accounts scored in the latest done run. Whatever the number of
accounts, it costs three queries on top of the stages and the run, one of which reads the
run's scores (see journey_board).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Case,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast

from accounts.models import Account, JourneyStage, StageChange
from accounts.selectors import NO_OWNER
from scoring.models import Band, HealthScore, ScoreRun

# Cards per column; the rest are a link to the portfolio filtered to the stage.
CARDS_PER_STAGE = 30
# Most at risk first: a CSM works a column from the top.
BAND_RANK: dict[str, int] = {Band.RED: 0, Band.YELLOW: 1, Band.NO_DATA: 2, Band.GREEN: 3}
RISK_ORDER: tuple[str, ...] = tuple(sorted(BAND_RANK, key=BAND_RANK.__getitem__))
UNHEALTHY = (Band.RED,)


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows; every field empty means every active scored account."""

    bands: tuple[str, ...] = ()
    # None: everyone's accounts; NO_OWNER: unassigned accounts; else a user id.
    owner_id: int | None = None
    segment_id: int | None = None


@dataclass
class BandCount:
    band: str
    n: int = 0
    arr: Decimal = Decimal(0)


@dataclass
class StageColumn:
    """One journey stage: its KPIs over the filtered accounts, and its top cards."""

    stage: JourneyStage
    bands: dict[str, BandCount] = field(default_factory=dict)
    n: int = 0
    arr: Decimal = Decimal(0)
    score_sum: float = 0.0
    scored: int = 0  # accounts with a score (the "no data" band has none)
    past_target: int = 0
    median_days: float | None = None
    cards: list[HealthScore] = field(default_factory=list)

    @property
    def average_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None

    @property
    def unhealthy_share(self) -> float | None:
        """Share of the stage's accounts banded Unhealthy, 0–100."""
        if not self.n:
            return None
        return 100 * sum(self.bands[b].n for b in UNHEALTHY) / self.n

    @property
    def hidden(self) -> int:
        return self.n - len(self.cards)


def journey_stages() -> list[JourneyStage]:
    """The stages in journey order. One query."""
    return list(JourneyStage.objects.order_by("order"))


def _scores(*, run: ScoreRun, filters: BoardFilters) -> QuerySet[HealthScore]:
    """The run's scores of active accounts matching the filters (one filter() call, so the
    account is joined once)."""
    where = Q(run=run, account__status=Account.Status.ACTIVE)
    if filters.bands:
        where &= Q(band__in=filters.bands)
    if filters.owner_id == NO_OWNER:
        where &= Q(account__owner__isnull=True)
    elif filters.owner_id is not None:
        where &= Q(account__owner_id=filters.owner_id)
    if filters.segment_id is not None:
        where &= Q(account__segment_id=filters.segment_id)
    return HealthScore.objects.filter(where)


def _weighted_median(histogram: list[tuple[int, int]]) -> float | None:
    """The median of values given as (value, how many), sorted by value."""
    total = sum(n for _v, n in histogram)
    if not total:
        return None
    # The middle position(s), 0-based: one for an odd total, two (averaged) for an even one.
    lower, upper = (total - 1) // 2, total // 2
    seen, low = 0, None
    for value, n in histogram:
        if low is None and seen + n > lower:
            low = value
        if seen + n > upper:
            return (low + value) / 2
        seen += n
    return None


def _band_rank() -> Case:
    return Case(
        *[When(band=band, then=Value(rank)) for band, rank in BAND_RANK.items()],
        default=Value(len(BAND_RANK)),
        output_field=IntegerField(),
    )


# One pass over the run's scores (the CTE, built by the ORM with the filters): the grouped
# totals by stage, band and stage-entry date, and each stage's top cards by a row number
# (most at risk first, then lowest score). A CTE named twice is computed once (PostgreSQL
# materialises it). ARR is summed as a float, several times faster than numeric, and
# exact to the cent far beyond any portfolio's total.
BOARD_COLUMNS = ("b_id", "b_stage", "b_band", "b_risk", "b_score", "b_since", "b_arr", "b_account")
BOARD_SQL = """
WITH board ({columns}) AS ({scores})
SELECT 'group', b_stage, b_band, b_since, COUNT(*), SUM(b_arr), SUM(b_score), COUNT(b_score),
       NULL
FROM board GROUP BY b_stage, b_band, b_since
UNION ALL
SELECT 'card', b_stage, b_band, b_since, 1, b_arr, b_score, 1, b_id FROM (
    SELECT b_id, b_stage, b_band, b_since, b_arr, b_score,
           ROW_NUMBER() OVER (PARTITION BY b_stage ORDER BY b_risk, b_score, b_account)
           AS position
    FROM board
) AS ranked WHERE position <= %s
"""


def _board_rows(scores: QuerySet[HealthScore], per_stage: int) -> list[tuple]:
    # Annotations only, in BOARD_COLUMNS order: values() then selects exactly these.
    body = (
        scores.annotate(
            b_id=F("id"),
            b_stage=F("account__stage_id"),
            b_band=F("band"),
            b_risk=_band_rank(),
            b_score=F("score"),
            b_since=F("account__stage_since"),
            b_arr=Cast("account__arr", FloatField()),
            b_account=F("account_id"),
        )
        .order_by()
        .values(*BOARD_COLUMNS)
    )
    sql, params = body.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            BOARD_SQL.format(columns=", ".join(BOARD_COLUMNS), scores=sql), [*params, per_stage]
        )
        return cursor.fetchall()


BOARD_CACHE_KEY = "journey:board:v1:{}"
# Scores and stage moves show at once (they change the key); other edits of the accounts
# (owner, ARR, segment, status) within this long.
BOARD_CACHE_SECONDS = 60


def _board_rows_cached(*, run: ScoreRun, filters: BoardFilters, per_stage: int) -> list[tuple]:
    """BOARD_SQL's rows, kept briefly: the board is re-read on every filter, toggle and move.
    The key holds the newest score and the newest stage change, so a nightly run, a
    re-score on new signals (which replaces the account's row) or a move anywhere — the
    board, the drilldown — reads afresh. One cheap query (two primary-key lookups), plus
    BOARD_SQL when the board changed."""
    newest_score = HealthScore.objects.order_by("-pk").values("pk")[:1]
    newest_move = StageChange.objects.order_by("-pk").values("pk")[:1]
    marker = (
        ScoreRun.objects.filter(pk=run.pk)
        .values_list(Subquery(newest_score), Subquery(newest_move))
        .first()
    )
    key = BOARD_CACHE_KEY.format(
        hashlib.sha1(repr((run.pk, marker, filters, per_stage)).encode()).hexdigest()
    )
    rows = cache.get(key)
    if rows is None:
        rows = _board_rows(_scores(run=run, filters=filters), per_stage)
        cache.set(key, rows, BOARD_CACHE_SECONDS)
    return rows


def _date(value) -> dt.date | None:
    # Raw SQL on SQLite returns dates as text.
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def journey_board(
    *,
    run: ScoreRun,
    stages: list[JourneyStage],
    filters: BoardFilters,
    today: dt.date,
    cards_per_stage: int | None = None,
) -> list[StageColumn]:
    """Every stage as a column, in journey order, with its KPIs and top cards.

    Three queries: whether the board changed, one pass over the run's scores (BOARD_SQL,
    kept briefly in the cache) and the cards' accounts. The KPIs come from totals by stage,
    band and stage-entry date — as many rows as distinct dates, not as accounts; days in
    stage is today − stage_since, so the median and "past the target" are exact."""
    columns = {stage.pk: StageColumn(stage=stage) for stage in stages}
    for column in columns.values():
        column.bands = {band: BandCount(band=band) for band in RISK_ORDER}
    per_stage = CARDS_PER_STAGE if cards_per_stage is None else max(cards_per_stage, 0)
    rows = _board_rows_cached(run=run, filters=filters, per_stage=per_stage)

    entries: dict[int, dict[int, int]] = {}
    card_ids: list[int] = []
    for kind, stage_id, band, since, n, arr, total, scored, card_id in rows:
        column = columns.get(stage_id)
        if column is None or band not in column.bands:
            continue
        if kind == "card":
            card_ids.append(card_id)
            continue
        arr = Decimal(str(round(arr or 0, 2)))
        column.bands[band].n += n
        column.bands[band].arr += arr
        column.n += n
        column.arr += arr
        column.score_sum += total or 0.0
        column.scored += scored
        since = _date(since)
        if since is not None:
            days = (today - since).days
            histogram = entries.setdefault(stage_id, {})
            histogram[days] = histogram.get(days, 0) + n
            if days > column.stage.target_days:
                column.past_target += n
    for stage_id, histogram in entries.items():
        columns[stage_id].median_days = _weighted_median(sorted(histogram.items()))

    for card in _cards(card_ids):
        column = columns.get(card.account.stage_id)
        if column is not None:
            column.cards.append(card)
    return list(columns.values())


def _cards(ids: list[int]) -> list[HealthScore]:
    """The cards' scores with their accounts, most at risk first, then lowest score. One
    query (none without cards)."""
    if not ids:
        return []
    cards = list(
        HealthScore.objects.filter(pk__in=ids)
        .select_related("account")
        .only(
            "id",
            "score",
            "band",
            "account__id",
            "account__name",
            "account__arr",
            "account__stage_id",
            "account__stage_since",
            "account__owner_id",
        )
    )
    cards.sort(key=lambda c: (BAND_RANK.get(c.band, len(BAND_RANK)), c.score or 0, c.account_id))
    return cards
