"""When the rules run: after a run of the newest date is published, and after a re-score of
a few accounts into today's run. The pipeline calls these; they hand the evaluation to a
worker once the publishing transaction has committed.

A back-filled day older than the newest published one opens nothing: its CTAs would be stale
the moment they opened (a back-fill evaluates once, for its newest day).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence

from django.db import transaction
from kombu.exceptions import OperationalError

from scoring.models import ScoreRun

logger = logging.getLogger(__name__)


def rules_apply_after_run(*, run: ScoreRun) -> bool:
    """Evaluate the rules on a just-published run if no newer date is published; returns
    whether it was handed off."""
    newer = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__gt=run.date).exists()
    if newer:
        return False
    rules_apply_soon(as_of=run.date)
    return True


def rules_apply_soon(*, as_of: dt.date, account_ids: Sequence[int] | None = None) -> None:
    """Evaluate the rules on a worker once the current transaction commits."""
    ids = None if account_ids is None else sorted({int(a) for a in account_ids})
    transaction.on_commit(functools.partial(_enqueue, as_of.isoformat(), ids), robust=True)


def _enqueue(run_date: str, account_ids: list[int] | None) -> None:
    from scoring.actions.tasks import apply_rules

    try:
        apply_rules.delay(run_date, account_ids)
    except OperationalError:
        # The scores are published whatever the queue does; the next run or re-score
        # evaluates the rules again and catches up (CTAs are only opened, never lost).
        logger.warning("Task queue unreachable: rules for %s not evaluated now", run_date)
