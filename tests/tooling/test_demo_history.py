"""demo_history: what `make run` fills in the background once the server answers. Only the days
without a published run are scored: a second fill scores nothing, one cut short resumes."""

import datetime as dt
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from scoring.models import HealthScore, ScoreRun
from scoring.pipeline.backfill_runs import run_backfill
from tests.factories import AccountFactory

DONE = ScoreRun.Status.DONE


def demo_history(**options) -> str:
    out = StringIO()
    call_command("demo_history", stdout=out, **options)
    return out.getvalue()


def test_it_scores_each_day_once_then_seeds_the_closed_ctas(db):
    accounts = [AccountFactory() for _ in range(3)]

    output = demo_history(days=4)

    assert "Scored 5 day(s)" in output
    assert ScoreRun.objects.filter(status=DONE).count() == 5
    assert HealthScore.objects.count() == 5 * len(accounts)
    assert "Plays analysed" in output  # seed_demo_actions ran after the scores

    again = demo_history(days=4)

    assert "already present: not recomputing" in again and "Scored" not in again
    assert ScoreRun.objects.count() == 5
    assert "No demo calls to action added" in again or "Plays analysed" in again


def test_a_fill_cut_short_resumes_from_its_first_missing_day(db):
    accounts = [AccountFactory() for _ in range(2)]
    today = timezone.localdate()
    first = today - dt.timedelta(days=4)
    kept = {r.date: r.pk for r in run_backfill(first=first, last=today - dt.timedelta(days=2))}

    output = demo_history(days=4)

    assert "Scored 2 day(s)" in output
    done = dict(ScoreRun.objects.filter(status=DONE).values_list("date", "pk"))
    assert sorted(done) == [first + dt.timedelta(days=i) for i in range(5)]
    assert {day: done[day] for day in kept} == kept  # the published days were not redone
    assert HealthScore.objects.filter(run__status=DONE).count() == 5 * len(accounts)
