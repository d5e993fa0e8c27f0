"""manage.py bench_million: the nightly run at a million accounts against its floor.

A million bench accounts with --signals-per-account signals each (100 million at the default
100), in a database of its own: built the first time (it says how long that took) and reused
after. The run goes on --workers processes as bench_scoring runs it, each holding one chunk
at a time, never the population; it is timed against one raw SQL aggregation over the same
signals. Prints accounts_1m_recompute_s, raw_aggregate_1m_s, ratio_1m_recompute_to_raw and
peak_rss_mb_per_worker (the largest worker's peak; the coordinating process's apart).
"""

from __future__ import annotations

import json
import resource

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from healthboard.bench import dataset
from healthboard.bench import scoring as bench


class Command(BaseCommand):
    help = "Time the nightly run at a million accounts against one raw aggregation."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=1_000_000)
        parser.add_argument("--signals-per-account", type=int, default=100)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--rebuild", action="store_true", help="Rebuild the data set.")
        parser.add_argument("--json", action="store_true", help="End with one JSON line.")

    def handle(self, *args, accounts, signals_per_account, workers, rebuild, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_million measures PostgreSQL: set DATABASE_URL.")
        if accounts < 1 or signals_per_account < 1 or workers < 1:
            raise CommandError("--accounts, --signals-per-account and --workers must be ≥ 1.")
        as_of = timezone.localdate()
        built_s = dataset.ensure(
            accounts=accounts,
            signals_per_account=signals_per_account,
            as_of=as_of,
            rebuild=rebuild,
            say=self.stdout.write,
        )
        # The run first: its workers fork from this process, which must not hold the raw
        # aggregation's millions of rows yet (they would count in every worker's RSS).
        recompute_s, run, steps, _shares = bench.recompute_s(as_of, workers)
        raw_s, _groups = bench.raw_aggregate_s(as_of)
        scored = bench.stored_scores(run)
        own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        figures = {
            "accounts_1m": scored,
            "signals_1m": dataset.signal_count(),
            "build_1m_s": built_s,
            "accounts_1m_recompute_s": round(recompute_s, 3),
            "recompute_1m_steps_s": steps,
            "raw_aggregate_1m_s": round(raw_s, 3),
            "ratio_1m_recompute_to_raw": round(recompute_s / raw_s, 3),
            "peak_rss_mb_per_worker": round(worker_mb, 1),
            "peak_rss_mb_coordinator": round(own_mb, 1),
            "workers_1m": workers,
        }
        self.stdout.write(
            f"nightly run at {scored:,} accounts on {workers} workers: {recompute_s:.1f} s "
            f"({'   '.join(f'{name} {s:.1f} s' for name, s in steps.items())}); one raw "
            f"aggregation {raw_s:.1f} s: {recompute_s / raw_s:.2f}×; peak RSS {worker_mb:.0f} MB "
            f"per worker, {own_mb:.0f} MB for the coordinating process"
        )
        if options["json"]:
            self.stdout.write(json.dumps(figures))
