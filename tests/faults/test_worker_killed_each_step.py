"""A worker killed whole (SIGKILL to it and its pool: a machine lost) in each step of the
nightly run: claim, read pass, references, score pass, publish. Another worker finishes
the run — the watchdog sends a stalled run's unfinished steps again, Redis hands a lost
claim on after its visibility timeout — and the day is never half published: until the new
run is done the day shows the previous run whole, after it the new one, one row an account.

The worker is caught inside a step by a lock the test holds on what the step writes next
(tests/faults/night.py), so it is known to be mid-step when killed. Small data (120
accounts, 4 chunks), short watchdog and visibility timeouts.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from scoring.tasks import watch_runs
from tests.faults import night
from tests.faults.night import STEPS
from tests.workers import database_url, kill_whole, wait_for

pytestmark = [
    pytest.mark.celery,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    # A sent task's result, collected after the test's Redis stopped, cannot unsubscribe.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

# The second worker takes messages the dead one left unacknowledged after this long.
VISIBILITY = 3


@pytest.mark.parametrize("step", STEPS)
def test_a_worker_killed_in_a_step_leaves_the_day_whole_and_another_finishes_the_run(
    workers, settings, step
):
    settings.SCORING_CHUNK_SIZE = night.CHUNK
    previous = night.portfolio_published()
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY), "SCORING_CHUNK_SIZE": str(night.CHUNK)}
    first, _log = workers("first", **env)
    dsn = database_url()

    with psycopg.connect(dsn) as blocker:
        night.run_to(step, blocker)
        wait_for(lambda: night.waiting_pids(dsn, blocker), what=f"the worker to reach the {step}")
        kill_whole(first)
        blocker.rollback()

    # Dead in the middle: the day still shows the previous run, whole.
    night.assert_day_whole(previous)

    # Past the visibility timeout a new worker takes back what the dead one held (it looks
    # when it starts); the watchdog (a beat every minute; here, as often as asked) sends a
    # stalled run's unfinished steps again.
    settings.SCORING_WATCHDOG_SECONDS = 2
    time.sleep(VISIBILITY + 1)
    workers("second", **env)

    def published():
        watch_runs()
        return night.new_run_published(previous)

    night.assert_replaced(previous, wait_for(published, timeout=90, what="the new run"))
