"""The scoring run for one date: claim it, score the accounts chunk by chunk, publish it.

A run has two passes over its chunks. The first reads each chunk's signals once and keeps its
raw measure values (scoring/chunks.py); between the passes the percentile measures' population
references are taken from those values; the second scores each chunk and writes its rows.
Both passes run on any number of workers (scoring/tasks.py).

A day's scores become visible all at once: chunks write rows tagged with their run, and
readers only read runs marked done. Finalizing marks the new run done and drops the run it
replaces in one transaction, so a re-run or a crash never shows a duplicate or half a day.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from itertools import repeat

import numpy as np
import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone
from psycopg.types.json import set_json_dumps

from accounts.models import Account
from healthboard.lib.columns import FLOAT, INT, columns_of
from healthboard.lib.keylocks import keys_lock
from scoring import engine
from scoring.actions.hooks import rules_apply_after_run, rules_apply_soon
from scoring.aggregates import aggregate
from scoring.bands import Band
from scoring.models import HealthScore, ScorecardVersion, ScoreChunk, ScoreRun
from scoring.pipeline import compute
from scoring.pipeline.chunks import ChunkRaw, pack, population_references, unpack
from scoring.pipeline.upkeep import upkeep_soon
from scoring.rollups import snapshots as rollups
from scoring.rollups.totals import run_totals_publish
from scoring.rollups.weeks import writers_lock_before_dropping
from scoring.specs import (
    ScorecardAssignment,
    VersionConfig,
    active_versions,
    version_config,
    versions_queryset,
)

logger = logging.getLogger(__name__)


class RunInProgress(Exception):
    """Another run for the same date is still running."""


def accounts_active_on(as_of: dt.date, first_id: int | None = None, last_id: int | None = None):
    """(ids, segment ids, seats) of the accounts that were customers on that date
    (Account.objects.customers_on), optionally those with ids first_id..last_id."""
    qs = Account.objects.customers_on(as_of)
    if first_id is not None:
        qs = qs.filter(pk__gte=first_id, pk__lte=last_id)
    # As packed columns, not a tuple per account: at a million accounts the run's start and
    # the what-if preview read them all.
    found = columns_of(qs, pk=INT, segment_id=INT, seats=FLOAT)
    order = np.argsort(found["pk"], kind="stable")
    return found["pk"][order], found["segment_id"][order], found["seats"][order]


def run_versions(run: ScoreRun) -> list[VersionConfig]:
    return list(_versions_of_run(run.pk, tuple(run.reference.get("versions", []))))


# Loaded once per run in each process, not once per chunk: five queries (8 ms) each time, 200
# chunks × 2 passes at a million accounts. A run's versions do not change while it runs:
# only drafts are edited, and a run scores with the versions published when it started.
@functools.lru_cache(maxsize=4)
def _versions_of_run(run_id: int, ids: tuple[int, ...]) -> tuple[VersionConfig, ...]:
    return tuple(version_config(v) for v in versions_queryset().filter(pk__in=list(ids)))


def run_versions_forget() -> None:
    """Drop the versions kept per run: a database whose ids start again (a test's rolled back
    one, a restored dump) may give a new run the id of one this process scored."""
    _versions_of_run.cache_clear()


def _references(run: ScoreRun) -> dict[str, np.ndarray]:
    return {key: np.asarray(values) for key, values in run.reference.get("measures", {}).items()}


def versions_that_score() -> list[VersionConfig]:
    """The active versions, each able to score; raises ScorecardError naming the first that
    cannot."""
    versions = active_versions()
    for version in versions:
        if problems := version.problems():
            raise engine.ScorecardError(
                f"Scorecard “{version.scorecard_name}” v{version.number} cannot score: "
                + " ".join(problems)
            )
    return versions


def run_start(
    *,
    as_of: dt.date,
    trigger: str = "nightly",
    chunk_size: int | None = None,
    claim: str | None = None,
) -> ScoreRun:
    """Claim the date and cut its accounts into chunks, in one transaction: a fault midway
    leaves nothing claimed. An abandoned run of the date is taken over (take_over_abandoned). The
    same claim made again (the claiming task redelivered or retried after it claimed) gets
    its run back, to resume it. Raises RunInProgress if another run for that date is still
    running."""
    chunk_size = chunk_size or settings.SCORING_CHUNK_SIZE
    versions = versions_that_score()
    with transaction.atomic():
        take_over_abandoned(as_of)
        try:
            with transaction.atomic():
                run = ScoreRun.objects.create(
                    date=as_of,
                    trigger=trigger,
                    reference={"versions": [v.id for v in versions], "claim": claim},
                )
        except IntegrityError as exc:
            mine = claim and ScoreRun.objects.running().filter(date=as_of, reference__claim=claim)
            if mine and (run := mine.first()):
                logger.warning("Score run %s for %s claimed again: resuming it", run.pk, as_of)
                return run
            raise RunInProgress(f"A score run for {as_of} is already running.") from exc

        ids, _segments, _seats = accounts_active_on(as_of)
        chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
        ScoreChunk.objects.bulk_create(
            ScoreChunk(run=run, first_account_id=c[0], last_account_id=c[-1], accounts=len(c))
            for c in chunks
        )
        run.accounts_total = len(ids)
        run.chunks_total = len(chunks)
        run.save(update_fields=["accounts_total", "chunks_total"])
    logger.info(
        "Score run %s for %s: %d accounts in %d chunks", run.pk, as_of, len(ids), len(chunks)
    )
    return run


def take_over_abandoned(first: dt.date, last: dt.date | None = None) -> list[int]:
    """Fail the abandoned runs (ScoreRunQuerySet.abandoned) of the date `first` (or of the
    dates first..last) and drop what they wrote: their chunks and partial score rows.
    Returns their ids."""
    abandoned = ScoreRun.objects.abandoned().filter(date__gte=first, date__lte=last or first)
    # The chunks' rows first, then the runs': the order a chunk's own write locks them in,
    # so a chunk still writing finishes first (and its heartbeat spares its run) instead
    # of deadlocking.
    list(ScoreChunk.objects.select_for_update().filter(run__in=abandoned).values_list("pk"))
    taken = list(abandoned.select_for_update().values_list("pk", flat=True))
    if taken:
        minutes = ScoreRun.STALE_AFTER.seconds // 60
        ScoreChunk.objects.filter(run_id__in=taken).delete()
        HealthScore.objects.filter(run_id__in=taken).delete()
        ScoreRun.objects.filter(pk__in=taken).update(
            status=ScoreRun.Status.FAILED,
            error=f"Abandoned: no progress for {minutes} minutes; taken over.",
            finished_at=timezone.now(),
        )
        logger.warning("Score run(s) %s from %s abandoned: taken over", taken, first)
    return taken


def runs_stalled(*, after: dt.timedelta) -> list[ScoreRun]:
    """The watchdog's find: runs still marked running that no step has moved for `after`
    (a worker died holding one of their tasks, or the claim was cut off before its tasks
    were sent). Each is returned once per `after`, with its heartbeat renewed, for the
    caller to send its unfinished steps again (every step is safe to repeat)."""
    now = timezone.now()
    found = []
    for run in ScoreRun.objects.filter(
        status=ScoreRun.Status.RUNNING, heartbeat_at__lt=now - after
    ):
        # A sort of optimistic lock: of two watchdogs at once, only one revives the run.
        if ScoreRun.objects.filter(
            pk=run.pk, status=ScoreRun.Status.RUNNING, heartbeat_at=run.heartbeat_at
        ).update(heartbeat_at=now):
            logger.warning(
                "Score run %s for %s: no progress since %s; sending its unfinished steps again",
                run.pk,
                run.date,
                run.heartbeat_at,
            )
            run.heartbeat_at = now
            found.append(run)
    return found


def _previous_scores(as_of: dt.date, first_id: int, last_id: int) -> dict[int, float]:
    """Each account's score a week earlier, for the week-over-week change."""
    week_before = ScoreRun.objects.filter(
        status=ScoreRun.Status.DONE, date=as_of - dt.timedelta(days=7)
    ).values_list("pk", flat=True)
    # By the run's key (run, account), which carries the score: by date, the accounts' index
    # (account, date) is read for every day of history of the chunk's accounts.
    rows = HealthScore.objects.filter(
        run_id__in=list(week_before),
        account_id__gte=first_id,
        account_id__lte=last_id,
        score__isnull=False,
    )
    found = columns_of(rows, account_id=INT, score=FLOAT)
    return dict(zip(found["account_id"].tolist(), found["score"].tolist(), strict=True))


def score_rows(
    run: ScoreRun, results: list[compute.VersionScores], previous: dict[int, float]
) -> list[tuple]:
    """The run's HealthScore rows (COLUMNS), the date as the database driver takes it: a
    back-fill writes hundreds of thousands, so nothing is adapted again per row."""
    rows = []
    day = connection.ops.adapt_datefield_value(run.date)
    for result in results:
        scores = np.round(result.scores.score, 2)
        before = np.array(
            [previous.get(a, np.nan) for a in result.account_ids.tolist()], dtype=np.float64
        )
        deltas = np.round(scores - before, 2)
        n = len(result.account_ids)
        # Built by zip, not row by row in Python: a back-fill writes hundreds of thousands.
        rows.extend(
            zip(
                result.account_ids.tolist(),
                repeat(run.pk, n),
                repeat(day, n),
                repeat(result.version.id, n),
                _nullable(scores),
                result.bands.tolist(),
                np.round(result.scores.coverage, 4).tolist(),
                _nullable(deltas),
                compute.details_json_rows(result.raw, result.scores.sub),
                strict=True,
            )
        )
    return rows


def _nullable(values: np.ndarray) -> list:
    """The values as Python floats, NaN (no score, no change) as None: NULL in the row."""
    objects = values.astype(object)
    objects[np.isnan(values)] = None
    return objects.tolist()


COLUMNS = (
    "account_id",
    "run_id",
    "date",
    "version_id",
    "score",
    "band",
    "coverage",
    "delta_7d",
    "details",
)
# Their PostgreSQL types, for the binary COPY.
COLUMN_TYPES = ("int8", "int8", "date", "int8", "float8", "varchar", "float8", "float8", "json")


def insert_scores(rows: list[tuple]) -> int:
    """Write HealthScore rows (COLUMNS), in the caller's transaction, and return how many.
    The table has no database foreign keys: the accounts, runs and versions the rows refer to
    are locked here once for the set, as the per-row checks did. The rows of an account
    deleted since it was read are left out; a run or version deleted meanwhile fails the
    write (its scores would point at nothing)."""
    if not rows:
        return 0
    account_ids = {row[0] for row in rows}
    accounts = keys_lock(Account._meta.db_table, account_ids)
    for model, column in ((ScoreRun, 1), (ScorecardVersion, 3)):
        wanted = {row[column] for row in rows}
        if missing := wanted - keys_lock(model._meta.db_table, wanted):
            raise RuntimeError(
                f"{model._meta.verbose_name} {sorted(missing)} deleted while scoring: "
                "nothing written."
            )
    if len(accounts) < len(account_ids):
        rows = [row for row in rows if row[0] in accounts]
    if connection.vendor == "postgresql":
        # COPY is several times faster than INSERT for a whole day of snapshots, and its
        # binary form spares both sides writing and parsing every number as text (a third
        # of the driver's time). The details are JSON text already (details_json_rows):
        # sent as they are, not encoded again.
        with connection.cursor() as cursor:
            set_json_dumps(str, context=cursor.cursor)
            with cursor.cursor.copy(
                f"COPY scoring_healthscore ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(COLUMN_TYPES)
                for row in rows:
                    copy.write_row(row)
        return len(rows)
    # Plain executemany: the ORM's per-object work would double a back-fill's time on SQLite.
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO scoring_healthscore ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows
        )
    return len(rows)


def run_chunk_aggregate(*, chunk_id: int, aggregate_fn=aggregate) -> int:
    """First pass: read one chunk's signals and keep its raw values; a repeat does nothing.
    Returns the accounts read."""
    chunk = (
        ScoreChunk.objects.select_related("run")
        .defer("raw", "ranked")
        .annotate(read=ExpressionWrapper(Q(raw__isnull=False), output_field=BooleanField()))
        .filter(pk=chunk_id)
        .first()
    )
    # A chunk delivered again after it was read (its worker died before acknowledging), or
    # after its abandoned run was taken over (its chunks dropped).
    if chunk is None or chunk.read or chunk.run.status != ScoreRun.Status.RUNNING:
        return 0
    run = chunk.run
    versions = run_versions(run)
    ids, segments, seats = accounts_active_on(
        run.date, chunk.first_account_id, chunk.last_account_id
    )
    parts = compute.raw_by_version(
        as_of=run.date,
        account_ids=ids,
        segment_ids=segments,
        seats=seats,
        assignment=ScorecardAssignment(versions),
        aggregate_fn=aggregate_fn,
    )
    raw = ChunkRaw.from_version_raws(parts)
    ranked = pack(raw.percentile_values(versions))
    with transaction.atomic():
        kept = _values_keep(chunk.pk, raw.to_bytes(), ranked)
        ScoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
    return len(ids) if kept else 0


def _values_keep(chunk_id: int, raw: bytes, ranked: bytes) -> int:
    """Keep a chunk's values on its row unless it has some; returns the rows updated (0 or
    1). Only the first of two racing deliveries keeps its values (they are the same)."""
    if connection.vendor != "postgresql":
        return ScoreChunk.objects.filter(pk=chunk_id, raw__isnull=True).update(
            raw=raw, ranked=ranked
        )
    connection.ensure_connection()
    # As binary parameters, on a cursor of the same connection and transaction: Django's
    # cursors write parameters into the statement's text, and a chunk's 880 KB of values
    # went as 1.8 MB of hex for PostgreSQL to parse (14 ms a chunk instead of 5).
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            "UPDATE scoring_scorechunk SET raw = %b, ranked = %b WHERE id = %s AND raw IS NULL",
            [raw, ranked, chunk_id],
        )
        return cursor.rowcount


def run_references(*, run_id: int) -> ScoreRun:
    """Between the passes: rank populations for the percentile measures, from every chunk's
    raw values. Safe to repeat (the same values give the same references)."""
    run = ScoreRun.objects.get(pk=run_id)
    if run.status != ScoreRun.Status.RUNNING:
        return run
    missing = run.chunks.filter(raw__isnull=True).count()
    if missing:
        raise RuntimeError(f"Run {run.pk} cannot rank: {missing} chunk(s) not read.")
    blobs = run.chunks.order_by("first_account_id").values_list("ranked", flat=True)
    measures = population_references(unpack(blob) for blob in blobs)
    run.reference = {**run.reference, "measures": measures}
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["reference", "heartbeat_at"])
    return run


def run_chunk(*, chunk_id: int) -> int:
    """Second pass: score one chunk from its raw values and write its rows; a repeat of a
    finished chunk does nothing. Returns accounts written."""
    chunk = ScoreChunk.objects.select_related("run").defer("ranked").filter(pk=chunk_id).first()
    if chunk is None or chunk.done or chunk.run.status != ScoreRun.Status.RUNNING:
        return 0
    run = chunk.run
    if chunk.raw is None or "measures" not in run.reference:
        raise RuntimeError(f"Chunk {chunk.pk} cannot score before every chunk is read.")
    references = _references(run)
    results = [
        compute.score_raw(part.version, part.account_ids, part.raw, references)
        for part in ChunkRaw.from_bytes(chunk.raw).version_raws(run_versions(run))
    ]
    rows = score_rows(
        run, results, _previous_scores(run.date, chunk.first_account_id, chunk.last_account_id)
    )
    with transaction.atomic():
        # The chunk row is the lock: only the first of two racing deliveries writes.
        claimed = ScoreChunk.objects.filter(pk=chunk.pk, done=False).update(done=True)
        if not claimed:
            return 0
        written = insert_scores(rows)
        ScoreRun.objects.filter(pk=run.pk).update(
            accounts_done=F("accounts_done") + written,
            chunks_done=F("chunks_done") + 1,
            heartbeat_at=timezone.now(),
        )
    return written


def _percentile_bands(run: ScoreRun, version: VersionConfig) -> list[float] | None:
    """Band the version's whole population by rank; returns the [red max, green min] scores."""
    rows = list(
        HealthScore.objects.filter(run=run, version_id=version.id).values_list(
            "id", "account_id", "score", "coverage"
        )
    )
    if not rows:
        return None
    data = np.array(
        [(r[0], r[1], np.nan if r[2] is None else r[2], r[3]) for r in rows], dtype=np.float64
    )
    bands = engine.assign_bands(
        data[:, 2], data[:, 3], tiebreak=data[:, 1], **version.band_kwargs()
    )
    ids = data[:, 0].astype(np.int64)
    for band in (Band.GREEN, Band.YELLOW, Band.RED):
        chosen = ids[bands == band].tolist()
        for i in range(0, len(chosen), 5000):
            HealthScore.objects.filter(pk__in=chosen[i : i + 5000]).exclude(band=band).update(
                band=band
            )
    return engine.band_cuts(data[:, 2], bands)


def run_finalize(*, run_id: int) -> ScoreRun:
    """Band by percentile where asked, then publish the run in place of the date's old one."""
    run = ScoreRun.objects.get(pk=run_id)
    if run.status != ScoreRun.Status.RUNNING:
        return run
    missing = run.chunks.filter(done=False).count()
    if missing:
        raise RuntimeError(f"Run {run.pk} cannot finish: {missing} chunk(s) not scored.")
    ScoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
    cuts = {}
    for version in run_versions(run):
        if version.band_mode == "percentile":
            cuts[str(version.id)] = _percentile_bands(run, version)
    with transaction.atomic():
        # The run's row is the lock: of two finalizes at once (the watchdog sent the steps
        # of a run again), the second finds it published and publishes nothing.
        if (
            ScoreRun.objects.select_for_update().values_list("status", flat=True).get(pk=run.pk)
            != ScoreRun.Status.RUNNING
        ):
            return ScoreRun.objects.get(pk=run.pk)
        previous = list(
            ScoreRun.objects.select_for_update().filter(date=run.date, status=ScoreRun.Status.DONE)
        )
        ScoreRun.objects.filter(pk__in=[p.pk for p in previous]).update(
            status=ScoreRun.Status.SUPERSEDED
        )
        writers_lock_before_dropping([p.pk for p in previous])
        HealthScore.objects.filter(run__in=previous).delete()
        run.status = ScoreRun.Status.DONE
        run.finished_at = timezone.now()
        run.heartbeat_at = run.finished_at
        run.reference = {**run.reference, "band_cuts": cuts}
        # Each chunk added its accounts exactly once (its done flag guards the counter).
        run.accounts_done = ScoreRun.objects.values_list("accounts_done", flat=True).get(pk=run.pk)
        run.save()
        # In the same transaction: no re-score can reach the run before its rollup is kept.
        rollups.run_rollup(run=run)
        run_totals_publish(run=run)
        # The raw values were only needed until every chunk was scored.
        run.chunks.update(raw=None, ranked=None)
    logger.info("Score run %s for %s done: %d accounts", run.pk, run.date, run.accounts_done)
    # A back-fill's days are evaluated and vacuumed once, after its newest day (run_backfill).
    if run.trigger != "backfill":
        rules_apply_after_run(run=run)
        upkeep_soon()
    return run


def run_fail(*, run_id: int, error: str) -> None:
    with transaction.atomic():
        updated = ScoreRun.objects.filter(pk=run_id, status=ScoreRun.Status.RUNNING).update(
            status=ScoreRun.Status.FAILED, error=error[:5000], finished_at=timezone.now()
        )
        if updated:
            # A failed run's partial rows are never shown; don't keep them.
            HealthScore.objects.filter(run_id=run_id).delete()
            ScoreChunk.objects.filter(run_id=run_id).update(raw=None, ranked=None)


def run_sync(
    *,
    as_of: dt.date,
    trigger: str = "manual",
    chunk_size: int | None = None,
    progress=None,
    aggregate_fn=aggregate,
) -> ScoreRun:
    """The whole run in this process, chunk after chunk (commands, tests, back-fills)."""
    run = run_start(as_of=as_of, trigger=trigger, chunk_size=chunk_size)
    try:
        chunk_ids = list(run.chunks.order_by("first_account_id").values_list("pk", flat=True))
        for chunk_id in chunk_ids:
            run_chunk_aggregate(chunk_id=chunk_id, aggregate_fn=aggregate_fn)
        run_references(run_id=run.pk)
        for chunk_id in chunk_ids:
            done = run_chunk(chunk_id=chunk_id)
            if progress:
                progress(done)
        return run_finalize(run_id=run.pk)
    except BaseException as exc:
        run_fail(run_id=run.pk, error=f"{type(exc).__name__}: {exc}")
        raise


def latest_done_run(on: dt.date | None = None) -> ScoreRun | None:
    qs = ScoreRun.objects.filter(status=ScoreRun.Status.DONE)
    if on is not None:
        qs = qs.filter(date=on)
    return qs.order_by("-date").first()


def account_rescore(*, account_id: int) -> HealthScore | None:
    """Re-score one account into today's published snapshot after new signals arrive."""
    if not accounts_rescore(account_ids=[account_id]):
        return None
    return HealthScore.objects.filter(run=latest_done_run(timezone.localdate())).get(
        account_id=account_id
    )


def accounts_rescore(*, account_ids: Sequence[int]) -> int:
    """Re-score these accounts (at most a chunk's worth: one id range is read) into today's
    published snapshot after new signals arrived; returns how many were scored."""
    today = timezone.localdate()
    run = latest_done_run(today)
    if run is None:
        logger.info(
            "No published scores for %s yet; %d account(s) wait for the nightly run",
            today,
            len(account_ids),
        )
        return 0
    wanted = sorted(set(account_ids))
    if not wanted:
        return 0
    ids, segments, seats = accounts_active_on(today, wanted[0], wanted[-1])
    keep = np.isin(ids, wanted)
    ids, segments, seats = ids[keep], segments[keep], seats[keep]
    if not len(ids):
        return 0
    results = compute.score_accounts(
        as_of=today,
        account_ids=ids,
        segment_ids=segments,
        seats=seats,
        assignment=ScorecardAssignment(run_versions(run)),
        references=_references(run),
    )
    band_cuts = run.reference.get("band_cuts", {})
    for result in results:
        cuts = band_cuts.get(str(result.version.id))
        if not cuts:
            continue
        # Accounts re-scored apart cannot be ranked: each is banded by the cut-off scores
        # of today's population.
        for i in range(len(result.account_ids)):
            result.bands[i] = engine.band_for(
                result.scores.score[i],
                result.scores.coverage[i],
                min_coverage=result.version.min_coverage,
                cuts=cuts,
            )
    rows = score_rows(run, results, _previous_scores(today, int(ids[0]), int(ids[-1])))
    scored = [int(a) for r in results for a in r.account_ids]
    with transaction.atomic():
        HealthScore.objects.filter(run=run, account_id__in=scored).delete()
        insert_scores(rows)
        rules_apply_soon(as_of=today, account_ids=scored)
    return len(rows)
