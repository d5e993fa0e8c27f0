"""A night's run caught in one of its steps, for the fault tests (killed workers, dropped
database connections): a portfolio whose day is already published, the run taken to a step
with the step's next write held on a lock, and the check that a day is whole."""

from __future__ import annotations

import psycopg
from django.utils import timezone

from scoring.models import HealthScore, RunSnapshot, RunTotal, ScoreRun
from scoring.pipeline import runs
from scoring.tasks import nightly_run, run_pipeline
from tests.factories import AccountFactory
from tests.scoring.test_runs import add_signals

ACCOUNTS = 120
CHUNK = 30

STEPS = ["claim", "read", "references", "score", "publish"]


def portfolio_published() -> ScoreRun:
    """ACCOUNTS accounts with signals, and today's run already published (an earlier run)."""
    for i, account in enumerate(AccountFactory.create_batch(ACCOUNTS)):
        add_signals(account, (i % 10) / 9)
    return runs.run_sync(as_of=timezone.localdate(), chunk_size=CHUNK)


def waiting_pids(dsn: str, blocker: psycopg.Connection) -> list[int]:
    """The backends (workers') waiting on a lock the blocker holds."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> %s",
            [blocker.info.backend_pid],
        ).fetchall()
    return [pid for (pid,) in rows]


def run_to(step: str, blocker: psycopg.Connection) -> None:
    """Take today's run to `step` in this process, have the blocker lock what the step
    writes next, and send the rest to the workers (scoring.tasks.run_pipeline sends only
    what the database shows undone)."""
    today = timezone.localdate()
    if step == "claim":
        # The claim creates its run, then its chunks, in one transaction.
        blocker.execute("LOCK TABLE scoring_scorechunk IN SHARE ROW EXCLUSIVE MODE")
        nightly_run.delay(today.isoformat())
        return
    run = runs.run_start(as_of=today, trigger="nightly", chunk_size=CHUNK)
    chunks = list(run.chunks.order_by("first_account_id").values_list("pk", flat=True))
    if step != "read":
        for chunk in chunks:
            runs.run_chunk_aggregate(chunk_id=chunk)
    if step in ("score", "publish"):
        runs.run_references(run_id=run.pk)
    if step == "publish":
        for chunk in chunks:
            runs.run_chunk(chunk_id=chunk)
    if step in ("read", "score"):
        # A chunk's row, between others: its pass's last write waits on it.
        blocker.execute("SELECT 1 FROM scoring_scorechunk WHERE id = %s FOR UPDATE", [chunks[1]])
    elif step == "references":
        blocker.execute("SELECT 1 FROM scoring_scorerun WHERE id = %s FOR UPDATE", [run.pk])
    else:
        # Deep inside publishing: the old run superseded and its rows deleted, the new one
        # marked done, its snapshot written; its totals wait.
        blocker.execute("LOCK TABLE scoring_runtotal IN SHARE ROW EXCLUSIVE MODE")
    run.refresh_from_db()
    run_pipeline(run).delay()


def assert_day_whole(run: ScoreRun) -> None:
    """The day shows exactly this run: done, one row an account, one snapshot, its totals.
    (Readers read done runs only: a run still running may hold rows of its own.)"""
    today = run.date
    assert ScoreRun.objects.get(date=today, status=ScoreRun.Status.DONE) == run
    shown = HealthScore.objects.filter(date=today, run__status=ScoreRun.Status.DONE)
    assert shown.count() == shown.values("account_id").distinct().count() == ACCOUNTS
    assert HealthScore.objects.filter(run=run).count() == ACCOUNTS
    assert RunSnapshot.objects.filter(run__date=today).count() == 1
    assert RunSnapshot.objects.filter(run=run).exists()
    assert sum(RunTotal.objects.filter(run=run).values_list("n", flat=True)) == ACCOUNTS


def new_run_published(previous: ScoreRun) -> ScoreRun | None:
    return (
        ScoreRun.objects.filter(date=previous.date, status=ScoreRun.Status.DONE)
        .exclude(pk=previous.pk)
        .first()
    )


def assert_replaced(previous: ScoreRun, run: ScoreRun) -> None:
    """The new run published whole in place of the previous one; nothing left running."""
    assert_day_whole(run)
    assert run.chunks_done == run.chunks_total == ACCOUNTS // CHUNK
    assert run.accounts_done == ACCOUNTS
    previous.refresh_from_db()
    assert previous.status == ScoreRun.Status.SUPERSEDED
    assert not ScoreRun.objects.filter(status=ScoreRun.Status.RUNNING).exists()
    # Nothing left behind by the run that was cut off, or by a step done twice.
    assert HealthScore.objects.filter(date=run.date).count() == ACCOUNTS
