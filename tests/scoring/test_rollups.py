"""Run snapshots (scoring/rollups/snapshots.py): a published run's snapshot and band totals
equal what its rows say, today's re-scores show at once, a day is settled with its
re-scores once it is over, reads never write, and the pages read the same figures with the
snapshots as without them."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account
from healthboard.bench.pages import rollup_missing
from healthboard.lib.columns import DATE, FLOAT, HIGHEST, INT, LOWEST, NO_DATE, NO_INT, columns_of
from healthboard.pages.weekly import selectors as weekly
from scoring.bands import CODES
from scoring.models import HealthScore, ScoreRun
from scoring.rollups import snapshots as rollups
from scoring.rollups.snapshots import RunColumns, RunSnapshot
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory

TODAY = dt.date(2026, 11, 23)  # a Monday
YESTERDAY = TODAY - dt.timedelta(days=1)
NIGHT = dt.time(2, 0)  # when the nightly run starts


def at(day: dt.date, time: dt.time = dt.time(9, 0)) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(at(TODAY), tick=False)
    return time_machine


def scored_run(day: dt.date, scores: dict[str, float | None], **accounts) -> ScoreRun:
    """A done run started in the night of `day`, with the named accounts' scores (created
    when not in `accounts`)."""
    run = ScoreRunFactory(date=day, started_at=at(day, NIGHT))
    for name, score in scores.items():
        account = accounts.get(name) or AccountFactory(name=name)
        accounts[name] = account
        HealthScoreFactory(account=account, run=run, score=score)
    return run


def rescore(run: ScoreRun, account: Account, score: float | None) -> HealthScore:
    """What scoring.runs.account_rescore does to a run: the account's row replaced."""
    HealthScore.objects.filter(run=run, account=account).delete()
    return HealthScoreFactory(account=account, run=run, score=score)


def as_rows(columns: RunColumns) -> list[tuple]:
    return [
        (int(a), CODES[b], None if math.isnan(s) else s)
        for a, b, s in zip(
            columns.account_ids.tolist(),
            columns.bands.tolist(),
            columns.scores.tolist(),
            strict=True,
        )
    ]


def rows_of(run: ScoreRun) -> list[tuple]:
    return list(
        HealthScore.objects.filter(run=run)
        .order_by("account_id")
        .values_list("account_id", "band", "score")
    )


# ---------------------------------------------------------------- the snapshot


def test_publication_keeps_the_runs_scores_as_columns(db) -> None:
    run = scored_run(TODAY, {"A": 80, "B": 55.5, "C": 12.25, "No data": None})

    rollups.run_rollup(run=run)

    snapshot = RunSnapshot.objects.get(run=run)
    assert not snapshot.settled  # today's run can still be re-scored
    assert snapshot.through == HealthScore.objects.filter(run=run).latest("pk").pk
    assert as_rows(rollups.run_columns(run=run)) == rows_of(run)


def test_publication_counts_each_band_as_published(db) -> None:
    run = scored_run(TODAY, {"A": 80, "B": 75, "C": 50, "D": 10, "E": None})

    rollups.run_rollup(run=run)

    totals = RunSnapshot.objects.get(run=run).totals
    assert {band: n for band, (n, _arr) in totals.items()} == {
        "green": 2,
        "yellow": 1,
        "red": 1,
        "none": 1,
    }


def test_arr_per_band_is_summed_at_publication_and_equals_the_live_count(db) -> None:
    run = scored_run(YESTERDAY, {})
    for score, arr in [(80, "1000.50"), (90, "2000"), (20, "300.25"), (None, "7")]:
        HealthScoreFactory(account=AccountFactory(arr=Decimal(arr)), run=run, score=score)
    rollups.run_rollup(run=run)
    churned = HealthScore.objects.filter(run=run, score=20).get().account
    Account.objects.filter(pk=churned.pk).update(status=Account.Status.CHURNED)

    (_run, _day, totals), *_ = rollups.run_bands(runs=ScoreRun.objects.filter(pk=run.pk))

    live = rollups._counted([run.pk])[run.pk]  # the query the snapshot replaces
    assert totals == live
    assert totals["green"] == (2, pytest.approx(3000.5))
    assert totals["red"] == (1, pytest.approx(300.25))  # churned since: a customer then
    assert totals["none"] == (1, pytest.approx(7))


def test_the_band_totals_stay_as_published(db) -> None:
    run = scored_run(YESTERDAY, {"A": 80})
    rollups.run_rollup(run=run)
    Account.objects.update(arr=Decimal("1"))
    HealthScoreFactory(account=AccountFactory(), run=run, score=10)  # behind the run's back

    (_run, _day, totals), *_ = rollups.run_bands(runs=ScoreRun.objects.filter(pk=run.pk))

    assert totals == {
        "green": (1, pytest.approx(50000)),  # the factory's ARR when published
        "yellow": (0, 0.0),
        "red": (0, 0.0),
        "none": (0, 0.0),
    }


def test_todays_rescores_show_at_once(db) -> None:
    run = scored_run(TODAY, {"A": 80, "B": 50})
    rollups.run_rollup(run=run)
    b = Account.objects.get(name="B")
    rescore(run, b, 20)
    newcomer = AccountFactory(name="New today")
    HealthScoreFactory(account=newcomer, run=run, score=None)  # first scored by a re-score

    with CaptureQueriesContext(connection) as queries:
        columns = rollups.run_columns(run=run)

    assert as_rows(columns) == rows_of(run)
    assert len(queries) == 2  # the snapshot, the rows written since
    assert not RunSnapshot.objects.get(run=run).settled


def test_the_next_publication_settles_the_day_before_with_its_rescores(db, _today) -> None:
    _today.move_to(at(YESTERDAY), tick=False)
    yesterday = scored_run(YESTERDAY, {"A": 80, "B": 50, "C": 30})
    rollups.run_rollup(run=yesterday)
    rescore(yesterday, Account.objects.get(name="B"), 10)  # during the day
    _today.move_to(at(TODAY, NIGHT), tick=False)
    today = scored_run(TODAY, {"A": 70}, A=Account.objects.get(name="A"))

    rollups.run_rollup(run=today)

    snapshot = RunSnapshot.objects.get(run=yesterday)
    assert snapshot.settled
    with CaptureQueriesContext(connection) as queries:
        columns = rollups.run_columns(run=yesterday)
    assert len(queries) == 1  # settled: the snapshot alone
    assert as_rows(columns) == rows_of(yesterday)
    assert dict(columns_by_band(columns)) == {"green": 1, "red": 2}


def columns_by_band(columns: RunColumns):
    codes, counts = np.unique(columns.bands, return_counts=True)
    return [(CODES[c], int(n)) for c, n in zip(codes, counts, strict=True)]


def test_a_day_not_yet_settled_is_read_with_its_rescores_and_nothing_written(db, _today) -> None:
    _today.move_to(at(YESTERDAY), tick=False)
    yesterday = scored_run(YESTERDAY, {"A": 80, "B": 50})
    rollups.run_rollup(run=yesterday)
    rescore(yesterday, Account.objects.get(name="A"), 35)
    _today.move_to(at(TODAY), tick=False)
    # Tonight's run is under way: its rows come after yesterday's re-scores.
    running = ScoreRunFactory(date=TODAY, status=ScoreRun.Status.RUNNING)
    HealthScoreFactory(account=Account.objects.get(name="A"), run=running, score=99)

    with CaptureQueriesContext(connection) as queries:
        first = rollups.run_columns(run=yesterday)

    assert as_rows(first) == rows_of(yesterday)
    assert len(queries) == 2  # the snapshot, the run's rows written since
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries)
    assert not RunSnapshot.objects.get(run=yesterday).settled


def test_the_next_publication_settles_every_day_that_ended(db, _today) -> None:
    _today.move_to(at(YESTERDAY - dt.timedelta(days=1)), tick=False)
    older = scored_run(YESTERDAY - dt.timedelta(days=1), {"A": 80, "B": 50})
    rollups.run_rollup(run=older)
    rescore(older, Account.objects.get(name="A"), 35)
    # Yesterday's publication came too early to settle the day before (a manual run just
    # after midnight): the next one does.
    _today.move_to(at(YESTERDAY, dt.time(0, 5)), tick=False)
    yesterday = scored_run(YESTERDAY, {"A": 70}, A=Account.objects.get(name="A"))
    rollups.run_rollup(run=yesterday)
    assert not RunSnapshot.objects.get(run=older).settled
    _today.move_to(at(TODAY, NIGHT), tick=False)
    today = scored_run(TODAY, {"A": 60}, A=Account.objects.get(name="A"))

    rollups.run_rollup(run=today)

    settled = dict(RunSnapshot.objects.values_list("run_id", "settled"))
    assert settled == {older.pk: True, yesterday.pk: True, today.pk: False}
    assert as_rows(rollups.run_columns(run=older)) == rows_of(older)


def test_a_past_run_without_a_snapshot_is_read_from_its_rows_and_not_kept(db) -> None:
    run = scored_run(YESTERDAY, {"A": 80, "B": None})

    with CaptureQueriesContext(connection) as queries:
        columns = rollups.run_columns(run=run)

    assert as_rows(columns) == rows_of(run)
    assert len(queries) == 2  # no snapshot; the run's rows
    assert not RunSnapshot.objects.exists()


def test_todays_run_without_a_snapshot_is_read_but_not_kept(db) -> None:
    run = scored_run(TODAY, {"A": 80})

    assert as_rows(rollups.run_columns(run=run)) == rows_of(run)
    assert not RunSnapshot.objects.exists()


def test_publication_drops_the_rollups_of_the_run_it_replaces(db) -> None:
    old = scored_run(YESTERDAY, {"A": 80})
    rollups.run_rollup(run=old)
    ScoreRun.objects.filter(pk=old.pk).update(status=ScoreRun.Status.SUPERSEDED)
    new = scored_run(YESTERDAY, {"A": 30}, A=Account.objects.get(name="A"))

    rollups.run_rollup(run=new)

    assert list(RunSnapshot.objects.values_list("run_id", flat=True)) == [new.pk]
    assert RunSnapshot.objects.get(run=new).settled  # a back-filled day is over already


def test_rollup_missing_publishes_the_runs_loaded_without_them(db) -> None:
    runs = [scored_run(TODAY - dt.timedelta(days=d), {f"A{d}": 50}) for d in (2, 1, 0)]

    assert rollup_missing() == 3
    assert rollup_missing() == 0
    settled = dict(RunSnapshot.objects.values_list("run_id", "settled"))
    assert settled == {runs[0].pk: True, runs[1].pk: True, runs[2].pk: False}


def test_a_snapshots_bytes_hold_the_published_columns_and_the_rescores_after() -> None:
    header = np.array([(11, 3)], dtype=rollups.HEADER)
    ids = np.array([30, 10, 20], dtype=">i8")
    bands = np.array([0, 2, 3], dtype=np.uint8)
    scores = np.array([80.0, 20.0, np.nan], dtype=">f8")
    records = np.array([(20, 1, 55.0), (40, 0, 90.0), (20, 2, 5.0)], dtype=rollups.RECORD)
    published = b"".join(x.tobytes() for x in (header, ids, bands, scores))

    then = RunColumns.decode(published)
    now = RunColumns.decode(published + records.tobytes())

    assert then.account_ids.tolist() == [10, 20, 30]
    assert then.bands.tolist() == [2, 3, 0]
    assert now.account_ids.tolist() == [10, 20, 30, 40]
    assert now.bands.tolist() == [2, 2, 0, 0]  # the last re-score of account 20 stands
    assert now.scores.tolist() == [20.0, 5.0, 80.0, 90.0]


# ---------------------------------------------------------------- the pages


def _review(client) -> dict:
    context = client.get(reverse("scoring:weekly")).context
    summary = context["summary"]
    return {
        "matrix": {k: (t.n, t.arr) for k, t in summary.matrix.items()},
        "now": {k: (t.n, t.arr) for k, t in summary.now.items()},
        "renewals": {k: (t.n, t.arr) for k, t in summary.renewals.items()},
        "books": {
            k: (b.n, b.arr, b.score_sum, b.scored, b.red, b.delta_sum, b.compared)
            for k, b in summary.books.items()
        },
        "drops": [(m.account.pk, m.change) for m in context["drops"]],
        "gains": [(m.account.pk, m.change) for m in context["gains"]],
    }


def test_the_review_reads_the_same_with_rollups_as_from_the_scores(manager_client) -> None:
    sunday, before = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=8)
    accounts = {}
    for i, (then, now) in enumerate([(80, 30), (30, 80), (50, 55), (None, 20), (75, 71)]):
        accounts[i] = AccountFactory(arr=Decimal(1000 * (i + 1)))
        if then is not None or i == 3:
            HealthScoreFactory(account=accounts[i], run=ScoreRunFactory(date=before), score=then)
        HealthScoreFactory(account=accounts[i], run=ScoreRunFactory(date=sunday), score=now)
    HealthScoreFactory(account=AccountFactory(), run=ScoreRunFactory(date=sunday), score=60)

    from_scores = _review(manager_client)  # no rollups yet: read from the rows
    RunSnapshot.objects.all().delete()
    rollup_missing()
    with_rollups = _review(manager_client)

    assert with_rollups == from_scores
    assert sum(n for n, _arr in from_scores["matrix"].values()) == 5


def test_the_board_reads_the_same_with_a_snapshot_and_rescores(manager_client) -> None:
    run = scored_run(TODAY, {"A": 80, "B": 50, "C": 30, "D": None})
    board = reverse("accounts:journey") + "?owner=all"

    def columns() -> list:
        return [
            (c.stage.slug, c.n, c.arr, c.score_sum, c.scored, [x.account_id for x in c.cards])
            for c in manager_client.get(board).context["columns"]
        ]

    live = columns()
    rollups.run_rollup(run=run)
    assert columns() == live
    rescore(run, Account.objects.get(name="B"), 15)
    RunSnapshot.objects.filter(run=run).update(through=0)  # nothing for the live read
    rescored = columns()

    assert rescored != live
    RunSnapshot.objects.all().delete()
    assert columns() == rescored


def test_the_chart_by_arr_reads_what_the_publication_summed(manager_client) -> None:
    run = scored_run(YESTERDAY, {})
    HealthScoreFactory(account=AccountFactory(arr=Decimal("1200")), run=run, score=20)
    rollups.run_rollup(run=run)

    with CaptureQueriesContext(connection) as queries:
        days = weekly.band_history(end=YESTERDAY)

    assert days[-1].arr["red"] == pytest.approx(1200)
    assert days[-1].n["red"] == 1
    assert len(queries) == 1


# ---------------------------------------------------------------- columns_of


def test_columns_read_missing_values_as_stated(db) -> None:
    nobody = AccountFactory(owner=None, renewal_date=None, arr=Decimal("12.5"))
    someone = AccountFactory(renewal_date=dt.date(1970, 1, 11))

    found = columns_of(
        Account.objects.order_by("pk"),
        id=INT,
        owner_id=INT,
        arr=FLOAT,
        renewal_date=DATE,
    )
    bounds = columns_of(Account.objects.all(), id=LOWEST, seats=HIGHEST)

    order = np.argsort(found["id"])
    assert found["id"][order].tolist() == [nobody.pk, someone.pk]
    assert found["owner_id"][order].tolist() == [NO_INT, someone.owner_id]
    assert found["arr"][order].tolist() == [12.5, 50000.0]
    assert found["renewal_date"][order].tolist() == [NO_DATE, 10]
    assert bounds == {"id": nobody.pk, "seats": 50}
    assert columns_of(Account.objects.none(), id=INT, seats=HIGHEST) == {
        "id": pytest.approx(np.array([], dtype=np.int64)),
        "seats": NO_INT,
    }
