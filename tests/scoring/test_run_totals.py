"""Per-run band totals: stored when a run is published, exact after every kind of write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, ExpressionWrapper, IntegerField, Min, Q, Sum, Value
from django.db.models.fields import BooleanField
from django.db.models.functions import Coalesce

from accounts.models import Account
from healthboard.lib.planner import new_run_plan
from scoring.models import HealthScore, RunBookDay, RunStageDay, ScoreRun
from scoring.rollups.totals import (
    COUNT_SQL,
    KEEP,
    NO_OWNER,
    RunTotal,
    run_totals_publish,
    run_totals_rebuild,
)
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    JourneyStageFactory,
    ScoreRunFactory,
    SegmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.postgres

TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC), tick=False)


def _by_cell(scores, **values) -> dict[tuple, dict]:
    """`values` (aggregates) of the scores per cell, the accounts as they are now."""
    rows = (
        scores.values(
            "band",
            "account__segment_id",
            "account__stage_id",
            owner=Coalesce("account__owner_id", Value(NO_OWNER), output_field=IntegerField()),
            active=ExpressionWrapper(
                Q(account__status=Account.Status.ACTIVE), output_field=BooleanField()
            ),
        )
        .annotate(**values)
        .order_by()
    )
    return {
        (r["band"], r["owner"], r["account__segment_id"], r["active"], r["account__stage_id"]): r
        for r in rows
    }


def live(run: ScoreRun) -> dict[tuple, tuple]:
    """What the totals must be: the run's scores joined to the accounts as they are now."""
    cells = _by_cell(
        HealthScore.objects.filter(run=run),
        n=Count("*"),
        arr=Sum("account__arr"),
        scored=Count("score"),
        sum=Sum("score"),
    )
    return {
        key: (r["n"], r["arr"], r["scored"], round(r["sum"] or 0, 6)) for key, r in cells.items()
    }


def stored(run: ScoreRun) -> dict[tuple, tuple]:
    """The stored cells; a cell that emptied may stay behind at zero."""
    return {
        (t.band, t.owner_id, t.segment_id, t.active, t.stage_id): (
            t.n,
            t.arr,
            t.scored,
            round(t.score_sum, 6),
        )
        for t in RunTotal.objects.filter(run=run)
        if t.n or t.arr or t.scored or round(t.score_sum, 6)
    }


def live_days(run: ScoreRun, *, per_owner: bool = False) -> dict[tuple, int]:
    """What the days' cells must be: the run's active accounts with a known stage entry (per
    owner: the books' cells)."""
    keys = ["account__stage_id", "band", "account__segment_id", "account__stage_since"]
    owner = Coalesce("account__owner_id", Value(NO_OWNER), output_field=IntegerField())
    rows = (
        HealthScore.objects.filter(
            run=run, account__status=Account.Status.ACTIVE, account__stage_since__isnull=False
        )
        .values(*keys, **({"owner": owner} if per_owner else {}))
        .annotate(n=Count("*"))
        .order_by()
    )
    return {
        (*((r["owner"],) if per_owner else ()), *(r[key] for key in keys)): r["n"] for r in rows
    }


def stored_days(run: ScoreRun, *, per_owner: bool = False) -> dict[tuple, int]:
    if per_owner:
        return {
            (d.owner_id, d.stage_id, d.band, d.segment_id, d.stage_since): d.n
            for d in RunBookDay.objects.filter(run=run)
            if d.n
        }
    return {
        (d.stage_id, d.band, d.segment_id, d.stage_since): d.n
        for d in RunStageDay.objects.filter(run=run)
        if d.n
    }


@pytest.fixture
def book(db):
    """Today's published run over accounts of two owners (and one unassigned), two segments,
    two stages, every band, one churned account, one whose stage entry is unknown;
    yesterday's run too."""
    run = ScoreRunFactory(date=TODAY)
    yesterday = ScoreRunFactory(date=TODAY - dt.timedelta(days=1))
    owners = [UserFactory(), UserFactory()]
    segments = [SegmentFactory(slug="smb"), SegmentFactory(slug="enterprise")]
    stages = [JourneyStageFactory(), JourneyStageFactory(slug="renewal")]
    accounts = []
    for i, score in enumerate([10, 35, 50, 65, 75, 90, None, 20, 80]):
        account = AccountFactory(
            owner=owners[i % 2] if i != 4 else None,
            segment=segments[i % 3 == 0],
            arr=Decimal(1000 * (i + 1)),
            status=Account.Status.CHURNED if i == 8 else Account.Status.ACTIVE,
            stage=stages[i % 2],
            stage_since=None if i == 5 else TODAY - dt.timedelta(days=10 * (i % 4)),
        )
        HealthScoreFactory(account=account, run=run, score=score)
        HealthScoreFactory(account=account, run=yesterday, score=score)
        accounts.append(account)
    run_totals_publish(run=yesterday)
    run_totals_publish(run=run)
    return {"run": run, "yesterday": yesterday, "accounts": accounts, "owners": owners,
            "segments": segments}  # fmt: skip


def lowest(run: ScoreRun) -> dict[tuple, float]:
    """Each cell's lowest score now."""
    cells = _by_cell(HealthScore.objects.filter(run=run, score__isnull=False), low=Min("score"))
    return {key: r["low"] for key, r in cells.items()}


def assert_exact(*runs: ScoreRun) -> None:
    for run in runs:
        assert stored(run) == live(run)
        assert stored_days(run) == live_days(run)
        assert stored_days(run, per_owner=True) == live_days(run, per_owner=True)
        # A cell's bound is at most its lowest score (it need not be that score).
        bounds = {
            (t.band, t.owner_id, t.segment_id, t.active, t.stage_id): t.score_low
            for t in RunTotal.objects.filter(run=run)
        }
        for key, low in lowest(run).items():
            assert bounds[key] is not None and bounds[key] <= low, key


def test_publishing_stores_what_the_scores_add_up_to(book) -> None:
    run = book["run"]

    assert stored(run) == live(run)
    assert sum(n for n, *_ in stored(run).values()) == 9
    # Every band, the unassigned account's cell and the churned account's cell are there.
    keys = stored(run).keys()
    assert {band for band, *_ in keys} == {"green", "yellow", "red", "none"}
    assert any(owner == NO_OWNER for _, owner, *_ in keys)
    assert any(not active for *_, active, _stage in keys)
    assert len({stage for *_, stage in keys}) == 2
    # The churned account and the one whose stage entry is unknown are in no day's cell.
    assert sum(stored_days(run).values()) == 7
    assert stored_days(run) == live_days(run)
    assert sum(stored_days(run, per_owner=True).values()) == 7
    assert any(owner == NO_OWNER for owner, *_ in stored_days(run, per_owner=True))


def test_publishing_again_replaces_the_totals(book) -> None:
    run = book["run"]

    assert run_totals_publish(run=run) == RunTotal.objects.filter(run=run).count()
    assert_exact(run)


def test_an_account_that_changes_owner_segment_arr_or_status_moves_between_cells(book) -> None:
    account, other = book["accounts"][0], book["accounts"][1]
    owner = book["owners"][1]

    account.owner = owner
    account.save()
    assert_exact(book["run"], book["yesterday"])

    Account.objects.filter(pk=other.pk).update(
        arr=Decimal("123456.78"), segment=book["segments"][1]
    )
    assert_exact(book["run"], book["yesterday"])

    Account.objects.filter(pk=account.pk).update(status=Account.Status.CHURNED)
    assert_exact(book["run"], book["yesterday"])

    Account.objects.filter(pk=other.pk).update(owner=None)
    assert_exact(book["run"], book["yesterday"])


def test_an_account_moved_to_another_stage_moves_between_cells(book) -> None:
    account, other = book["accounts"][2], book["accounts"][3]
    stage = JourneyStageFactory(slug="onboarding")

    account.stage, account.stage_since = stage, TODAY
    account.save()
    assert_exact(book["run"], book["yesterday"])

    # The stage entry alone, known or not.
    Account.objects.filter(pk=other.pk).update(stage_since=TODAY - dt.timedelta(days=3))
    assert_exact(book["run"], book["yesterday"])
    Account.objects.filter(pk=account.pk).update(stage_since=None)
    assert_exact(book["run"], book["yesterday"])


def test_a_bulk_update_of_every_account_stays_exact(book) -> None:
    Account.objects.update(owner=book["owners"][0], arr=Decimal("999.99"))

    assert_exact(book["run"], book["yesterday"])


def test_an_edit_that_does_not_concern_the_totals_leaves_them_alone(book) -> None:
    before = list(RunTotal.objects.order_by("pk").values_list("pk", "n", "arr"))
    days = list(RunStageDay.objects.order_by("pk").values_list("pk", "n"))
    books = list(RunBookDay.objects.order_by("pk").values_list("pk", "n"))

    Account.objects.update(name="Renamed", industry="Retail", seats=3)

    assert list(RunTotal.objects.order_by("pk").values_list("pk", "n", "arr")) == before
    assert list(RunStageDay.objects.order_by("pk").values_list("pk", "n")) == days
    assert list(RunBookDay.objects.order_by("pk").values_list("pk", "n")) == books


def test_a_rescore_during_the_day_moves_the_account_between_bands(book) -> None:
    # As scoring.runs.account_rescore does it: delete the row, insert the new one.
    run, account = book["run"], book["accounts"][0]
    HealthScore.objects.filter(run=run, account=account).delete()
    assert_exact(run)
    HealthScoreFactory(account=account, run=run, score=95)

    assert_exact(run)
    assert stored(run) != live(book["yesterday"])


def test_bulk_writes_and_band_updates_stay_exact(book) -> None:
    run = book["run"]
    HealthScore.objects.filter(run=run, band="red").update(band="yellow")
    assert_exact(run)

    newcomers = [AccountFactory(segment=book["segments"][0]) for _ in range(3)]
    HealthScore.objects.bulk_create(
        HealthScoreFactory.build(account=a, run=run, score=30) for a in newcomers
    )
    assert_exact(run)


def test_deleting_an_account_or_its_owner(book) -> None:
    book["accounts"][2].delete()
    assert_exact(book["run"], book["yesterday"])

    # The owner's accounts become unassigned (on_delete=SET_NULL).
    book["owners"][0].delete()
    assert_exact(book["run"], book["yesterday"])


def test_runs_without_totals_are_left_alone(book) -> None:
    running = ScoreRunFactory(date=TODAY + dt.timedelta(days=1), status=ScoreRun.Status.RUNNING)
    old = ScoreRunFactory(date=TODAY - KEEP - dt.timedelta(days=1))

    for run in (running, old):
        for account in book["accounts"][:3]:
            HealthScoreFactory(account=account, run=run, score=50)
    Account.objects.update(arr=Decimal(1))

    assert not RunTotal.objects.filter(run__in=[running, old]).exists()
    assert_exact(book["run"], book["yesterday"])


def test_only_runs_in_the_window_keep_totals(book, time_machine) -> None:
    old = ScoreRunFactory(date=TODAY - KEEP - dt.timedelta(days=1))
    HealthScoreFactory(account=book["accounts"][0], run=old)

    assert run_totals_publish(run=old) == 0
    assert not RunTotal.objects.filter(run=old).exists()

    # A week later, today's run is the one a week before; yesterday's left the window.
    time_machine.shift(KEEP)
    later = ScoreRunFactory(date=TODAY + KEEP)
    HealthScoreFactory(account=book["accounts"][0], run=later)
    assert run_totals_publish(run=later) > 0
    assert RunTotal.objects.filter(run=book["run"]).exists()
    assert not RunTotal.objects.filter(run=book["yesterday"]).exists()


def test_a_superseded_run_loses_its_totals(book) -> None:
    run = book["run"]
    ScoreRun.objects.filter(pk=run.pk).update(status=ScoreRun.Status.SUPERSEDED)
    again = ScoreRunFactory(date=TODAY)
    HealthScoreFactory(account=book["accounts"][0], run=again)

    run_totals_publish(run=again)

    assert not RunTotal.objects.filter(run=run).exists()
    assert_exact(again)


def test_a_back_filled_day_is_not_stored(db) -> None:
    # The newest run so far, but dated more than a week ago: a back-fill publishing history.
    old = ScoreRunFactory(date=TODAY - KEEP - dt.timedelta(days=30))
    HealthScoreFactory(run=old)

    assert run_totals_publish(run=old) == 0
    assert not RunTotal.objects.exists()


def test_a_run_that_is_not_done_is_not_stored(book) -> None:
    running = ScoreRunFactory(date=TODAY + dt.timedelta(days=1), status=ScoreRun.Status.RUNNING)
    HealthScoreFactory(account=book["accounts"][0], run=running)

    assert run_totals_publish(run=running) == 0
    assert not RunTotal.objects.filter(run=running).exists()


def test_rebuild_recounts_the_window_from_scratch(book) -> None:
    RunTotal.objects.filter(run=book["run"]).update(n=0, arr=0)
    RunStageDay.objects.filter(run=book["run"]).update(n=0)
    RunBookDay.objects.filter(run=book["run"]).update(n=0)

    assert run_totals_rebuild() > 0
    assert_exact(book["run"], book["yesterday"])


def test_a_publication_kept_waiting_by_a_writer_leaves_the_run_to_the_live_count(
    db, monkeypatch
) -> None:
    import psycopg
    from django.db import connection

    from scoring.rollups import totals as run_totals

    monkeypatch.setattr(run_totals, "LOCK_WAIT", "50ms")
    run = ScoreRunFactory(date=TODAY)
    HealthScoreFactory(run=run, score=30)
    with psycopg.connect(**connection.get_connection_params()) as writer:
        writer.execute("SET lock_timeout = '5s'")
        # A long import, say: holds the accounts for writing until it commits.
        writer.execute("LOCK TABLE accounts_account IN ROW EXCLUSIVE MODE")

        assert run_totals_publish(run=run) == 0

    assert not RunTotal.objects.filter(run=run).exists()
    # The caller's transaction goes on, and a later publication stores the totals.
    assert run_totals_publish(run=run) > 0
    assert_exact(run)


OLD_STORED_RUNS = "SELECT DISTINCT run_id FROM scoring_runtotal ORDER BY 1"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrating_back_keeps_totals_for_the_runs_that_had_them() -> None:
    """Migration 0027, backward and forward again, counts the cells of the runs that had
    totals, and only theirs (a run whose publication timed out on the lock has none)."""
    account = AccountFactory()
    run = ScoreRunFactory(date=TODAY)
    not_published = ScoreRunFactory(date=TODAY - dt.timedelta(days=2))
    HealthScoreFactory(account=account, run=run, score=20)
    HealthScoreFactory(account=account, run=not_published, score=80)
    assert run_totals_publish(run=run) > 0
    before = sorted(set(RunTotal.objects.values_list("run_id", flat=True)))
    assert before == [run.pk]

    try:
        call_command("migrate", "scoring", "0026", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(OLD_STORED_RUNS)
            after = [run_id for (run_id,) in cursor.fetchall()]
    finally:
        call_command("migrate", "scoring", verbosity=0)

    assert after == before


def test_a_new_runs_totals_are_counted_by_hash_not_one_probe_per_score():
    """The plan run_totals_publish counts a run with while the statistics know nothing of it."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL plan")
    with connection.cursor() as cursor, new_run_plan():
        cursor.execute("EXPLAIN " + COUNT_SQL, {"no_owner": NO_OWNER, "run": 10**9})
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Nested Loop" not in plan and "Sort" not in plan, plan
    assert "Hash Join" in plan and "HashAggregate" in plan, plan
