"""When the rules run: after a run of the newest date is published, and after a re-score of
a few accounts into today's run. The pipeline calls these; they hand the evaluation to a
worker once the publishing transaction has committed.

A back-filled day older than the newest published one opens nothing: its CTAs would be stale
the moment they opened (a back-fill evaluates once, for its newest day).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction

from healthboard.lib.idranges import IdRange
from healthboard.lib.queue import QUEUE_DOWN, QUEUE_DOWN_TEXT
from scoring.actions.rules import night_parts
from scoring.models import ScoreRun

logger = logging.getLogger(__name__)


def rules_apply_after_run(*, run: ScoreRun) -> bool:
    """Evaluate the rules on a just-published run if no newer date is published, dealt into
    RULES_PARTS tasks that workers take side by side; returns whether it was handed off."""
    newer = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__gt=run.date).exists()
    if newer:
        return False
    for part in night_parts(run, settings.RULES_PARTS):
        rules_apply_soon(as_of=run.date, rule_ids=part.rule_ids, account_range=part.account_range)
    return True


def rules_apply_soon(
    *,
    as_of: dt.date,
    account_ids: Sequence[int] | None = None,
    rule_ids: Sequence[int] | None = None,
    account_range: IdRange | None = None,
) -> None:
    """Evaluate the rules (or those of `rule_ids`) on a worker once the current transaction
    commits, for the accounts scored (or `account_ids`, or those in `account_range`)."""
    ids = None if account_ids is None else sorted({int(a) for a in account_ids})
    rules = None if rule_ids is None else list(rule_ids)
    bounds = None if account_range is None else account_range.as_list()

    def enqueue() -> None:
        # A named function: on_commit's error logging needs a __qualname__ (a partial has none).
        _enqueue(as_of.isoformat(), ids, rules, bounds)

    transaction.on_commit(enqueue, robust=True)


def _enqueue(
    run_date: str,
    account_ids: list[int] | None,
    rule_ids: list[int] | None,
    account_range: list[int | None] | None,
) -> None:
    from scoring.actions.tasks import apply_rules

    try:
        # The range only when there is one: a worker not yet updated takes the others.
        extra = {} if account_range is None else {"account_range": account_range}
        apply_rules.delay(run_date, account_ids, rule_ids, **extra)
    except QUEUE_DOWN:
        # The scores are published whatever the queue does; the next run or re-score
        # evaluates the rules again and catches up.
        logger.warning("Rules for %s not evaluated now: %s", run_date, QUEUE_DOWN_TEXT)
