"""manage.py bench_pages: server time and queries of the portfolio and drilldown pages."""

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from healthboard.bench import pages as bench_pages

TARGET_MS = 100


class Command(BaseCommand):
    help = (
        "Benchmark the portfolio page, a filtered HTMX table request and the account "
        "drilldown on PostgreSQL, over PAGEBENCH- accounts with daily scores (built inside "
        "PostgreSQL when missing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=365, help="Days of daily scores.")
        parser.add_argument("--repeat", type=int, default=10, help="Timed requests per page.")
        parser.add_argument("--rebuild", action="store_true", help="Rebuild the data set.")
        parser.add_argument("--json", action="store_true", help="End with one JSON line.")

    def handle(self, *args, accounts, days, repeat, rebuild, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_pages measures PostgreSQL: set DATABASE_URL.")
        if accounts < 1 or days < 8 or repeat < 1:
            raise CommandError("--accounts and --repeat must be ≥ 1, --days ≥ 8.")
        as_of = timezone.localdate()
        if rebuild or not bench_pages.existing(accounts=accounts, days=days, as_of=as_of):
            self.stdout.write(f"Building {accounts:,} accounts × {days} days of scores …")
            started = time.perf_counter()
            bench_pages.build(accounts=accounts, days=days, as_of=as_of, progress=self.stdout.write)
            self.stdout.write(f"  built in {time.perf_counter() - started:.0f} s")
        else:
            self.stdout.write(f"Reusing {accounts:,} accounts × {days} days of scores.")

        # The test client's host; the pages need a login, which force_login gives.
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with override_settings(ALLOWED_HOSTS=hosts):
            timings = bench_pages.run(repeat=repeat)

        self.stdout.write(f"{'page':<28} {'median ms':>10} {'CPU ms':>8} {'queries':>8}  status")
        for t in timings:
            flag = "" if t.ms < TARGET_MS else f"  (over {TARGET_MS} ms)"
            cpu = f"{t.cpu_ms:>8.1f}" if t.cpu_ms is not None else f"{'—':>8}"
            self.stdout.write(f"{t.name:<28} {t.ms:>10.1f} {cpu} {t.queries:>8}  {t.status}{flag}")
        publish_ms, cells = bench_pages.time_totals_publish(repeat=repeat)
        self.stdout.write(f"storing the newest run's totals ({cells} cells): {publish_ms:.1f} ms")
        bad = [t.name for t in timings if t.status != 200]
        if bad:
            raise CommandError(f"Not a 200 answer: {', '.join(bad)}")

        by_name = {t.name: t for t in timings}
        portfolio = max(
            (by_name["portfolio (CSM, my book)"], by_name["portfolio (Manager, all)"]),
            key=lambda t: t.ms,
        )
        table = by_name["table HTMX (Manager)"]
        detail = by_name.get("drilldown (CSM)")
        figures = {
            "portfolio_ms": portfolio.ms,
            "portfolio_cpu_ms": portfolio.cpu_ms,
            "portfolio_queries": portfolio.queries,
            "table_htmx_ms": table.ms,
            "table_htmx_cpu_ms": table.cpu_ms,
            "table_htmx_queries": table.queries,
            "detail_ms": detail.ms if detail else None,
            "detail_cpu_ms": detail.cpu_ms if detail else None,
            "detail_queries": detail.queries if detail else None,
            "accounts": accounts,
            "score_rows": accounts * days,
            "portfolio_csm_ms": by_name["portfolio (CSM, my book)"].ms,
            "portfolio_manager_ms": by_name["portfolio (Manager, all)"].ms,
            "table_htmx_csm_ms": by_name["table HTMX (CSM)"].ms,
            "totals_publish_ms": publish_ms,
        }
        if options["json"]:
            self.stdout.write(json.dumps(figures))
