"""manage.py bench_backfill: a year of the demo's daily scores back-filled (what `make run`
spends its first minute on), timed on the database this process uses.

Seeds the demo (seed_demo, 2,000 accounts) when the database has no accounts and says how
long that took; drops every score run before each round, so each back-fill starts from none,
as on a fresh machine. Prints the median of --repeat rounds (backfill_demo_year_s) and the
process's peak RSS.
"""

import datetime as dt
import json
import statistics
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from healthboard.bench.scoring import peak_rss_mb
from scoring.models import ScoreRun
from scoring.pipeline.backfill_runs import run_backfill

TARGET_S = 20


class Command(BaseCommand):
    help = "Time a year's back-fill of the demo's daily scores (seeds the demo if needed)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=365, help="Days back (default 365).")
        parser.add_argument("--repeat", type=int, default=1, help="Rounds (default 1).")
        parser.add_argument("--json", action="store_true", help="Print one JSON line.")

    def handle(self, *args, **options):
        days, repeat = options["days"], options["repeat"]
        seeded_s = None
        if not Account.objects.exists():
            started = time.perf_counter()
            call_command("seed_demo", force=True, verbosity=0)
            seeded_s = round(time.perf_counter() - started, 1)
        last = timezone.localdate()
        first = last - dt.timedelta(days=days)
        rounds = []
        for _ in range(max(1, repeat)):
            ScoreRun.objects.all().delete()
            started = time.perf_counter()
            published = run_backfill(first=first, last=last)
            rounds.append(time.perf_counter() - started)
        result = {
            "database": connection.vendor,
            "accounts": Account.objects.count(),
            "days": len(published),
            "seed_demo_s": seeded_s,
            "backfill_demo_year_s": round(statistics.median(rounds), 1),
            "backfill_rounds_s": [round(r, 1) for r in rounds],
            "backfill_target_s": TARGET_S,
            "peak_rss_mb": round(peak_rss_mb()),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        for key, value in result.items():
            self.stdout.write(f"{key}: {value}")
