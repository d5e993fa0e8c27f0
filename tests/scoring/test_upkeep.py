"""After a published run the scores and the accounts are vacuumed on a worker, so the pages'
index-only scans of the newest run stop visiting its rows, then the weekly review's weeks are
counted (scoring.pipeline.upkeep); a queue that is down fails no run, and a back-fill is
vacuumed once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from scoring.models import RunWeek, RunWeekCell, ScoreRun
from scoring.pipeline import backfill_runs, runs, upkeep
from tests.factories import AccountFactory

# The hand-off happens once the publishing transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()


@pytest.fixture
def handed_off(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(upkeep.publication_upkeep, "delay", lambda: calls.append(()))
    return calls


def _all_visible(table: str) -> tuple[int, int]:
    """(pages, pages all-visible) as the table's last VACUUM counted them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass", [table]
        )
        return cursor.fetchone()


def _heap_fetches() -> int:
    """Rows fetched from the table by an index-only read of the newest run's scores."""
    run = ScoreRun.objects.filter(status="done").order_by("-date").first()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT account_id, band, score "
            "FROM scoring_healthscore WHERE run_id = %s",
            [run.pk],
        )
        plan = cursor.fetchone()[0][0]["Plan"]
    assert plan["Node Type"] == "Index Only Scan", plan
    return plan["Heap Fetches"]


def test_a_published_run_hands_off_one_vacuum(handed_off):
    AccountFactory.create_batch(3)
    runs.run_sync(as_of=TODAY)
    assert handed_off == [()]


def test_a_back_fill_is_vacuumed_once_after_its_newest_day(handed_off):
    AccountFactory.create_batch(3)
    backfill_runs.run_backfill(first=TODAY - dt.timedelta(days=3), last=TODAY)
    assert ScoreRun.objects.filter(status="done").count() == 4
    assert handed_off == [()]


def test_with_the_queue_down_the_run_is_published_anyway(broker_down, caplog):
    AccountFactory.create_batch(3)
    run = runs.run_sync(as_of=TODAY)
    assert ScoreRun.objects.get(pk=run.pk).status == "done"
    assert "Scores not vacuumed nor weeks counted now" in caplog.text


@pytest.mark.postgres
def test_after_the_vacuum_the_newest_run_is_read_from_its_index_alone(handed_off):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's visibility map")
    AccountFactory.create_batch(40)
    runs.run_sync(as_of=TODAY)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scoring_healthscore")
    with transaction.atomic():
        assert _heap_fetches() == 40  # just written: every row's page is visited

    assert upkeep.scores_vacuum() is True  # what the handed-off task runs

    with transaction.atomic():
        assert _heap_fetches() == 0
    pages, visible = _all_visible("scoring_healthscore")
    assert pages and visible == pages
    pages, visible = _all_visible("accounts_account")
    assert pages and visible == pages


@pytest.mark.postgres
def test_after_the_vacuum_the_weekly_reviews_weeks_are_counted(handed_off):
    AccountFactory.create_batch(3)
    runs.run_sync(as_of=TODAY - dt.timedelta(days=7))
    run = runs.run_sync(as_of=TODAY)
    assert upkeep.publication_upkeep_now() == 2  # each run's week: the newest, last week's
    assert RunWeek.objects.get(run=run).before.date == TODAY - dt.timedelta(days=7)
    assert RunWeekCell.objects.filter(run_id=run.pk).aggregate(n=Sum("n"))["n"] == 3
    assert upkeep.publication_upkeep_now() == 0  # delivered twice: nothing more


def test_inside_a_transaction_nothing_is_vacuumed():
    with transaction.atomic():
        assert upkeep.scores_vacuum() is False
