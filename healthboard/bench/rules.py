"""Times the CTA rules after the nightly run: every enabled rule on the run's date, first on
a night that opens the CTAs, then on a re-run of the same date that updates them. The
evaluation is dealt into parts on as many worker processes as the run had, as the Celery
workers take them after a published run (scoring.actions.hooks, night_parts)."""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import statistics
import time
from collections import Counter

from django.db import connection, connections, transaction

from scoring.actions.kinds import KINDS
from scoring.actions.rules import Part, Summary, night_parts, rules_apply
from scoring.bands import Band
from scoring.models import ActionRule, CallToAction, HealthScore, ScoreRun

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
        # The earlier days' rows are days old on a real night: autovacuum has marked their
        # pages all-visible, so the rules read a run's band and score from the covering
        # index (score_run_score) instead of its rows. (It marks the new run's pages too.)
        cursor.execute("VACUUM ANALYZE scoring_healthscore")


def _connect(_: int) -> None:
    connection.ensure_connection()
    time.sleep(0.05)  # so that each process takes one


def _part(args: tuple[dt.date, Part]) -> dict[str, int]:
    as_of, part = args
    return rules_apply(as_of=as_of, rule_ids=part.rule_ids, account_range=part.account_range)


def _evaluate(as_of: dt.date, workers: int) -> tuple[float, dict[str, int]]:
    """The time of one evaluation of every enabled rule, in parts on `workers` processes (each
    with its own connection, started before the clock), and the parts' counts added up."""
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date=as_of).first()
    parts = night_parts(run, workers) if run else []
    if not parts:  # every rule switched off: nothing to time (a pool needs a process)
        return 0.0, Summary().as_dict()
    connections.close_all()
    # The bench's own process holds the whole run's data (~800 MB): a child's garbage
    # collection would walk every object it inherited and copy their pages (seconds, and
    # never in a Celery worker, forked small). Frozen, the collector leaves them alone.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(len(parts)) as pool:
            pool.map(_connect, range(len(parts)), chunksize=1)  # connected before the clock
            started = time.perf_counter()
            counts = pool.map(_part, [(as_of, part) for part in parts], chunksize=1)
            elapsed = time.perf_counter() - started
    finally:
        gc.unfreeze()
    total: Counter[str] = Counter()
    for part in counts:
        total.update(part)
    # Parts of accounts each evaluate every rule.
    total["rules"] = ActionRule.objects.filter(enabled=True, kind__in=list(KINDS)).count()
    return elapsed, dict(total)


def rules_s(
    as_of: dt.date, workers: int, rounds: int = 3
) -> tuple[float, dict[str, int], float, dict[str, int], list[tuple[float, float]]]:
    """(time, counts) of the evaluation on the first night, which opens every CTA, then of the
    next night's, which finds them open and updates each one the rule fires for again (the
    CTAs are dated a day back, untimed, and vacuumed as a day's autovacuum would, so it
    writes as a real next night does). Both on `workers` processes, each the median of
    `rounds` rounds (on a shared machine one round of a second or two swung by a third from
    the next), and every round's (first, next) times."""
    samples = []
    for _ in range(max(rounds, 1)):
        with transaction.atomic(), connection.cursor() as cursor:
            delete_ctas(cursor)
        with connection.cursor() as cursor:
            # An installation's first night starts from tables without dead rows; the
            # earlier rounds left each round's deleted CTAs and checklist steps behind (1.4
            # million steps after a few rounds), which doubled the first night's time.
            cursor.execute("VACUUM ANALYZE scoring_calltoaction, scoring_ctastep")
        first_s, first = _evaluate(as_of, workers)
        CallToAction.objects.filter(last_fired_on=as_of).update(
            last_fired_on=as_of - dt.timedelta(days=1)
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE scoring_calltoaction")
        next_s, again = _evaluate(as_of, workers)
        samples.append((first_s, next_s))
    first_median = statistics.median(first for first, _ in samples)
    next_median = statistics.median(again for _, again in samples)
    return first_median, first, next_median, again, samples
