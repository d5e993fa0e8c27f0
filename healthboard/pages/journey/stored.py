"""The journey board summed from the run's stored cells (scoring.rollups.totals), so that its
cost does not grow with the number of accounts.

A run with stored totals (the newest runs, on PostgreSQL) keeps, exact after every write,
its accounts and ARR and their scores summed per band × owner × segment × stage (RunTotal),
and its active accounts per band × segment × stage × day of stage entry, for everyone
(RunStageDay) and per owner (RunBookDay). The board's filters (owner, segment, health) are
keys of these, so:

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
from scoring.models import HealthScore, RunBookDay, RunStageDay, RunTotal, ScoreRun

# What reading one of a stage's accounts (and its score) costs, in entries of a walk of the
# run's scores: a stage is read when that is cheaper than the walk its cards need. Measured
# at a million accounts: 9–20 µs an account read (26–55 ms for a CSM's 2,803 in a stage),
# 1.2–6 µs an entry walked (6 ms for 5,000).
STAGE_READ_COST = 8


def _cell_filter(filters: AccountFilters, bands: tuple[str, ...]) -> Q:
    return Q(band__in=bands) & filters.cell_conditions()


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
    today: dt.date,
) -> list[int]:
    """The accounts of every stage's cards: in each stage, its riskiest bands' lowest scores
    (none last), ties by account. One query (none without cards)."""
    parts, params = [], []
    for part in _card_plan(stages, cells, per_stage):
        scored = Q(score__isnull=part.unscored)
        if part.low is not None and not part.unscored and not part.from_stage:
            # A walk starts at the cell's lowest score, past the riskier bands' entries.
            scored = Q(score__gte=part.low)
        order = ["account_id"] if part.unscored else ["score", "account_id"]
        scores = HealthScore.objects.filter(scored, run=run, band=part.band).order_by(*order)
        if part.from_stage:
            # The stage's accounts first, fenced (OFFSET 0) so that they are read before
            # their scores are looked up by run and account.
            accounts = Account.objects.active().filter(
                *filters.conditions(today), stage_id=part.stage_id
            )
            stage_sql, stage_params = accounts.order_by().values("id").query.sql_with_params()
            # Unordered, so that PostgreSQL merges it into the join (a lookup per account).
            score_sql, score_params = (
                scores.order_by().values("account_id", "score").query.sql_with_params()
            )
            sql = (
                f"SELECT s.account_id FROM ({stage_sql} OFFSET 0) a "
                f"JOIN ({score_sql}) s ON s.account_id = a.id "
                f"ORDER BY {', '.join(f's.{column}' for column in order)} LIMIT %s"
            )
            part_params = [*stage_params, *score_params, part.take]
        else:
            walk = scores.filter(
                *filters.conditions(today, prefix="account__"),
                account__stage_id=part.stage_id,
                account__status=Account.Status.ACTIVE,
            )
            sql, part_params = walk.values("account_id")[: part.take].query.sql_with_params()
        parts.append(f"({sql})")
        params += part_params
    if not parts:
        return []
    # Each part stops after a few entries: split between parallel workers, each walked its
    # own share of the index and the merge waited for all (a CSM's cards at a million
    # accounts: 398 ms in parallel, 5 ms alone).
    with serial_plan(), connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [account_id for (account_id,) in cursor.fetchall()]
