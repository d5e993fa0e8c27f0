"""Reads for the journey board (selectors): where the accounts of each score sit in the
customer journey, stage by stage.

The board shows the active accounts scored in the latest done run. Whatever the number of
accounts, it costs four queries on top of the stages and the run. The newest runs on
PostgreSQL are summed from their stored cells (journey.stored). Any other run is read from
the run's scores as columns (scoring.rollups: its snapshot, and the re-scores since) and the
matching accounts' stage, stage entry and ARR as columns, read live, then the cards (see
journey_board).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from accounts.models import Account, JourneyStage
from healthboard.lib.columns import DATE, FLOAT, INT, NO_DATE, columns_of, days_of
from healthboard.pages.filters import AccountFilters
from healthboard.pages.journey import stored
from scoring.bands import CODES, RISK_ORDER, Band
from scoring.models import HealthScore, ScoreRun
from scoring.rollups.snapshots import run_columns

# Cards per column; the rest are a link to the portfolio filtered to the stage.
CARDS_PER_STAGE = 30
# Most at risk first (scoring.bands.RISK_ORDER): a CSM works a column from the top.
RISK_RANK: dict[str, int] = {band: rank for rank, band in enumerate(RISK_ORDER)}
UNHEALTHY = (Band.RED,)


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


@dataclass(frozen=True)
class _Board:
    """One entry per account on the board (numpy columns)."""

    ids: np.ndarray
    column: np.ndarray  # the stage's position in the board's stages
    band: np.ndarray  # the band's position in RISK_ORDER: its risk rank
    score: np.ndarray  # NaN: no score
    arr: np.ndarray
    days: np.ndarray  # in stage, NO_DATE where the stage entry is not known


def _board(
    *, run: ScoreRun, stages: list[JourneyStage], filters: AccountFilters, today: dt.date
) -> _Board:
    """The accounts matching the filters, scored in the run, in one of the stages, with a
    band the board knows. Two or three queries: the run's scores (scoring.rollups), then
    the accounts."""
    scores = run_columns(run=run)
    accounts = columns_of(
        Account.objects.active().filter(*filters.conditions(today)),
        id=INT,
        stage_id=INT,
        stage_since=DATE,
        arr=FLOAT,
    )
    scored, at = scores.find(accounts["id"])
    # The run's band codes → risk ranks; a band the board does not show, or one filtered
    # out, → -1.
    wanted = filters.bands or RISK_ORDER
    rank = np.full(256, -1, dtype=np.int64)
    for code, band in enumerate(CODES):
        if band in RISK_RANK and band in wanted:
            rank[code] = RISK_RANK[band]
    positions = np.full(int(max([s.pk for s in stages], default=0)) + 1, -1, dtype=np.int64)
    for position, stage in enumerate(stages):
        positions[stage.pk] = position
    stage_ids = accounts["stage_id"]
    known = (stage_ids >= 0) & (stage_ids < len(positions))
    column = np.where(known, positions[np.where(known, stage_ids, 0)], -1)
    band = np.where(scored, rank[scores.bands[at]], -1)
    keep = scored & (column >= 0) & (band >= 0)
    since = accounts["stage_since"][keep]
    return _Board(
        ids=accounts["id"][keep],
        column=column[keep],
        band=band[keep],
        score=scores.scores[at[keep]],
        arr=accounts["arr"][keep],
        days=np.where(since == NO_DATE, NO_DATE, days_of(today) - since),
    )


def journey_board(
    *,
    run: ScoreRun,
    stages: list[JourneyStage],
    filters: AccountFilters,
    today: dt.date,
    cards_per_stage: int | None = None,
) -> list[StageColumn]:
    """Every stage as a column, in journey order, with its KPIs and top cards.

    A run with stored totals (the newest runs on PostgreSQL) is summed from them
    (journey.stored): four queries whatever the number of accounts. Otherwise four (three
    once the run's day is over): the run's scores and the accounts' columns (_board),
    combined in numpy, then the cards' accounts. Days in stage is today − stage_since, so
    the median and "past the target" are exact either way."""
    columns = [StageColumn(stage=stage) for stage in stages]
    for column in columns:
        column.bands = {band: BandCount(band=band) for band in RISK_ORDER}
    per_stage = CARDS_PER_STAGE if cards_per_stage is None else max(cards_per_stage, 0)
    cells = stored.stored_cells(run=run, stages=stages, filters=filters)
    if cells is None:
        chosen = _board_live(columns, run=run, filters=filters, today=today, per_stage=per_stage)
    else:
        _board_stored(columns, run=run, filters=filters, today=today, cells=cells)
        chosen = stored.card_ids(
            run=run, stages=stages, filters=filters, cells=cells, per_stage=per_stage, today=today
        )
    by_stage = {column.stage.pk: column for column in columns}
    for card in _cards(run, chosen):
        column = by_stage.get(card.account.stage_id)
        if column is not None:
            column.cards.append(card)
    return columns


def _days_fill(column: StageColumn, histogram: list[tuple[int, int]]) -> None:
    """Median days in stage and how many are past the stage's target, from (days, accounts)
    ascending by days."""
    column.median_days = _weighted_median(histogram)
    column.past_target = sum(n for days, n in histogram if days > column.stage.target_days)


def _board_stored(
    columns: list[StageColumn], *, run: ScoreRun, filters: AccountFilters, today: dt.date, cells
) -> None:
    """The KPIs summed from the run's stored cells (journey.stored): two queries."""
    for column in columns:
        for band, count in column.bands.items():
            cell = cells.get((column.stage.pk, band))
            if cell is None:
                continue
            count.n, count.arr = cell.n, cell.arr
            column.n += cell.n
            column.arr += cell.arr
            column.score_sum += cell.score_sum
            column.scored += cell.scored
    days = stored.stage_days(
        run=run, stages=[c.stage for c in columns], filters=filters, today=today
    )
    for column in columns:
        if column.stage.pk in days:
            _days_fill(column, days[column.stage.pk])


def _board_live(
    columns: list[StageColumn],
    *,
    run: ScoreRun,
    filters: AccountFilters,
    today: dt.date,
    per_stage: int,
) -> list[int]:
    """The KPIs from every filtered account's columns, read live (_board); returns the cards'
    accounts. Two or three queries."""
    stages = [column.stage for column in columns]
    board = _board(run=run, stages=stages, filters=filters, today=today)
    cells = board.column * len(RISK_ORDER) + board.band
    size = len(columns) * len(RISK_ORDER)
    has_score = ~np.isnan(board.score)
    n = np.bincount(cells, minlength=size)
    arr = np.bincount(cells, weights=board.arr, minlength=size)
    score_sum = np.bincount(cells, weights=np.where(has_score, board.score, 0.0), minlength=size)
    scored = np.bincount(cells, weights=has_score, minlength=size)
    for i, column in enumerate(columns):
        for rank, band in enumerate(RISK_ORDER):
            cell = i * len(RISK_ORDER) + rank
            # Summed as a float (exact to the cent far beyond any portfolio's total).
            money = Decimal(str(round(float(arr[cell]), 2)))
            column.bands[band].n = int(n[cell])
            column.bands[band].arr = money
            column.n += int(n[cell])
            column.arr += money
            column.score_sum += float(score_sum[cell])
            column.scored += int(scored[cell])
        days = board.days[(board.column == i) & (board.days != NO_DATE)]
        if len(days):
            values, counts = np.unique(days, return_counts=True)
            _days_fill(column, list(zip(values.tolist(), counts.tolist(), strict=True)))

    order = _card_order(board)
    starts = np.searchsorted(board.column[order], np.arange(len(columns) + 1))
    chosen = [
        board.ids[order[starts[i] : min(starts[i + 1], starts[i] + per_stage)]]
        for i in range(len(columns))
    ]
    return [int(a) for ids in chosen for a in ids]


def _card_order(board: _Board) -> np.ndarray:
    """The board's entries stage by stage, each stage as its cards are ordered: most at risk,
    then lowest score (none last), then account."""
    has_score = ~np.isnan(board.score)
    return np.lexsort(
        (board.ids, np.where(has_score, board.score, np.inf), board.band, board.column)
    )


@dataclass(frozen=True)
class BoardRow:
    """One account on the board, for the CSV export (owner and segment by id: the page's
    form has read them already)."""

    stage: JourneyStage
    name: str
    external_id: str
    owner_id: int | None
    segment_id: int
    arr: Decimal
    renewal_date: dt.date | None
    band: str
    score: float | None
    days_in_stage: int | None


EXPORT_CHUNK = 2000
EXPORT_FIELDS = ("id", "name", "external_id", "owner_id", "segment_id", "arr", "renewal_date")


def journey_rows(
    *, run: ScoreRun, stages: list[JourneyStage], filters: AccountFilters, today: dt.date
) -> Iterator[BoardRow]:
    """Every account on the board (not only each stage's top cards), stage by stage in the
    cards' order. The board's reads (_board: two or three queries), then the accounts' own
    columns, one query per EXPORT_CHUNK of them, so memory stays flat."""
    board = _board(run=run, stages=stages, filters=filters, today=today)
    order = _card_order(board)
    for start in range(0, len(order), EXPORT_CHUNK):
        part = order[start : start + EXPORT_CHUNK]
        accounts = {
            row[0]: row
            for row in Account.objects.filter(pk__in=board.ids[part].tolist()).values_list(
                *EXPORT_FIELDS
            )
        }
        for i in part.tolist():
            account = accounts.get(int(board.ids[i]))
            if account is None:
                continue  # deleted since the board was read
            _pk, name, external_id, owner_id, segment_id, arr, renewal_date = account
            score = float(board.score[i])
            days = int(board.days[i])
            yield BoardRow(
                stage=stages[int(board.column[i])],
                name=name,
                external_id=external_id,
                owner_id=owner_id,
                segment_id=segment_id,
                arr=arr,
                renewal_date=renewal_date,
                band=RISK_ORDER[int(board.band[i])],
                score=None if np.isnan(score) else score,
                days_in_stage=None if days == NO_DATE else days,
            )


def _cards(run: ScoreRun, account_ids: list[int]) -> list[HealthScore]:
    """The cards' scores in the run with their accounts, most at risk first, then lowest
    score. One query (none without cards)."""
    if not account_ids:
        return []
    cards = list(
        HealthScore.objects.filter(run=run, account_id__in=account_ids)
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
    cards.sort(key=lambda c: (RISK_RANK.get(c.band, len(RISK_RANK)), c.score or 0, c.account_id))
    return cards
