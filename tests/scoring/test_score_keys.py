"""A day's scores have no database foreign keys: insert_scores locks what they refer to once
for the set (healthboard.lib.keylocks), leaves out an account deleted since it was read, and
refuses to write for a run or a scorecard version that is gone; Django's on_delete still
cascades and protects."""

from __future__ import annotations

import pytest
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Account
from scoring.models import HealthScore, ScorecardVersion, ScoreRun
from scoring.pipeline.runs import insert_scores
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory

pytestmark = pytest.mark.django_db


def active_version() -> ScorecardVersion:
    return ScorecardVersion.objects.filter(status=ScorecardVersion.Status.ACTIVE).first()


def rows_for(accounts, run: ScoreRun, version: ScorecardVersion) -> list[tuple]:
    """Rows in insert_scores' COLUMNS order."""
    return [(a.pk, run.pk, run.date, version.pk, 55.0, "yellow", 1.0, None, "{}") for a in accounts]


def test_the_rows_of_an_account_deleted_since_it_was_read_are_left_out():
    run = ScoreRunFactory(status=ScoreRun.Status.RUNNING)
    kept, gone = AccountFactory(), AccountFactory()
    rows = rows_for([kept, gone], run, active_version())
    gone.delete()

    assert insert_scores(rows) == 1

    assert list(HealthScore.objects.values_list("account_id", flat=True)) == [kept.pk]


@pytest.mark.parametrize("deleted", ["run", "version"])
def test_a_run_or_version_deleted_meanwhile_fails_the_write_and_writes_nothing(deleted):
    run = ScoreRunFactory(status=ScoreRun.Status.RUNNING)
    version = active_version()
    rows = rows_for([AccountFactory()], run, version)
    if deleted == "run":
        run.delete()
    else:
        rows = [(*row[:3], version.pk + 1000, *row[4:]) for row in rows]

    with pytest.raises(RuntimeError, match="deleted while scoring"):
        insert_scores(rows)

    assert not HealthScore.objects.exists()


def test_deleting_an_account_or_a_run_still_deletes_their_scores():
    score = HealthScoreFactory()
    other = HealthScoreFactory(run=ScoreRunFactory(date=timezone.localdate().replace(day=1)))

    score.account.delete()
    other.run.delete()

    assert not HealthScore.objects.exists()


def test_a_version_with_scores_is_still_protected():
    score = HealthScoreFactory()

    with pytest.raises(ProtectedError):
        score.version.delete()


def test_one_score_per_run_and_account_on_every_database():
    """PostgreSQL keeps the key as a covering index; SQLite, which has none, as a plain unique
    index (scoring 0029): on both a second score of an account in a run is refused, and the
    key is there for the lookups of a run's accounts."""
    from django.db import IntegrityError, connection, transaction

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, HealthScore._meta.db_table)
    keys = [c for c in constraints.values() if c["unique"] and not c["primary_key"]]
    assert any(c["columns"][:2] == ["run_id", "account_id"] for c in keys), constraints
    score = HealthScoreFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        HealthScoreFactory(run=score.run, account=score.account)


def test_details_written_by_copy_read_back_whole_and_by_key_as_written():
    """The details go in as the JSON text score_rows made (not encoded again) and come back
    as the same values, whole and by key (the what-if preview reads details__raw)."""
    run = ScoreRunFactory(status=ScoreRun.Status.RUNNING)
    account = AccountFactory()
    details = '{"raw":[1.5,null,-3.0],"sub":[100.0,null,0.0]}'
    row = (account.pk, run.pk, run.date, active_version().pk, 55.5, "yellow", 0.5, -2.25, details)

    assert insert_scores([row]) == 1

    score = HealthScore.objects.get()
    assert score.details == {"raw": [1.5, None, -3.0], "sub": [100.0, None, 0.0]}
    assert (score.score, score.band, score.coverage, score.delta_7d) == (55.5, "yellow", 0.5, -2.25)
    assert list(HealthScore.objects.values_list("details__raw", flat=True)) == [[1.5, None, -3.0]]


@pytest.mark.parametrize("spread", ["close together", "far apart"])
def test_the_key_lock_returns_the_wanted_ids_that_exist_only(spread):
    """Close together, the ids' range is locked in one walk: an account in between that was
    not asked for is not returned, nor one deleted."""
    from healthboard.lib.keylocks import keys_lock

    ids = [AccountFactory().pk for _ in range(5)]
    deleted = ids[3]
    Account.objects.filter(pk=deleted).delete()
    if spread == "close together":
        wanted = [ids[1], ids[3], ids[4]]  # ids[2] lies between, unasked
    else:
        wanted = [ids[1], ids[3], ids[4] + 10**6]

    assert keys_lock("accounts_account", wanted) == set(wanted) - {deleted, ids[4] + 10**6}
