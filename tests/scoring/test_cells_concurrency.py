"""Kept cells (the weekly review's weeks, the portfolio's run totals) stay exact when two
transactions change the same account at once: one re-scores it while another reassigns it,
or each rewrites its score in one of a week's two runs. Two real PostgreSQL connections; the
second one's write waits in its trigger until the first commits (migrations 0030, 0031)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import psycopg
import pytest
from django.db import connection

from accounts.models import Account
from healthboard.lib.roles import CSM
from healthboard.pages.weekly import selectors as weekly
from scoring.models import HealthScore, RunTotal, ScoreRun
from scoring.rollups import weeks
from scoring.rollups.totals import run_totals_rebuild
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SUNDAY = dt.date(2026, 11, 22)
BEFORE = SUNDAY - dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def account() -> Account:
    owner = UserFactory(role=CSM)
    account = AccountFactory(owner=owner, arr=Decimal(5000))
    for other in AccountFactory.create_batch(3, owner=owner):
        HealthScoreFactory(account=other, run=ScoreRunFactory(date=BEFORE), score=75.0)
        HealthScoreFactory(account=other, run=ScoreRunFactory(date=SUNDAY), score=80.0)
    HealthScoreFactory(account=account, run=ScoreRunFactory(date=BEFORE), score=75.0)
    HealthScoreFactory(account=account, run=ScoreRunFactory(date=SUNDAY), score=80.0)
    run_totals_rebuild()
    assert weeks.weeks_keep() == 2
    return account


def _other_connection() -> psycopg.Connection:
    return psycopg.connect(**connection.get_connection_params(), autocommit=False)


def _in_thread(sql: str, params: list) -> threading.Thread:
    """Run `sql` and commit on a connection of its own, in a thread (it may wait)."""

    def write() -> None:
        with _other_connection() as other:
            other.execute(sql, params)
            other.commit()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def _both_exact() -> None:
    found = weekly.review_runs(week_end=SUNDAY)
    kept = weeks.kept_week(found.end, found.previous)
    live = weekly._summary(weekly._week(found))
    counted = weekly._summary_kept(kept)
    for part in ("matrix", "now", "before", "renewals"):
        assert {k: (t.n, t.arr) for k, t in getattr(counted, part).items() if t.n} == {
            k: (t.n, t.arr) for k, t in getattr(live, part).items() if t.n
        }, part
    assert {o: (b.n, b.red) for o, b in counted.books.items()} == {
        o: (b.n, b.red) for o, b in live.books.items()
    }
    totals = set(
        RunTotal.objects.exclude(n=0).values_list("run_id", "band", "owner_id", "stage_id", "n")
    )
    run_totals_rebuild()
    assert totals == set(
        RunTotal.objects.exclude(n=0).values_list("run_id", "band", "owner_id", "stage_id", "n")
    )


def test_a_reassignment_during_a_re_score_is_counted_once(account) -> None:
    new_owner = UserFactory(role=CSM)
    sunday = ScoreRun.objects.get(date=SUNDAY)
    row = HealthScore.objects.get(run=sunday, account=account)
    with _other_connection() as rescore:
        # The re-score's two statements (scoring.pipeline.runs.account_rescore), uncommitted.
        rescore.execute("DELETE FROM scoring_healthscore WHERE id = %s", [row.pk])
        rescore.execute(
            "INSERT INTO scoring_healthscore (account_id, run_id, date, version_id, score, band, "
            "coverage, delta_7d, details) VALUES (%s, %s, %s, %s, 12.0, 'red', 1, NULL, '{}')",
            [account.pk, sunday.pk, SUNDAY, row.version_id],
        )
        # Meanwhile a CSM's manager reassigns the account; it commits after the re-score.
        moved = _in_thread(
            "UPDATE accounts_account SET owner_id = %s WHERE id = %s", [new_owner.pk, account.pk]
        )
        moved.join(timeout=1)
        rescore.commit()
    moved.join(timeout=30)
    assert not moved.is_alive()
    assert Account.objects.get(pk=account.pk).owner == new_owner
    _both_exact()


def test_both_runs_of_a_week_rewritten_at_once_are_counted_once(account) -> None:
    with _other_connection() as first:
        first.execute(
            "UPDATE scoring_healthscore SET score = 30, band = 'red' "
            "WHERE account_id = %s AND date = %s",
            [account.pk, SUNDAY],
        )
        second = _in_thread(
            "UPDATE scoring_healthscore SET score = 20, band = 'red' "
            "WHERE account_id = %s AND date = %s",
            [account.pk, BEFORE],
        )
        second.join(timeout=1)
        first.commit()
    second.join(timeout=30)
    assert not second.is_alive()
    _both_exact()


def test_two_re_scores_at_once_wait_for_each_other_rather_than_deadlock(account) -> None:
    # Two accounts of one owner: each re-score leaves the cell the other one enters.
    sunday = ScoreRun.objects.get(date=SUNDAY)
    other = HealthScore.objects.filter(run=sunday, account__owner=account.owner).exclude(
        account=account
    )[0]
    HealthScore.objects.filter(pk=other.pk).update(score=10.0, band="red")
    weeks.weeks_keep(afresh=True)
    run_totals_rebuild()
    mine = HealthScore.objects.get(run=sunday, account=account)
    insert = (
        "INSERT INTO scoring_healthscore (account_id, run_id, date, version_id, score, band, "
        "coverage, delta_7d, details) VALUES (%s, %s, %s, %s, %s, %s, 1, NULL, '{}')"
    )
    errors: list[Exception] = []
    with _other_connection() as first:
        first.execute("DELETE FROM scoring_healthscore WHERE id = %s", [mine.pk])

        def second_rescore() -> None:
            try:
                with _other_connection() as second:
                    second.execute("DELETE FROM scoring_healthscore WHERE id = %s", [other.pk])
                    second.execute(
                        insert,
                        [other.account_id, sunday.pk, SUNDAY, other.version_id, 85.0, "green"],
                    )
                    second.commit()
            except Exception as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)

        thread = threading.Thread(target=second_rescore)
        thread.start()
        thread.join(timeout=1)
        first.execute(insert, [account.pk, sunday.pk, SUNDAY, mine.version_id, 12.0, "red"])
        first.commit()
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == []
    _both_exact()
