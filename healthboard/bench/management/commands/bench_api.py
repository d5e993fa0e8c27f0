"""manage.py bench_api: signals per second through POST /api/v1/signals on PostgreSQL."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from healthboard.bench import api as bench_api

TARGET_PER_S = 20_000


class Command(BaseCommand):
    help = (
        "POST batches of signals (default 10 × 10,000) to /api/v1/signals through the whole "
        "API stack, re-score hand-off included, then the same batches again, on PostgreSQL; "
        "report signals/s."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batches", type=int, default=10)
        parser.add_argument("--batch-size", type=int, default=10_000)
        parser.add_argument("--accounts", type=int, default=10_000)
        parser.add_argument("--json", action="store_true", help="End with one JSON line.")

    def handle(self, *args, batches, batch_size, accounts, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_api measures PostgreSQL: set DATABASE_URL.")
        if batches < 1 or not 1 <= batch_size <= 10_000 or accounts < 1:
            raise CommandError("--batches ≥ 1, --batch-size 1–10,000 and --accounts ≥ 1.")
        figures = bench_api.run(
            batches=batches,
            batch_size=batch_size,
            accounts=accounts,
            progress=self.stdout.write,
        )
        verdict = "ok" if figures["api_signals_per_s"] >= TARGET_PER_S else "BELOW TARGET"
        self.stdout.write(
            f"API: {figures['api_signals_per_s']:,} signals/s in batches of {batch_size:,} "
            f"(target ≥ {TARGET_PER_S:,}: {verdict}), {figures['api_rescore_messages_per_batch']}"
            f" re-score message(s) per batch; re-sent: "
            f"{figures['api_resent_signals_per_s']:,} signals/s."
        )
        if options["json"]:
            self.stdout.write(json.dumps(figures))
