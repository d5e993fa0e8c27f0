"""Times the CTA rules after the nightly run: every enabled rule on the run's date, first on
a night that opens the CTAs, then on a re-run of the same date that updates them."""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection, transaction

from scoring.actions.rules import rules_apply
from scoring.bands import Band
from scoring.models import CallToAction, HealthScore, ScoreRun

from .dataset import delete_ctas

HISTORY_TRIGGER = "bench-history"
# The rules compare with yesterday's run (band got worse) and the run a week back (score
# dropped): the bench keeps both, as a real night has them.
# Days back: (share of accounts that moved much since, how far: up to ± points; how far the
# others moved: up to ± points). A real night sees a few % of accounts move a band or drop
# 15 points in a week, not the ~20 % that moving everybody by up to ±20 made.
HISTORY_DAYS = {1: (0.03, 25, 1), 7: (0.05, 30, 5)}


def history_from(run: ScoreRun) -> None:
    """Published runs one and seven days before `run`: its scores, a few % of them moved
    much and the rest a little (HISTORY_DAYS), banded at the default 40/70 (untimed set-up)."""
    for days, (share, far, near) in HISTORY_DAYS.items():
        day = run.date - dt.timedelta(days=days)
        HealthScore.objects.filter(run__date=day, run__trigger=HISTORY_TRIGGER).delete()
        ScoreRun.objects.filter(date=day, trigger=HISTORY_TRIGGER).delete()
        if ScoreRun.objects.filter(date=day, status=ScoreRun.Status.DONE).exists():
            continue
        past = ScoreRun.objects.create(
            date=day, status=ScoreRun.Status.DONE, trigger=HISTORY_TRIGGER
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO scoring_healthscore (account_id, run_id, date, version_id, score, "
                "band, coverage, delta_7d, details) "
                "SELECT account_id, %s, %s, version_id, s, CASE WHEN s IS NULL THEN %s "
                "WHEN s >= 70 THEN %s WHEN s < 40 THEN %s ELSE %s END, coverage, NULL, '{}' "
                "FROM (SELECT *, round(least(100, greatest(0, score + (random() - 0.5) * 2 * "
                "CASE WHEN random() < %s THEN %s ELSE %s END))::numeric, 2)::float8 AS s "
                "FROM scoring_healthscore WHERE run_id = %s) moved",
                [past.pk, day, Band.NO_DATA, Band.GREEN, Band.RED, Band.YELLOW]
                + [share, far, near, run.pk],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scoring_healthscore")


def rules_s(as_of: dt.date) -> tuple[float, dict[str, int], float, dict[str, int]]:
    """(time, counts) of the evaluation on the first night, which opens every CTA, then of the
    next night's, which finds them open and updates each one the rule fires for again (the
    CTAs are dated a day back, untimed, so it writes as a real next night does)."""
    with transaction.atomic(), connection.cursor() as cursor:
        delete_ctas(cursor)
    started = time.perf_counter()
    first = rules_apply(as_of=as_of)
    first_s = time.perf_counter() - started
    CallToAction.objects.filter(last_fired_on=as_of).update(
        last_fired_on=as_of - dt.timedelta(days=1)
    )
    started = time.perf_counter()
    again = rules_apply(as_of=as_of)
    return first_s, first, time.perf_counter() - started, again
