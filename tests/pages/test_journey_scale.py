"""The stored journey board's reads at scale: what a query reads grows with the cards it
returns, not with the day's scores, whatever the filter."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, JourneyStage
from healthboard.pages.filters import AccountFilters
from healthboard.pages.journey import stored
from scoring.models.rollups import NO_OWNER
from scoring.rollups.totals import run_totals_publish
from tests.factories import (
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


# ---------------------------------------------------------------- the card query walks the run


def _many_accounts(n: int):
    """n active accounts over every stage, scored in today's run (1 in 29 with no data),
    written in two statements; the run's totals published."""
    run = ScoreRunFactory(date=TODAY)
    owners = [UserFactory() for _ in range(10)]
    segment = SegmentFactory(slug="smb")
    stages = list(JourneyStage.objects.order_by("order"))
    version = HealthScoreFactory(run=ScoreRunFactory(date=TODAY - dt.timedelta(days=40))).version_id
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_account (name, external_id, owner_id, segment_id, industry, arr,
              plan, seats, start_date, renewal_date, stage_id, stage_since, status, churn_date)
            SELECT 'Bulk ' || g, 'BULK-' || g, (%s::bigint[])[1 + g %% 10], %s, '', 1000, '', 1,
                   DATE '2024-01-01', NULL,
                   (%s::bigint[])[1 + (hashint4(g) & 2147483647) %% %s],
                   DATE '2026-11-23' - (g %% 300), 'active', NULL
            FROM generate_series(1, %s) g
            """,
            [[o.pk for o in owners], segment.pk, [s.pk for s in stages], len(stages), n],
        )
        cursor.execute(
            """
            INSERT INTO scoring_healthscore (account_id, run_id, date, version_id, score, band,
                                             coverage, delta_7d, details)
            SELECT a.id, %s, DATE '2026-11-23', %s, s.score,
                   CASE WHEN s.score IS NULL THEN 'none' WHEN s.score >= 70 THEN 'green'
                        WHEN s.score < 40 THEN 'red' ELSE 'yellow' END, 1, NULL, '{}'
            FROM accounts_account a,
                 LATERAL (SELECT CASE WHEN a.id %% 29 = 0 THEN NULL
                          ELSE round(((hashint4(a.id::int + 7) & 65535) / 655.36)::numeric, 1)
                               ::float END AS score) s
            WHERE a.name LIKE 'Bulk %%'
            """,
            [run.pk, version],
        )
        cursor.execute("ANALYZE accounts_account; ANALYZE scoring_healthscore")
    assert run_totals_publish(run=run) > 0
    return run, stages


def _score_entries_read(plan: dict) -> int:
    """Entries of scoring_healthscore the plan's scans read (kept or filtered out)."""
    read = 0
    if plan.get("Relation Name") == "scoring_healthscore":
        read += plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1)
        read += plan.get("Rows Removed by Filter", 0)
    for child in plan.get("Plans", []):
        read += _score_entries_read(child)
    return read


@pytest.mark.parametrize("band", ["green", "none"])
def test_a_band_filter_reads_cards_without_walking_the_whole_run(db, band) -> None:
    """A board filtered to one band costs about its cards. Walking index score_run_score
    (run, score) from its start, the green cards came only after every red and yellow
    entry, and "no data" (no score, last) after every scored one, for each stage: at
    200,000 accounts 755 ms (green) and 1234 ms (none) just after the run was written, when
    the unfiltered board's cards took 17 ms. A band's walk starts at its cells' lowest
    score, and the unscored are walked in index score_run_unscored."""
    n = 12_000
    run, stages = _many_accounts(n)
    filters = AccountFilters(bands=(band,))
    cells = stored.stored_cells(run=run, stages=stages, filters=filters)
    with CaptureQueriesContext(connection) as queries:
        cards = stored.card_ids(
            run=run, stages=stages, filters=filters, cells=cells, per_stage=30, today=TODAY
        )
    assert len(cards) == 30 * len(stages)
    (sql,) = [q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql)
        (plan,) = cursor.fetchone()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    read = _score_entries_read(plan[0]["Plan"])
    # Finding 30 cards a stage may read a few times as many entries, not the run per stage.
    assert read < n / 4, f"the card query read {read} score entries for {len(cards)} cards"


def test_the_unassigned_accounts_days_in_stage_are_read_from_the_days_cells(db) -> None:
    """Unassigned may be a large share of the portfolio: not read from the accounts."""
    run, stages = _many_accounts(2_000)
    bulk = Account.objects.filter(name__startswith="Bulk ").order_by("pk")
    Account.objects.filter(pk__in=bulk.values("pk")[:500]).update(owner=None)
    filters = AccountFilters(owner_id=NO_OWNER)
    with CaptureQueriesContext(connection) as queries:
        days = stored.stage_days(run=run, stages=stages, filters=filters, today=TODAY)
    assert "accounts_account" not in queries.captured_queries[0]["sql"]
    assert sum(n for stage in days.values() for _days, n in stage) == 500
