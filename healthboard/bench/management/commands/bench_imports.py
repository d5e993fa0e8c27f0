"""manage.py bench_imports: signals per second and peak memory of a CSV import on PostgreSQL."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from healthboard.bench import imports as bench_imports

TARGET_PER_S = 50_000


class Command(BaseCommand):
    help = (
        "Import a generated signals CSV (default 1,000,000 rows) through the real import, "
        "twice (new rows, then the same file again), on PostgreSQL; report signals/s and "
        "peak RSS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--accounts", type=int, default=10_000)
        parser.add_argument("--dir", help="Where to write the CSV files (default: temp dir).")
        parser.add_argument("--json", action="store_true", help="End with one JSON line.")

    def handle(self, *args, rows, accounts, dir, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_imports measures PostgreSQL: set DATABASE_URL.")
        if rows < 10 or accounts < 1:
            raise CommandError("--rows must be ≥ 10 and --accounts ≥ 1.")
        figures = bench_imports.run(
            rows=rows, accounts=accounts, directory=dir, progress=self.stdout.write
        )
        verdict = "ok" if figures["csv_signals_per_s"] >= TARGET_PER_S else "BELOW TARGET"
        self.stdout.write(
            f"CSV import: {figures['csv_signals_per_s']:,} signals/s "
            f"(target ≥ {TARGET_PER_S:,}: {verdict}); re-sent: "
            f"{figures['resent_signals_per_s']:,} signals/s; peak RSS "
            f"{figures['peak_rss_mb_small_file']} MB after {figures['small_rows']:,} rows, "
            f"{figures['peak_rss_mb']} MB after {rows:,}."
        )
        if options["json"]:
            self.stdout.write(json.dumps(figures))
