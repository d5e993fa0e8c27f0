"""A published run's snapshot: what the run adds up to, written when the run is published and
only read after, so that no page makes a pass over a day of scores.

RunSnapshot, one row per done run, written by run_rollup (one call at the end of
scoring.pipeline.runs.run_finalize, in the publishing transaction) in one pass over the
run's rows joined to the accounts:

- `columns`: the run's scores as three columns (account ids, bands, scores). The journey
  board and the weekly review read one or two of these (a few milliseconds) instead of
  joining a day of wide HealthScore rows (they carry the per-measure details) to the
  accounts; the accounts' own columns (owner, stage, ARR, status, …) are read live, so a
  move, a reassignment or a churn shows at once.
- `totals`: accounts and ARR per band as the run published them, each account at its ARR
  then, for the weekly chart's 26 weeks of days and the churn rates' baseline day.

(The portfolio's summary strip needs the newest runs' totals by owner and segment exact
after every account edit, in a few milliseconds: scoring.rollups.totals, which says why
that takes triggers.)

Only today's run changes once published: a re-score on new signals replaces one account's
row in it (scoring.pipeline.runs.account_rescore: delete, insert; re-running a day makes a
new run; published rows are never updated in place). A snapshot records the newest score
id it reflects (`through`); a read applies the rows of the run written since. When its day
is over nothing can change the run any more: the next publication appends the day's
re-scores to its snapshot and marks it settled, and reads need the snapshot alone.

Reads never write. A run without a snapshot (published before snapshots were kept, or
loaded behind the runs' back) is read from its rows, each time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.db.models import Case, Count, IntegerField, Max, Min, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from healthboard.lib.columns import FLOAT, INT, columns_of
from healthboard.lib.planner import new_run_plan
from scoring.bands import CODES, NO_CODE, code_of
from scoring.models import HealthScore, RunSnapshot, ScoreRun

# Re-scores go to the run of the day their worker thinks it is: this long after a day
# ended, none can still reach its run (clocks differ a little).
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
    def decode(cls, blob: bytes | memoryview) -> RunColumns:
        """The columns of a snapshot's bytes, its re-scores applied."""
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

# One pass over a run's rows joined to their accounts, read in heap order, kept as its
# snapshot (the bytes never leave the database).
BUILD_SQL = """
WITH s AS (
    SELECT count(*) AS n, coalesce(min(h.id), 0) AS first, coalesce(max(h.id), 0) AS last,
           string_agg(int8send(h.account_id), '') AS ids,
           string_agg(set_byte('\\x00'::bytea, 0, {code}), '') AS bands,
           string_agg(float8send(coalesce(h.score, 'NaN')), '') AS scores,
           {totals}
    FROM scoring_healthscore h JOIN accounts_account a ON a.id = h.account_id
    WHERE h.run_id = %(run)s
)
INSERT INTO scoring_runsnapshot (run_id, columns, totals, through, settled, built_at)
SELECT %(run)s, int8send(first) || int8send(n) || coalesce(ids, '') || coalesce(bands, '')
                || coalesce(scores, ''), totals, last, %(settled)s, now()
FROM s
ON CONFLICT (run_id) DO UPDATE SET columns = EXCLUDED.columns, totals = EXCLUDED.totals,
    through = EXCLUDED.through, settled = EXCLUDED.settled, built_at = EXCLUDED.built_at
"""


def _build(run: ScoreRun, *, settled: bool) -> None:
    """Keep the run's snapshot, as its rows and their accounts' ARR are now. One pass over
    the run's rows."""
    if connection.vendor != "postgresql":
        _build_here(run, settled=settled)
        return
    params: dict = {"run": run.pk, "settled": settled}
    whens, totals = [], []
    for code, band in enumerate(CODES):
        params[f"b{code}"] = band
        whens.append(f"WHEN %(b{code})s THEN {code}")
        totals.append(
            f"%(b{code})s::text, jsonb_build_array(count(*) FILTER (WHERE h.band = %(b{code})s),"
            f" coalesce(sum(a.arr) FILTER (WHERE h.band = %(b{code})s), 0)::float8)"
        )
    sql = BUILD_SQL.format(
        code=f"CASE h.band {' '.join(whens)} ELSE {NO_CODE} END",
        totals=f"jsonb_build_object({', '.join(totals)}) AS totals",
    )
    # PostgreSQL would walk the run's rows by index, one page visit per row; a bitmap scan
    # reads each page once, in order (a third faster for a whole run). Its accounts by hash,
    # not one probe each: see new_run_plan.
    with (
        transaction.atomic(),
        new_run_plan(enable_indexscan="off"),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def _build_here(run: ScoreRun, *, settled: bool) -> None:
    """_build for databases without binary string aggregates (SQLite): through Python."""
    rows = list(
        HealthScore.objects.filter(run=run).values_list(
            "id", "account_id", "band", "score", "account__arr"
        )
    )
    _keep(
        [
            _snapshot(
                run,
                first=min((r[0] for r in rows), default=0),
                through=max((r[0] for r in rows), default=0),
                ids=np.array([r[1] for r in rows], dtype=np.int64),
                codes=np.array([code_of(r[2]) for r in rows], dtype=np.uint8),
                scores=np.array([np.nan if r[3] is None else r[3] for r in rows]),
                arr=[r[4] for r in rows],
                settled=settled,
            )
        ]
    )


def _snapshot(run, *, first, through, ids, codes, scores, arr, settled) -> RunSnapshot:
    """A run's snapshot from its rows' columns (in the order read) and their accounts' ARR."""
    header = np.array([(first, len(ids))], dtype=HEADER)
    columns = (header, ids.astype(">i8"), codes.astype(np.uint8), scores.astype(">f8"))
    totals = {}
    for code, band in enumerate(CODES):
        chosen = codes == code
        # Summed exactly, then rounded once: as PostgreSQL's sum of numerics cast to float8.
        arr_sum = sum((a for a, c in zip(arr, chosen.tolist(), strict=True) if c), Decimal(0))
        totals[band] = [int(chosen.sum()), float(arr_sum)]
    return RunSnapshot(
        run=run,
        columns=b"".join(a.tobytes() for a in columns),
        totals=totals,
        through=through,
        settled=settled,
    )


def _keep(snapshots: list[RunSnapshot]) -> None:
    RunSnapshot.objects.bulk_create(
        snapshots,
        update_conflicts=True,
        unique_fields=["run"],
        update_fields=["columns", "totals", "through", "settled", "built_at"],
    )


def _rows_since(snapshots: Sequence[tuple[int, int]]) -> dict[int, list[tuple]]:
    """(id, run id, account id, band, score) of each run's rows written after its
    snapshot's `through`, oldest first, by run id, from (run id, through) pairs. One query
    (none without pairs)."""
    found: dict[int, list[tuple]] = {run_id: [] for run_id, _through in snapshots}
    if not snapshots:
        return found
    newer = Q()
    for run_id, through in snapshots:
        newer |= Q(run_id=run_id, pk__gt=through)
    rows = (
        HealthScore.objects.filter(newer)
        .order_by("pk")
        .values_list("pk", "run_id", "account_id", "band", "score")
    )
    for row in rows:
        found[row[1]].append(row)
    return found


def _settle(run_id: int, rows: list[tuple], through: int) -> None:
    """Append the run's re-scores (`rows`) to its snapshot and mark it settled."""
    through = max([through] + [row[0] for row in rows])
    if not rows:  # nothing re-scored: the bytes stay as they are
        RunSnapshot.objects.filter(run_id=run_id).update(settled=True)
        return
    if connection.vendor == "postgresql":
        # Appended in the database: the snapshot's bytes stay there.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE scoring_runsnapshot SET columns = columns || %s, through = %s, "
                "settled = true WHERE run_id = %s",
                [_records(rows).tobytes(), through, run_id],
            )
        return
    stored = RunSnapshot.objects.get(run_id=run_id)
    stored.columns = bytes(stored.columns) + _records(rows).tobytes()
    stored.through, stored.settled = through, True
    stored.save(update_fields=["columns", "through", "settled"])


# ---------------------------------------------------------------- reading


def runs_columns(*, runs: Sequence[ScoreRun]) -> dict[int, RunColumns]:
    """Each run's scores as columns, exactly as its rows are now, by run id. Writes nothing.

    One query for the snapshots; one more for the rows written since the unsettled ones
    were taken (today's, or a past day's that the next publication has not settled yet);
    one more for the rows of the runs without a snapshot."""
    snapshots = {
        run_id: (blob, through, settled)
        for run_id, blob, through, settled in RunSnapshot.objects.filter(
            run__in=list(runs)
        ).values_list("run_id", "columns", "through", "settled")
    }
    unsettled = [(pk, through) for pk, (_b, through, settled) in snapshots.items() if not settled]
    since = _rows_since(unsettled)
    found = _read([run.pk for run in runs if run.pk not in snapshots])
    for run_id, (blob, _through, _settled) in snapshots.items():
        columns = RunColumns.decode(blob)
        if since.get(run_id):
            columns = columns.rescored(_records(since[run_id]))
        found[run_id] = columns
    return found


def run_columns(*, run: ScoreRun) -> RunColumns:
    """One run's scores as columns (see runs_columns)."""
    return runs_columns(runs=[run])[run.pk]


def _read(run_ids: Sequence[int]) -> dict[int, RunColumns]:
    """The runs' scores as they are now, read from their rows and not kept, by run id. One
    query (none without runs)."""
    if not run_ids:
        return {}
    code = Case(
        *[When(band=band, then=Value(code)) for code, band in enumerate(CODES)],
        default=Value(NO_CODE),
        output_field=IntegerField(),
    )
    rows = columns_of(
        HealthScore.objects.filter(run_id__in=run_ids).annotate(r_band=code),
        run_id=INT,
        account_id=INT,
        r_band=INT,
        score=FLOAT,
    )
    order = np.lexsort((rows["account_id"], rows["run_id"]))
    run, ids = rows["run_id"][order], rows["account_id"][order]
    bands, scores = rows["r_band"][order].astype(np.uint8), rows["score"][order]
    found = {}
    for run_id in run_ids:
        low, high = np.searchsorted(run, [run_id, run_id + 1])
        found[run_id] = RunColumns(ids[low:high], bands[low:high], scores[low:high])
    return found


# ---------------------------------------------------------------- band totals


BandTotals = dict[str, tuple[int, float]]  # band → (accounts, ARR)


def _counted(run_ids: Sequence[int]) -> dict[int, BandTotals]:
    """Band totals of runs from their rows, at each account's current ARR. One query."""
    found: dict[int, BandTotals] = {run_id: {} for run_id in run_ids}
    if not run_ids:
        return found
    rows = (
        HealthScore.objects.filter(run_id__in=run_ids)
        .values_list("run_id", "band")
        .annotate(n=Count("id"), arr=Sum("account__arr"))
        .order_by()
    )
    for run_id, band, n, arr in rows:
        found[run_id][band] = (n, float(arr or 0))
    return {
        run_id: {band: totals.get(band, (0, 0.0)) for band in CODES}
        for run_id, totals in found.items()
    }


def run_bands(
    *, runs: QuerySet[ScoreRun], count_missing: bool = True
) -> list[tuple[int, dt.date, BandTotals]] | None:
    """(run id, date, accounts and ARR per band) of each run, by date, every band listed,
    as each run published them. Writes nothing.

    One query for the runs and their snapshots' totals. A run without a snapshot is counted
    from its rows, at the accounts' current ARR (one query for all of them: seconds for
    months of days at 100,000 accounts); with count_missing=False, None instead."""
    found = list(runs.order_by("date").values_list("id", "date", "snapshot__totals"))
    missing = [run_id for run_id, _day, totals in found if totals is None]
    if missing and not count_missing:
        return None
    counted = _counted(missing)
    return [
        (
            run_id,
            day,
            counted[run_id]
            if kept is None
            else {band: tuple(kept.get(band, (0, 0.0))) for band in CODES},
        )
        for run_id, day, kept in found
    ]


# ---------------------------------------------------------------- publication


def _settle_ended(*, now: dt.datetime) -> None:
    """Settle the snapshots of the done runs whose day ended CLOCK_MARGIN before `now`:
    their re-scores appended, read by run. One query, and two per such snapshot."""
    unsettled = RunSnapshot.objects.filter(
        settled=False,
        run__status=ScoreRun.Status.DONE,
        run__date__lt=timezone.localdate(now - CLOCK_MARGIN),
    ).values_list("run_id", "through")
    for run_id, through in unsettled:
        _settle(run_id, _rows_since([(run_id, through)])[run_id], through)


def runs_rollup_written(
    *, runs: Sequence[ScoreRun], columns: Mapping[int, RunColumns], arr: Mapping[int, Decimal]
) -> None:
    """run_rollup for many runs published at once (a back-fill's), from the columns they
    were written with (by run id) and the accounts' ARR (by account id) instead of a pass
    over each run's rows: one query for the runs' first and last score ids, one write."""
    now = timezone.now()
    ended = timezone.localdate(now - CLOCK_MARGIN)
    spans = {
        run_id: (first, last)
        for run_id, first, last in HealthScore.objects.filter(run__in=runs)
        .values("run_id")
        .annotate(first=Min("id"), last=Max("id"))
        .values_list("run_id", "first", "last")
        .order_by()
    }
    snapshots = []
    for run in runs:
        written = columns[run.pk]
        first, through = spans.get(run.pk, (0, 0))
        snapshots.append(
            _snapshot(
                run,
                first=first,
                through=through,
                ids=written.account_ids,
                codes=written.bands,
                scores=written.scores,
                arr=[arr[a] for a in written.account_ids.tolist()],
                settled=run.date < ended,
            )
        )
    _keep(snapshots)
    _settle_ended(now=now)
    RunSnapshot.objects.filter(run__date__in=[r.date for r in runs]).exclude(run__in=runs).delete()


def run_rollup(*, run: ScoreRun) -> None:
    """The rollup due when `run` is published: its snapshot; the days that ended since,
    settled; none left for the runs it replaces.

    Call it in the transaction that publishes the run, after the run is saved as done:
    then no re-score can reach the run before its snapshot is taken. One pass over the
    run's rows (it has just written them) and a few small queries."""
    now = timezone.now()
    _build(run, settled=run.date < timezone.localdate(now - CLOCK_MARGIN))
    _settle_ended(now=now)
    # The runs this one replaces (same date) are no longer read.
    RunSnapshot.objects.filter(run__date=run.date).exclude(run=run).delete()
