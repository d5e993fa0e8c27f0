"""manage.py demo_history: the demo's year of daily scores, then its closed calls to action
(seed_demo_actions). `make run` runs it in the background once the server answers, so the
first page does not wait for it; `make demo` runs it in the foreground.

Only the days without a published run are back-filled (from the first of them to today), so a
fill cut short resumes where it stopped and a second one on the same day scores nothing."""

import datetime as dt
import signal
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from scoring.models import ScoreRun
from scoring.pipeline import backfill_runs

# Rows a write transaction: on SQLite a write holds the database's one write lock, which the
# pages' own writes (a login, a session renewed once a minute) wait for, 20 s at most. The
# back-fill's default (a hundred days of the demo) held it for 13 s on a loaded machine; two
# weeks of the demo's 2,000 accounts hold it about a second.
ROWS_PER_WRITE = 30_000


class Command(BaseCommand):
    help = (
        "Back-fill the demo's daily scores for the days without any (a year by default), then "
        "seed its closed calls to action."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=365, help="Days before today to score (default 365)."
        )

    def handle(self, *args, days=365, **options):
        # make run stops it with the server (SIGTERM): ending as on Ctrl-C lets the back-fill
        # mark its claimed runs failed, so the next fill need not wait for them to go stale.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        today = timezone.localdate()
        wanted = [today - dt.timedelta(days=i) for i in range(days, -1, -1)]
        published = set(
            ScoreRun.objects.filter(
                status=ScoreRun.Status.DONE, date__gte=wanted[0], date__lte=today
            ).values_list("date", flat=True)
        )
        missing = [day for day in wanted if day not in published]
        if not missing:
            self.stdout.write(
                _("Daily scores since %(first)s already present: not recomputing.")
                % {"first": wanted[0]}
            )
        else:
            self.stdout.write(
                _("Computing daily scores from %(first)s to %(last)s ...")
                % {"first": missing[0], "last": today}
            )
            started = time.perf_counter()
            scored = backfill_runs.run_backfill(
                first=missing[0], last=today, rows_per_write=ROWS_PER_WRITE
            )
            self.stdout.write(
                _("Scored %(count)s day(s) in %(elapsed).1f s.")
                % {"count": len(scored), "elapsed": time.perf_counter() - started}
            )
        call_command("seed_demo_actions", stdout=self.stdout, stderr=self.stderr)
