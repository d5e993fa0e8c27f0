"""The weekly review's kept weeks (scoring.rollups.weeks): counted once, then kept exact by
the database's triggers through every write to the accounts and to either run's scores, so
that the review read from them says exactly what it says counted live."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from accounts.models import Account
from healthboard.lib.roles import CSM
from healthboard.pages.weekly import selectors as weekly
from scoring.models import HealthScore, RunWeek, RunWeekCell, ScoreRun
from scoring.rollups import weeks
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory, UserFactory

pytestmark = pytest.mark.postgres

MONDAY = dt.date(2026, 11, 23)
SUNDAY = dt.date(2026, 11, 22)
BEFORE = SUNDAY - dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False)


def snap(account: Account, day: dt.date, score: float | None) -> HealthScore:
    band = "none" if score is None else None
    extra = {"band": band} if band else {}
    return HealthScoreFactory(account=account, run=ScoreRunFactory(date=day), score=score, **extra)


@pytest.fixture
def portfolio() -> dict[str, Account]:
    """Twenty-four accounts of three CSMs and none, scored on both Sundays or one of them,
    some without a score, some renewing within 90 days."""
    owners = [UserFactory(role=CSM) for _ in range(3)] + [None]
    accounts = {}
    for i in range(24):
        account = AccountFactory(
            name=f"Account {i}",
            owner=owners[i % 4],
            arr=Decimal(1000 * (i + 1)) + Decimal("0.25"),
            renewal_date=MONDAY + dt.timedelta(days=30 * (i % 5)) if i % 3 else None,
        )
        if i % 7 != 6:  # a few were not scored a week before
            snap(account, BEFORE, None if i % 11 == 10 else 20 + 3 * i)
        snap(account, SUNDAY, None if i == 5 else 90 - 3.5 * i)
        accounts[account.name] = account
    return accounts


def runs() -> weekly.ReviewRuns:
    found = weekly.review_runs(week_end=SUNDAY)
    assert found is not None and found.previous is not None
    return found


def live() -> tuple[weekly.WeekSummary, tuple]:
    week = weekly._week(runs())
    return weekly._summary(week), weekly._movers(week, weekly.MOVERS)


def from_kept() -> tuple[weekly.WeekSummary, tuple]:
    found = runs()
    kept = weeks.kept_week(found.end, found.previous)
    assert kept is not None
    return weekly._summary_kept(kept), weekly._movers_kept(kept, found, weekly.MOVERS)


def tallies(summary: weekly.WeekSummary) -> dict:
    def plain(tallies: dict) -> dict:
        return {key: (t.n, t.arr) for key, t in tallies.items() if t.n}

    books = {
        owner: (b.n, b.arr, b.scored, b.red, b.compared, b.score_sum, b.delta_sum)
        for owner, b in summary.books.items()
    }
    return {
        "matrix": plain(summary.matrix),
        "now": plain(summary.now),
        "before": plain(summary.before),
        "renewals": plain(summary.renewals),
        "books": books,
    }


def assert_same() -> None:
    (kept, kept_movers), (counted, counted_movers) = from_kept(), live()
    kept, counted = tallies(kept), tallies(counted)
    for part in ("matrix", "now", "before", "renewals"):
        assert kept[part] == counted[part], part
    assert kept["books"].keys() == counted["books"].keys()
    for owner, book in counted["books"].items():
        *exact, score_sum, delta_sum = kept["books"][owner]
        assert exact == list(book[:5]), owner
        assert math.isclose(score_sum, book[5], abs_tol=1e-6)
        assert math.isclose(delta_sum, book[6], abs_tol=1e-6)
    assert kept_movers == counted_movers


def test_a_published_week_is_kept_for_the_runs_of_the_last_week(portfolio) -> None:
    assert weeks.weeks_keep() == 2  # the Sunday's run against the one before, and that one
    sunday = ScoreRun.objects.get(date=SUNDAY)
    assert RunWeek.objects.get(run=sunday).before == ScoreRun.objects.get(date=BEFORE)
    assert RunWeek.objects.get(run__date=BEFORE).before is None
    assert weeks.weeks_keep() == 0  # already counted
    assert_same()


def test_the_kept_week_follows_every_write_to_the_accounts(portfolio) -> None:
    weeks.weeks_keep()
    first, second, third = (portfolio[f"Account {i}"] for i in (1, 2, 3))
    Account.objects.filter(pk=first.pk).update(owner=second.owner)
    assert_same()
    Account.objects.filter(pk__in=[second.pk, third.pk]).update(status=Account.Status.CHURNED)
    assert_same()
    Account.objects.filter(pk=third.pk).update(status=Account.Status.ACTIVE)
    assert_same()
    first.arr = Decimal("123456.78")
    first.save()
    assert_same()
    Account.objects.filter(name__in=["Account 4", "Account 9"]).update(
        renewal_date=MONDAY + dt.timedelta(days=10)
    )
    Account.objects.filter(name="Account 12").update(renewal_date=None, owner=None)
    assert_same()
    portfolio["Account 7"].delete()
    assert_same()


def test_the_kept_week_follows_every_write_to_either_runs_scores(portfolio) -> None:
    weeks.weeks_keep()
    sunday, before = ScoreRun.objects.get(date=SUNDAY), ScoreRun.objects.get(date=BEFORE)
    # A re-score of the Sunday's run: its row deleted, a new one written.
    row = HealthScore.objects.get(run=sunday, account=portfolio["Account 3"])
    row.delete()
    HealthScoreFactory(account=row.account, run=sunday, score=5.0)
    assert_same()
    # The run a week before, rewritten in place and row by row gone.
    HealthScore.objects.filter(run=before, account=portfolio["Account 8"]).update(
        score=99.5, band="green"
    )
    HealthScore.objects.filter(run=before, account=portfolio["Account 2"]).delete()
    assert_same()
    # An account scored for the first time, and one no longer scored.
    newcomer = AccountFactory(name="Newcomer", arr=Decimal(777))
    HealthScoreFactory(account=newcomer, run=sunday, score=41.0)
    HealthScore.objects.filter(run=sunday, account=portfolio["Account 0"]).delete()
    assert_same()
    # Both runs' rows of one account in one statement.
    HealthScore.objects.filter(account=portfolio["Account 10"]).delete()
    assert_same()


def test_cells_are_counted_nowhere_for_accounts_that_are_not_active(portfolio) -> None:
    weeks.weeks_keep()
    Account.objects.update(status=Account.Status.CHURNED)
    week = RunWeek.objects.get(run__date=SUNDAY)
    assert not RunWeekCell.objects.filter(run=week).exclude(n=0).exists()
    assert_same()


def test_the_movers_left_when_kept_ones_churn_are_counted_again(portfolio, monkeypatch) -> None:
    # Keep three each way: the review shows two; churning two of the three kept falls leaves
    # one, and the next biggest fall was never kept: the review counts them live.
    monkeypatch.setattr(weeks, "MOVERS_KEPT", 3)
    monkeypatch.setattr(weekly, "MOVERS_KEPT", 3)
    monkeypatch.setattr(weekly, "MOVERS", 2)
    weeks.weeks_keep()
    found = runs()
    kept = weeks.kept_week(found.end, found.previous)
    assert len(kept.drops) == 3
    assert weekly._movers_kept(kept, found, 2) == weekly._movers(weekly._week(found), 2)
    falls = [account for account, _change in kept.drops]
    Account.objects.filter(pk__in=falls[:2]).update(status=Account.Status.CHURNED)
    kept = weeks.kept_week(found.end, found.previous)
    assert weekly._movers_kept(kept, found, 2) is None
    review = weekly.week_review(runs=found, movers=2)
    drops, _gains = weekly._movers(weekly._week(found), 2)
    assert [(m.account.pk, m.change) for m in review.drops] == drops


def test_a_week_compared_with_a_run_since_replaced_is_counted_again(portfolio) -> None:
    weeks.weeks_keep()
    old_before = ScoreRun.objects.get(date=BEFORE)
    # The day a week before is run again: a new run replaces the one the week compared with.
    old_before.status = ScoreRun.Status.SUPERSEDED
    old_before.save()
    replacement = ScoreRunFactory(date=BEFORE)
    for account in portfolio.values():
        HealthScoreFactory(account=account, run=replacement, score=50.0)
    found = runs()
    assert found.previous == replacement
    assert weeks.kept_week(found.end, found.previous) is None  # read live meanwhile
    weeks.weeks_keep()
    assert RunWeek.objects.get(run=found.end).before == replacement
    assert_same()


def test_the_review_reads_the_kept_week(portfolio, django_assert_max_num_queries) -> None:
    live_review = weekly.week_review(runs=runs())
    weeks.weeks_keep()
    with django_assert_max_num_queries(6):  # the week, its cells, touched, movers, snapshots
        review = weekly.week_review(runs=runs())
    kept, counted = tallies(review.summary), tallies(live_review.summary)
    for part in ("matrix", "now", "before", "renewals"):
        assert kept[part] == counted[part], part
    assert [(m.account.pk, m.change) for m in review.drops] == [
        (m.account.pk, m.change) for m in live_review.drops
    ]
    assert [(m.account.pk, m.change) for m in review.gains] == [
        (m.account.pk, m.change) for m in live_review.gains
    ]
