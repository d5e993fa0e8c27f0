"""What a published run adds up to, kept so that no page makes a pass over a day of scores.

Two rollups per run, written when the run is published (run_rollup: one call at the end of
scoring.runs.run_finalize) in one pass over its rows:

- RunSnapshot: the run's scores as three columns (account ids, bands, scores). The journey
  board and the weekly review read one or two of these (a few milliseconds) instead of
  joining a day of wide HealthScore rows (they carry the per-measure details) to the
  accounts; the accounts' own columns (owner, stage, ARR, status, …) are still read live,
  so a move, a reassignment or a churn shows at once.
- RunBands: accounts per band as the run published them, for the weekly chart's 26 weeks.
  Each band's ARR is added when the chart first shows the day by ARR (each account at its
  ARR then): ARR is not part of a score, and summing it at publication would cost a second
  pass, over the accounts.

Only today's run changes once published: a re-score on new signals replaces one account's
row in it (scoring.runs.account_rescore; re-running a day makes a new run). A snapshot
records the newest score id it reflects (`through`); reading today's applies the few rows
written since. When its day is over nothing can change the run any more: the next
publication appends the day's re-scores to its snapshot and marks it settled (a read does
it for a run that missed that).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import Case, Count, FloatField, IntegerField, QuerySet, Sum, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import Account
from healthboard.lib.columns import FLOAT, INT, columns_of
from scoring.bands import CODES, NO_CODE, code_of
from scoring.models import HealthScore, RunBands, RunSnapshot, ScoreRun

# Reading today's run applies at most this many newer score rows (re-scores, and other
# runs' rows in between); past that the run is read afresh.
PATCH_ROWS = 5000
# Re-scores go to the run of the day their worker thinks it is: a run started this long
# after a day ended wrote nothing before that day's last re-score (clocks differ a little).
CLOCK_MARGIN = dt.timedelta(minutes=10)


# ---------------------------------------------------------------- the columns

# A snapshot's bytes: the oldest score id read and the number n of accounts (big-endian
# int8 each); n account ids (int8), n band codes (one byte), n scores (float8, NaN: none),
# all in the order the rows were read; then any re-scores since, one 17-byte record each
# (account id, band code, score), oldest first: a later record replaces an earlier one.
HEADER = np.dtype([("first", ">i8"), ("n", ">i8")])
RECORD = np.dtype([("account", ">i8"), ("band", "u1"), ("score", ">f8")])


@dataclass(frozen=True)
class RunColumns:
    """One run's scores, one entry per account, by ascending account id."""

    account_ids: np.ndarray  # int64
    bands: np.ndarray  # uint8: a position in CODES, or NO_CODE
    scores: np.ndarray  # float64, NaN where there is no score

    def find(self, account_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(whether each account has a score in the run, its position where it has)."""
        return positions(self.account_ids, account_ids)

    @classmethod
    def decode(cls, blob: bytes | memoryview, *, published_only: bool = False) -> RunColumns:
        """The columns of a snapshot's bytes; published_only: without its re-scores."""
        blob = bytes(blob)
        n = int(np.frombuffer(blob, HEADER, count=1)[0]["n"])
        at = HEADER.itemsize
        ids = np.frombuffer(blob, ">i8", count=n, offset=at).astype(np.int64)
        bands = np.frombuffer(blob, np.uint8, count=n, offset=at + 8 * n)
        scores = np.frombuffer(blob, ">f8", count=n, offset=at + 9 * n).astype(np.float64)
        if np.all(ids[1:] > ids[:-1]):  # read in account order, as a run writes them
            columns = cls(ids, bands.copy(), scores)
        else:
            order = np.argsort(ids, kind="stable")
            columns = cls(ids[order], bands[order], scores[order])
        if published_only:
            return columns
        records = np.frombuffer(blob, RECORD, offset=at + 17 * n)
        return columns.rescored(records) if len(records) else columns

    def rescored(self, records: np.ndarray) -> RunColumns:
        """The columns with re-score records (RECORD, oldest first) applied."""
        ids, bands, scores = self.account_ids, self.bands.copy(), self.scores.copy()
        for account_id, band, score in records.tolist():
            at = int(np.searchsorted(ids, account_id))
            if at < len(ids) and ids[at] == account_id:
                bands[at], scores[at] = band, score
            else:  # an account scored for the first time today
                ids = np.insert(ids, at, account_id)
                bands = np.insert(bands, at, band)
                scores = np.insert(scores, at, score)
        return RunColumns(ids, bands, scores)


def positions(ordered: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(whether each wanted value is in `ordered` (ascending), its position where it is)."""
    if not len(ordered):
        return np.zeros(len(wanted), dtype=bool), np.zeros(len(wanted), np.int64)
    at = np.searchsorted(ordered, wanted)
    at[at >= len(ordered)] = 0
    return ordered[at] == wanted, at


def _records(rows: Sequence[tuple]) -> np.ndarray:
    """Score rows (…, account id, band, score) as re-score records."""
    records = np.zeros(len(rows), dtype=RECORD)
    for i, (*_, account_id, band, score) in enumerate(rows):
        records[i] = (account_id, code_of(band), np.nan if score is None else score)
    return records


# ---------------------------------------------------------------- building

# One pass over a run's rows, read in heap order, kept as its snapshot (the bytes never
# leave the database), returning the oldest score id and the accounts per band.
BUILD_SQL = """
WITH s AS (
    SELECT count(*) AS n, coalesce(min(id), 0) AS first, coalesce(max(id), 0) AS last,
           string_agg(int8send(account_id), '') AS ids,
           string_agg(set_byte('\\x00'::bytea, 0, {code}), '') AS bands,
           string_agg(float8send(coalesce(score, 'NaN')), '') AS scores,
           {counts}
    FROM scoring_healthscore WHERE run_id = %(run)s
), kept AS (
    INSERT INTO scoring_runsnapshot (run_id, columns, through, settled, built_at)
    SELECT %(run)s, int8send(first) || int8send(n) || coalesce(ids, '') || coalesce(bands, '')
                    || coalesce(scores, ''), last, %(settled)s, now()
    FROM s
    ON CONFLICT (run_id) DO UPDATE SET columns = EXCLUDED.columns, through = EXCLUDED.through,
        settled = EXCLUDED.settled, built_at = EXCLUDED.built_at
)
SELECT first, {names} FROM s
"""


def _build(run: ScoreRun, *, settled: bool) -> tuple[int, dict[str, int]]:
    """Keep the run's snapshot, as its rows are now; returns (the oldest score id read, the
    accounts per band). One pass over the run's rows."""
    if connection.vendor != "postgresql":
        return _build_here(run, settled=settled)
    params: dict = {"run": run.pk, "settled": settled}
    whens, counts = [], []
    for code, band in enumerate(CODES):
        params[f"b{code}"] = band
        whens.append(f"WHEN %(b{code})s THEN {code}")
        counts.append(f"count(*) FILTER (WHERE band = %(b{code})s) AS n{code}")
    sql = BUILD_SQL.format(
        code=f"CASE band {' '.join(whens)} ELSE {NO_CODE} END",
        counts=", ".join(counts),
        names=", ".join(f"n{code}" for code in range(len(CODES))),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # PostgreSQL would walk the run's rows by index, one page visit per row; a bitmap
        # scan reads each page once, in order (a third faster for a whole run).
        cursor.execute(
            "SELECT current_setting('enable_indexscan'), "
            "set_config('enable_indexscan', 'off', true)"
        )
        previous = cursor.fetchone()[0]
        cursor.execute(sql, params)
        first, *n = cursor.fetchone()
        cursor.execute("SELECT set_config('enable_indexscan', %s, true)", [previous])
    return first, dict(zip(CODES, n, strict=True))


def _build_here(run: ScoreRun, *, settled: bool) -> tuple[int, dict[str, int]]:
    """_build for databases without binary string aggregates (SQLite): through Python."""
    rows = list(
        HealthScore.objects.filter(run=run).values_list("id", "account_id", "band", "score")
    )
    ids = np.array([r[1] for r in rows], dtype=">i8")
    codes = np.array([code_of(r[2]) for r in rows], dtype=np.uint8)
    scores = np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=">f8")
    first = min((r[0] for r in rows), default=0)
    header = np.array([(first, len(rows))], dtype=HEADER)
    RunSnapshot.objects.bulk_create(
        [
            RunSnapshot(
                run=run,
                columns=b"".join(a.tobytes() for a in (header, ids, codes, scores)),
                through=max((r[0] for r in rows), default=0),
                settled=settled,
            )
        ],
        update_conflicts=True,
        unique_fields=["run"],
        update_fields=["columns", "through", "settled", "built_at"],
    )
    n = np.bincount(codes[codes != NO_CODE], minlength=len(CODES))
    return first, {band: int(n[code]) for code, band in enumerate(CODES)}


def _newer_rows(through: int, below: int | None = None) -> list[tuple] | None:
    """(id, run id, account id, band, score) of every score row written after `through`
    (and before `below`), oldest first; None when there are more than PATCH_ROWS. One
    query along the primary key."""
    newer = HealthScore.objects.filter(pk__gt=through)
    if below is not None:
        newer = newer.filter(pk__lt=below)
    rows = list(
        newer.order_by("pk").values_list("pk", "run_id", "account_id", "band", "score")[
            : PATCH_ROWS + 1
        ]
    )
    return None if len(rows) > PATCH_ROWS else rows


def _settle(snapshot: RunSnapshot, rows: list[tuple]) -> None:
    """Append the run's re-scores among `rows` to its snapshot and mark it settled."""
    mine = [row for row in rows if row[1] == snapshot.run_id]
    through = max([snapshot.through] + [row[0] for row in mine])
    if not mine:  # nothing re-scored: the bytes stay as they are
        RunSnapshot.objects.filter(pk=snapshot.pk).update(settled=True)
        return
    if connection.vendor == "postgresql":
        # Appended in the database: the snapshot's bytes stay there.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE scoring_runsnapshot SET columns = columns || %s, through = %s, "
                "settled = true WHERE run_id = %s",
                [_records(mine).tobytes(), through, snapshot.run_id],
            )
        return
    stored = RunSnapshot.objects.get(pk=snapshot.pk)
    stored.columns = bytes(stored.columns) + _records(mine).tobytes()
    stored.through, stored.settled = through, True
    stored.save(update_fields=["columns", "through", "settled"])


# ---------------------------------------------------------------- reading


def runs_columns(*, runs: Sequence[ScoreRun], today: dt.date) -> dict[int, RunColumns]:
    """Each run's scores as columns, exactly as its rows are now, by run id.

    One query for the snapshots. Today's gets the re-scores since it was taken (one
    query), or without one is read from its rows (one). A past day's is settled first if
    the next publication did not (two queries); one without a snapshot (published before
    snapshots were kept) gets one (four)."""
    snapshots = {s.pk: s for s in RunSnapshot.objects.filter(run__in=list(runs))}
    found = {}
    for run in runs:
        snapshot = snapshots.get(run.pk)
        if snapshot is None and run.date >= today:
            # Not kept: a re-score may be under way (publication keeps today's).
            found[run.pk] = _read(run)
            continue
        if snapshot is None:
            _build(run, settled=True)
            snapshot = RunSnapshot.objects.get(pk=run.pk)
        columns = RunColumns.decode(snapshot.columns)
        if not snapshot.settled:
            rows = _newer_rows(snapshot.through)
            if rows is None:  # too much written since: read afresh
                if run.date < today:
                    _build(run, settled=True)
                    columns = RunColumns.decode(RunSnapshot.objects.get(pk=run.pk).columns)
                else:  # not kept: a re-score may be under way
                    columns = _read(run)
            else:
                mine = [row for row in rows if row[1] == run.pk]
                if mine:
                    columns = columns.rescored(_records(mine))
                if run.date < today:  # the day is over: nothing will change it
                    _settle(snapshot, rows)
        found[run.pk] = columns
    return found


def run_columns(*, run: ScoreRun, today: dt.date) -> RunColumns:
    """One run's scores as columns (see runs_columns)."""
    return runs_columns(runs=[run], today=today)[run.pk]


def _read(run: ScoreRun) -> RunColumns:
    """The run's scores as they are now, read from its rows and not kept. One query."""
    code = Case(
        *[When(band=band, then=Value(code)) for code, band in enumerate(CODES)],
        default=Value(NO_CODE),
        output_field=IntegerField(),
    )
    rows = columns_of(
        HealthScore.objects.filter(run=run).annotate(r_band=code),
        account_id=INT,
        r_band=INT,
        score=FLOAT,
    )
    order = np.argsort(rows["account_id"], kind="stable")
    return RunColumns(
        rows["account_id"][order], rows["r_band"][order].astype(np.uint8), rows["score"][order]
    )


# ---------------------------------------------------------------- band totals


BandTotals = dict[str, tuple[int, float | None]]  # band → (accounts, ARR or None)


def _counted(run_ids: Sequence[int]) -> dict[int, BandTotals]:
    """Band totals of runs from their rows, at each account's current ARR. One query."""
    found: dict[int, BandTotals] = {run_id: {} for run_id in run_ids}
    if not run_ids:
        return found
    rows = (
        HealthScore.objects.filter(run_id__in=run_ids)
        .values_list("run_id", "band")
        .annotate(n=Count("id"), arr=Sum(Cast("account__arr", FloatField())))
        .order_by()
    )
    for run_id, band, n, arr in rows:
        found[run_id][band] = (n, float(arr or 0))
    return {
        run_id: {band: totals.get(band, (0, 0.0)) for band in CODES}
        for run_id, totals in found.items()
    }


def _with_arr(counts: dict[int, BandTotals]) -> dict[int, BandTotals]:
    """The runs' totals with each band's ARR, from their snapshots as published and each
    account's current ARR (a run without a snapshot is counted from its rows). Two
    queries."""
    blobs = dict(
        RunSnapshot.objects.filter(run_id__in=list(counts)).values_list("run_id", "columns")
    )
    totals = _counted([run_id for run_id in counts if run_id not in blobs])
    if blobs:
        arr = columns_of(Account.objects.all(), id=INT, arr=FLOAT)
        order = np.argsort(arr["id"])
        ids, values = arr["id"][order], arr["arr"][order]
        for run_id, blob in blobs.items():
            # As published: the ARR of the accounts the stored counts count.
            columns = RunColumns.decode(blob, published_only=True)
            found, at = positions(ids, columns.account_ids)
            weights = np.zeros(len(at))
            weights[found] = values[at[found]]
            known = columns.bands != NO_CODE
            summed = np.bincount(columns.bands[known], weights=weights[known], minlength=len(CODES))
            totals[run_id] = {
                band: (counts[run_id][band][0], float(summed[code]))
                for code, band in enumerate(CODES)
            }
    return totals


def _keep_bands(totals: dict[int, BandTotals]) -> None:
    RunBands.objects.bulk_create(
        [
            RunBands(run_id=run_id, totals={b: list(t) for b, t in bands.items()})
            for run_id, bands in totals.items()
        ],
        update_conflicts=True,
        unique_fields=["run"],
        update_fields=["totals", "summarised_at"],
    )


def run_bands(
    *, runs: QuerySet[ScoreRun], today: dt.date, summarise: bool = True, arr: bool = False
) -> list[tuple[int, dt.date, BandTotals]] | None:
    """(run id, date, accounts and ARR per band) of each run, by date, every band listed
    (ARR None unless `arr`).

    One query for the runs and their kept totals. A run without totals (published before
    they existed) is counted from its rows, at the accounts' current ARR (one query for
    all of them: seconds for months of days at 100,000 accounts), and kept when its day is
    over; with summarise=False, None instead when a past day has none. With `arr`, the ARR
    a day has not had yet is summed and kept (two queries)."""
    found = list(runs.order_by("date").values_list("id", "date", "band_totals__totals"))
    missing = [(run_id, day) for run_id, day, totals in found if totals is None]
    past = [run_id for run_id, day in missing if day < today]
    if past and not summarise:
        return None
    fresh = _counted([run_id for run_id, _day in missing])
    if past:
        _keep_bands({run_id: fresh[run_id] for run_id in past})
    totals = {
        run_id: fresh[run_id] if kept is None else {b: tuple(t) for b, t in kept.items()}
        for run_id, _day, kept in found
    }
    if arr:
        without = {
            run_id: totals[run_id]
            for run_id, _day, _kept in found
            if any(totals[run_id].get(band, (0, None))[1] is None for band in CODES)
        }
        if without:
            filled = _with_arr(without)
            _keep_bands(filled)
            totals.update(filled)
    return [
        (run_id, day, {band: totals[run_id].get(band, (0, None)) for band in CODES})
        for run_id, day, _kept in found
    ]


# ---------------------------------------------------------------- publication


def run_rollup(*, run: ScoreRun) -> None:
    """The rollups due when `run` is published: its snapshot and band counts; the days
    that ended since, settled; none left for the runs it replaces.

    Call it in the transaction that publishes the run, after the run is saved as done:
    then no re-score can reach the run before its snapshot is taken. One pass over the
    run's rows (it has just written them) and a few small queries."""
    today = timezone.localdate()
    first, counts = _build(run, settled=run.date < today)
    _keep_bands({run.pk: {band: (n, None) for band, n in counts.items()}})
    unsettled = (
        RunSnapshot.objects.filter(
            settled=False, run__status=ScoreRun.Status.DONE, run__date__lt=today
        )
        .exclude(run=run)
        .select_related("run")
        .defer("columns")
    )
    for snapshot in unsettled:
        day_ended = timezone.make_aware(
            dt.datetime.combine(snapshot.run.date + dt.timedelta(days=1), dt.time())
        )
        # When this run started after that day ended, its rows came after every re-score
        # of that day: the rows in between are all there is to look at. Otherwise the
        # first read of the day settles it (runs_columns).
        if first and run.started_at >= day_ended + CLOCK_MARGIN:
            rows = _newer_rows(snapshot.through, below=first)
            if rows is not None:
                _settle(snapshot, rows)
    # The runs this one replaces (same date) are no longer read.
    RunSnapshot.objects.filter(run__date=run.date).exclude(run=run).delete()
    RunBands.objects.filter(run__date=run.date).exclude(run=run).delete()
