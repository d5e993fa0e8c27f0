"""The journey board summed from a run's stored cells is the board read live: every KPI and
every card, for every filter, after the writes a day brings (moves, reassignments, churn,
re-scores), and whichever way the cards are found."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from accounts.models import Account, JourneyStage
from healthboard.pages.filters import AccountFilters
from healthboard.pages.journey import selectors as journey
from healthboard.pages.journey import stored
from scoring.models import HealthScore
from scoring.models.rollups import NO_OWNER
from scoring.rollups.totals import run_totals_publish
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    ScoreRunFactory,
    SegmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.postgres

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def portfolio(db):
    """120 accounts over three owners (and unassigned), two segments, every stage and band,
    a few churned, a few with no stage entry, tied scores; today's run published."""
    rng = random.Random(7)
    run = ScoreRunFactory(date=TODAY)
    owners = [UserFactory(), UserFactory(), UserFactory()]
    segments = [SegmentFactory(slug="smb"), SegmentFactory(slug="enterprise")]
    stages = list(JourneyStage.objects.order_by("order"))
    for i in range(120):
        account = AccountFactory(
            owner=rng.choice([*owners, None]),
            segment=rng.choice(segments),
            # A small stage, a big one, the rest in between.
            stage=stages[0] if i % 40 == 0 else rng.choice([stages[1]] * 4 + stages[1:]),
            stage_since=None if i % 17 == 0 else TODAY - dt.timedelta(days=rng.randrange(200)),
            arr=Decimal(rng.randrange(1000, 90000)),
            status=Account.Status.CHURNED if i % 23 == 0 else Account.Status.ACTIVE,
        )
        score = None if i % 19 == 0 else float(rng.choice([12, 35, 35, 48.5, 61, 70, 88]))
        HealthScoreFactory(account=account, run=run, score=score)
    assert run_totals_publish(run=run) > 0
    return {"run": run, "owners": owners, "segments": segments, "stages": stages}


def board(run, stages, filters, *, live: bool, monkeypatch) -> list[tuple]:
    """Every figure the page shows per column, and its cards."""
    with monkeypatch.context() as patch:
        if live:
            patch.setattr(stored, "stored_cells", lambda **kwargs: None)
        columns = journey.journey_board(run=run, stages=stages, filters=filters, today=TODAY)
    return [
        (
            c.stage.slug,
            {band: (count.n, count.arr) for band, count in c.bands.items()},
            c.n,
            c.arr,
            round(c.score_sum, 6),
            c.scored,
            c.median_days,
            c.past_target,
            [card.account_id for card in c.cards],
        )
        for c in columns
    ]


def filter_sets(portfolio) -> list[AccountFilters]:
    owner, segment = portfolio["owners"][0], portfolio["segments"][1]
    return [
        AccountFilters(),
        AccountFilters(owner_id=owner.pk),
        AccountFilters(owner_id=NO_OWNER),
        AccountFilters(segment_id=segment.pk),
        AccountFilters(bands=("red",)),
        AccountFilters(bands=("green", "none"), segment_id=segment.pk),
        AccountFilters(owner_id=owner.pk, segment_id=segment.pk, bands=("yellow", "red")),
    ]


def assert_same(portfolio, monkeypatch) -> None:
    run, stages = portfolio["run"], portfolio["stages"]
    for filters in filter_sets(portfolio):
        live = board(run, stages, filters, live=True, monkeypatch=monkeypatch)
        summed = board(run, stages, filters, live=False, monkeypatch=monkeypatch)
        assert summed == live, filters


@pytest.mark.parametrize("cost", [10**9, 0], ids=["walk the scores", "read the stage"])
def test_the_stored_board_is_the_live_board(portfolio, monkeypatch, cost) -> None:
    monkeypatch.setattr(stored, "STAGE_READ_COST", cost)

    assert_same(portfolio, monkeypatch)
    # The fixture's board has cards in every stage and more accounts than cards somewhere.
    columns = journey.journey_board(
        run=portfolio["run"], stages=portfolio["stages"], filters=AccountFilters(), today=TODAY
    )
    assert all(c.cards for c in columns)
    assert any(c.hidden for c in columns)


def test_fewer_cards_per_stage_are_the_same_cards(portfolio, monkeypatch) -> None:
    run, stages = portfolio["run"], portfolio["stages"]
    for per_stage in (1, 3):
        with monkeypatch.context() as patch:
            patch.setattr(stored, "stored_cells", lambda **kwargs: None)
            live = journey.journey_board(
                run=run, stages=stages, filters=AccountFilters(), today=TODAY,
                cards_per_stage=per_stage,
            )  # fmt: skip
        summed = journey.journey_board(
            run=run, stages=stages, filters=AccountFilters(), today=TODAY,
            cards_per_stage=per_stage,
        )  # fmt: skip
        assert [[c.account_id for c in col.cards] for col in summed] == [
            [c.account_id for c in col.cards] for col in live
        ]


def test_the_stored_board_follows_the_days_writes(portfolio, monkeypatch) -> None:
    run, stages, owners = portfolio["run"], portfolio["stages"], portfolio["owners"]
    accounts = list(Account.objects.order_by("pk"))

    # A CSM moves accounts to the next stage (stage_change sets the entry to today).
    for account in accounts[:10]:
        account.stage = stages[(stages.index(account.stage) + 1) % len(stages)]
        account.stage_since = TODAY
        account.save()
    # A reassignment in bulk, a churn, an ARR change.
    Account.objects.filter(pk__in=[a.pk for a in accounts[10:30]]).update(owner=owners[2])
    Account.objects.filter(pk=accounts[31].pk).update(status=Account.Status.CHURNED)
    Account.objects.filter(pk=accounts[32].pk).update(arr=Decimal("1.50"))
    # A re-score during the day (scoring.pipeline.runs.account_rescore: delete, insert).
    HealthScore.objects.filter(run=run, account=accounts[33]).delete()
    HealthScoreFactory(account=accounts[33], run=run, score=5)
    # A newcomer scored today, and an account deleted.
    HealthScoreFactory(account=AccountFactory(stage=stages[2]), run=run, score=20)
    accounts[34].delete()

    assert_same(portfolio, monkeypatch)
