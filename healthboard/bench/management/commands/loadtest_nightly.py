"""manage.py loadtest_nightly: the nightly run on real Celery workers while the load test
runs (make loadtest), and whether it completed correctly."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Account
from scoring.models import HealthScore, ScoreRun
from scoring.tasks import nightly_run


class Command(BaseCommand):
    help = (
        "After --after seconds, send today's nightly run to the Celery workers (as the beat "
        "does), wait for it and print whether it completed correctly: status done, one done "
        "run for the day, as many scores as active accounts. Exit 1 when it did not."
    )

    def add_arguments(self, parser):
        parser.add_argument("--after", type=float, default=20, help="Seconds to wait first.")
        parser.add_argument("--timeout", type=float, default=900, help="Seconds to wait for it.")

    def handle(self, *args, after, timeout, **options):
        time.sleep(after)
        today = timezone.localdate()
        active = Account.objects.customers_on(today).count()
        sent = time.monotonic()
        run_id = nightly_run.delay(today.isoformat()).get(timeout=timeout)
        if run_id is None:
            raise CommandError(f"Nightly run for {today}: another run was in progress.")
        run = ScoreRun.objects.get(pk=run_id)
        while run.status == ScoreRun.Status.RUNNING and time.monotonic() - sent < timeout:
            time.sleep(1)
            run.refresh_from_db()
        seconds = time.monotonic() - sent
        scores = HealthScore.objects.filter(run=run).count()
        done_runs = ScoreRun.objects.filter(date=today, status=ScoreRun.Status.DONE).count()
        ok = (
            run.status == ScoreRun.Status.DONE
            and scores == run.accounts_done == active
            and done_runs == 1
        )
        verdict = "completed correctly" if ok else "DID NOT complete correctly"
        self.stdout.write(
            f"Nightly run during the load: run {run.pk} for {today} {verdict}: status "
            f"{run.status}, {scores:,} accounts scored of {active:,} active, "
            f"{run.chunks_done}/{run.chunks_total} chunks, {done_runs} done run(s) for the day, "
            f"{seconds:.0f} s from sending to {'done' if ok else 'now'}."
            + (f" Error: {run.error}" if run.error else "")
        )
        if not ok:
            raise CommandError("The nightly run did not complete correctly.")
