"""The journey board summed from the run's stored cells (scoring.rollups.totals), so that its
cost does not grow with the number of accounts.

A run with stored totals (the newest runs, on PostgreSQL) keeps, exact after every write,
its accounts and ARR and their scores summed per band × owner × segment × stage (RunTotal),
and its active accounts per band × segment × stage × day of stage entry (RunStageDay). The
board's filters (owner, segment, health) are keys of both, so:

- the KPIs per stage and band are a sum over the cells (one query);
- days in stage (median, past the target) come from the days' cells (RunStageDay, or for
  one owner's book RunBookDay), summed over segments and bands (one query);
- the cards: how many each stage takes from each band, and how many of those have a score,
  is known from the cells, so one query fetches exactly those (card_ids).

Five queries whatever the number of accounts (two without cards): the card query runs
without parallel workers (healthboard.lib.planner), which takes two. A run without stored
totals (SQLite, an older run) is read by journey_board's own path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Min, Q, Sum

from accounts.models import Account, JourneyStage
from healthboard.lib.planner import serial_plan
from healthboard.pages.filters import AccountFilters
from scoring.bands import RISK_ORDER
from scoring.models import RunBookDay, RunStageDay, RunTotal, ScoreRun
from scoring.models.rollups import NO_OWNER

# What reading one of a stage's accounts (and its score) costs, in entries of a walk of the
# run's scores: a stage is read when that is cheaper than the walk its cards need. Measured
# at a million accounts: 9–20 µs an account read (26–55 ms for a CSM's 2,803 in a stage),
# 1.2–6 µs an entry walked (6 ms for 5,000).
STAGE_READ_COST = 8


def _cell_filter(filters: AccountFilters, wanted: tuple[str, ...]) -> Q:
    where = Q(band__in=wanted)
    if filters.owner_id is not None:
        where &= Q(owner_id=filters.owner_id)
    if filters.segment_id is not None:
        where &= Q(segment_id=filters.segment_id)
    return where


def _cell_filter(filters: AccountFilters, bands: tuple[str, ...]) -> Q:
    where = Q(band__in=bands)
    if filters.owner_id is not None:
        where &= Q(owner_id=filters.owner_id)
    if filters.segment_id is not None:
        where &= Q(segment_id=filters.segment_id)
    return where


@dataclass
class Cell:
    """One stage and band of the board, under its filters."""

    n: int = 0
    arr: Decimal = Decimal(0)
    score_sum: float = 0.0
    scored: int = 0
    # No score of the cell's accounts is lower (None: none has one).
    low: float | None = None
    # For the cards' plan: the stage's accounts under the filters in every band, and the
    # run's active accounts of the band with a score and without one.
    stage_all: int = 0
    band_scored: int = 0
    band_unscored: int = 0


def stored_cells(
    *, run: ScoreRun, stages: list[JourneyStage], filters: AccountFilters
) -> dict[tuple[int, str], Cell] | None:
    """Per (stage id, band) of the board, its Cell; None when the run has no stored totals.
    One query (two when the run has no totals)."""
    wanted = tuple(filters.bands) or RISK_ORDER
    where = _cell_filter(filters, wanted)
    rows = list(
        RunTotal.objects.filter(run=run, active=True)
        .values("stage_id", "band")
        .annotate(
            accounts=Sum("n", filter=where, default=0),
            money=Sum("arr", filter=where, default=Decimal(0)),
            scores=Sum("score_sum", filter=where, default=0.0),
            with_score=Sum("scored", filter=where, default=0),
            low=Min("score_low", filter=where),
            in_stage=Sum("n", filter=_cell_filter(filters, RISK_ORDER), default=0),
            in_band=Sum("n", default=0),
            in_band_scored=Sum("scored", default=0),
        )
        .order_by()
    )
    if not rows and not RunTotal.objects.filter(run=run).exists():
        return None
    known = {stage.pk for stage in stages}
    cells: dict[tuple[int, str], Cell] = {}
    stage_all: dict[int, int] = {}
    band_scored: dict[str, int] = {}
    band_unscored: dict[str, int] = {}
    for row in rows:
        band = row["band"]
        band_scored[band] = band_scored.get(band, 0) + row["in_band_scored"]
        band_unscored[band] = band_unscored.get(band, 0) + row["in_band"] - row["in_band_scored"]
        if row["stage_id"] not in known:
            continue
        stage_all[row["stage_id"]] = stage_all.get(row["stage_id"], 0) + row["in_stage"]
        if band in wanted:
            cells[(row["stage_id"], band)] = Cell(
                n=row["accounts"],
                arr=row["money"],
                score_sum=row["scores"],
                scored=row["with_score"],
                low=row["low"],
            )
    for (stage_id, band), cell in cells.items():
        cell.stage_all = stage_all.get(stage_id, 0)
        cell.band_scored = band_scored.get(band, 0)
        cell.band_unscored = band_unscored.get(band, 0)
    return cells


def stage_days(
    *, run: ScoreRun, stages: list[JourneyStage], filters: AccountFilters, today: dt.date
) -> dict[int, list[tuple[int, int]]]:
    """Per stage id: (days in stage, accounts) ascending by days, over the filtered active
    accounts of the run whose stage entry is known: one book's days cells for an owner
    filter, else the whole portfolio's. One query."""
    wanted = tuple(filters.bands) or RISK_ORDER
    where = Q(run=run, stage_id__in=[stage.pk for stage in stages], band__in=wanted)
    if filters.segment_id is not None:
        where &= Q(segment_id=filters.segment_id)
    if filters.owner_id is None:
        cells = RunStageDay.objects.filter(where)
    else:
        cells = RunBookDay.objects.filter(where, owner_id=filters.owner_id)
    rows = cells.values_list("stage_id", "stage_since").annotate(accounts=Sum("n"))
    days: dict[int, list[tuple[int, int]]] = {}
    for stage_id, since, accounts in rows.order_by("stage_id", "-stage_since"):
        if accounts:
            days.setdefault(stage_id, []).append(((today - since).days, accounts))
    return days


@dataclass(frozen=True)
class _Part:
    """Cards of one stage and band: `take` of them, the lowest scores first (or, unscored,
    by account), found by walking the run's scores or by reading the stage's accounts."""

    stage_id: int
    band: str
    take: int
    unscored: bool
    low: float | None
    from_stage: bool


def _card_plan(
    stages: list[JourneyStage], cells: dict[tuple[int, str], Cell], per_stage: int
) -> Iterator[_Part]:
    """Each stage's cards: its riskiest band first, as many as it holds, until the stage
    has `per_stage`; within a band, those with a score first (lowest first), then those
    without (by account)."""
    for stage in stages:
        left = per_stage
        for band in RISK_ORDER:
            cell = cells.get((stage.pk, band))
            if left <= 0 or cell is None or cell.n <= 0:
                continue
            take = min(left, cell.n)
            left -= take
            scored = min(take, cell.scored)
            for unscored, count, among, of_band in (
                (False, scored, cell.scored, cell.band_scored),
                (True, take - scored, cell.n - cell.scored, cell.band_unscored),
            ):
                if count <= 0:
                    continue
                # Walking the run's scores of the band (from the cell's lowest, index
                # score_run_score; or its unscored ones, score_run_unscored) finds the stage's
                # after about count × (the band's / the stage's) entries; reading the stage
                # costs its accounts. The cheaper of the two.
                walk = count * of_band / max(among, 1)
                from_stage = STAGE_READ_COST * cell.stage_all < walk
                yield _Part(stage.pk, band, count, unscored, cell.low, from_stage)


def card_ids(
    *,
    run: ScoreRun,
    stages: list[JourneyStage],
    filters: AccountFilters,
    cells: dict[tuple[int, str], Cell],
    per_stage: int,
) -> list[int]:
    """The accounts of every stage's cards: in each stage, its riskiest bands' lowest scores
    (none last), ties by account. One query (none without cards)."""
    parts, params = [], []
    account_where, account_params = _account_sql(filters)
    for part in _card_plan(stages, cells, per_stage):
        score = "h.score IS NULL" if part.unscored else "h.score IS NOT NULL"
        if part.from_stage:
            # The stage's accounts first: their scores by (run, account).
            source = (
                "FROM (SELECT a.id FROM accounts_account a WHERE a.stage_id = %s "
                f"AND a.status = %s{account_where} OFFSET 0) a "
                "JOIN scoring_healthscore h ON h.run_id = %s AND h.account_id = a.id "
                f"WHERE h.band = %s AND {score}"
            )
            args = [part.stage_id, Account.Status.ACTIVE.value, *account_params, run.pk]
        else:
            if not part.unscored and part.low is not None:
                score = "h.score >= %s"
            source = (
                "FROM scoring_healthscore h JOIN accounts_account a ON a.id = h.account_id "
                f"WHERE a.stage_id = %s AND a.status = %s{account_where} "
                f"AND h.run_id = %s AND h.band = %s AND {score}"
            )
            args = [part.stage_id, Account.Status.ACTIVE.value, *account_params, run.pk]
        args.append(part.band)
        if score == "h.score >= %s":
            args.append(part.low)
        order = "h.account_id" if part.unscored else "h.score, h.account_id"
        parts.append(f"(SELECT h.account_id {source} ORDER BY {order} LIMIT %s)")
        params += [*args, part.take]
    if not parts:
        return []
    # Each part stops after a few entries: split between parallel workers, each walked its
    # own share of the index and the merge waited for all (a CSM's cards at a million
    # accounts: 398 ms in parallel, 5 ms alone).
    with serial_plan(), connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [account_id for (account_id,) in cursor.fetchall()]


def _account_sql(filters: AccountFilters) -> tuple[str, list]:
    """The board's account filters as SQL on `a`."""
    sql, params = "", []
    if filters.owner_id == NO_OWNER:
        sql += " AND a.owner_id IS NULL"
    elif filters.owner_id is not None:
        sql += " AND a.owner_id = %s"
        params.append(filters.owner_id)
    if filters.segment_id is not None:
        sql += " AND a.segment_id = %s"
        params.append(filters.segment_id)
    return sql, params
