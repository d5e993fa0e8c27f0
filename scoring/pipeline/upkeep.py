"""After a published run: the day's scores made readable from the indexes alone, then the
weekly review's weeks counted (scoring.rollups.weeks).

The pages read the newest run through index-only scans (the journey board's cards, a CSM's
book, the rules' accounts), which visit the table's page of every row until VACUUM has
marked the page all-visible. PostgreSQL's autovacuum does that once a table's inserts reach a
fifth of its rows (autovacuum_vacuum_insert_scale_factor): with a year of daily runs, a run's
rows wait weeks for it. Measured at 1,000,000 accounts × 30 days of scores on the 2-core
development machine: a CSM's journey board answered in 447 ms before the day's scores were
vacuumed and in 184 ms after (its cards' query 323 ms, then 72 ms).

So a worker vacuums (and analyses) the scores once a run is published, and the accounts with
them, whose covering index (owner, stage) the board reads the same way. VACUUM only visits
pages not yet all-visible, a day's worth (about a second at a million accounts), and takes
a lock that neither reads nor writes wait for.

The weeks are counted after it, on the same worker: counting locks the scores against writes
and would wait for the VACUUM (as long as it runs), and it reads the run through the same
index-only scans.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import connection, transaction

from accounts.models import Account
from healthboard.lib.queue import QUEUE_DOWN, QUEUE_DOWN_TEXT
from scoring.models import HealthScore
from scoring.rollups.weeks import weeks_keep

logger = logging.getLogger(__name__)

TABLES = (HealthScore._meta.db_table, Account._meta.db_table)


def scores_vacuum() -> bool:
    """VACUUM (ANALYZE) the scores and the accounts; False where there is nothing to do: not
    PostgreSQL, or inside a transaction, where VACUUM cannot run (a test's)."""
    if connection.vendor != "postgresql":
        return False
    if connection.in_atomic_block:
        logger.info("Scores not vacuumed: VACUUM cannot run inside a transaction")
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")
    return True


def upkeep_soon() -> None:
    """Vacuum the scores, then count the weekly review's weeks, on a worker once the current
    transaction commits; a queue that does not answer leaves the vacuum to autovacuum and the
    weeks to the next run (the run stays published, the review counts live)."""
    transaction.on_commit(_enqueue, robust=True)


def publication_upkeep_now() -> int:
    """The upkeep after a published run, here: returns the weeks counted."""
    scores_vacuum()
    return weeks_keep()


# Safe to deliver twice (a second VACUUM finds nothing to do, the weeks are counted); nobody
# waits for it.
@shared_task(acks_late=True, ignore_result=True)
def publication_upkeep() -> int:
    return publication_upkeep_now()


def _enqueue() -> None:
    try:
        publication_upkeep.delay()
    except QUEUE_DOWN:
        logger.warning("Scores not vacuumed nor weeks counted now: %s", QUEUE_DOWN_TEXT)
