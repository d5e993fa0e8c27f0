"""manage.py bench_review: server time and queries of the weekly review and the journey board.

Reuses the pages benchmark's data set (accounts.bench_pages: PAGEBENCH- accounts, fifty
CSMs, one done run per day, built inside PostgreSQL) and its timing: the median of
--repeat requests after a warm-up, through Django's test Client logged in as a Manager (and
a CSM for the board), with the CPU time of Python and the database backend, plus one
request's query count.

Neither page caches its reads: both read the run snapshots that a run's publication writes
(scoring.rollups.snapshots) and the accounts live. The "first view" figures empty the cache
before each request all the same (an in-process cache of the benchmark's own, never a
shared Redis): what the first manager after a night's run waits for. The data set gets the
snapshots each of its runs would have got when published; "publication rollup" times that
call for the newest run, as the nightly run makes it (the day before settled too). The weekly
review reads the weeks a worker counts after each publication (scoring.rollups.weeks):
"counted live" times it without them, "counting the newest run's week" times that worker.
"""

import datetime as dt
import json
import statistics
import time

from django.conf import settings
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from healthboard.bench import pages as bench_pages
from healthboard.pages.weekly.selectors import week_end_default
from scoring.models import RunWeek, ScoreRun
from scoring.rollups import snapshots as rollups
from scoring.rollups.weeks import weeks_keep

TARGET_MS = 200
BENCH_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "bench-review",
    }
}


class Rollback(Exception):
    pass


def _first_views(client: Client, url: str, *, repeat: int = 3, **headers) -> float:
    """Median time of `repeat` requests, each with the cache emptied first."""
    samples = []
    for _ in range(repeat):
        cache.clear()
        started = time.perf_counter()
        assert client.get(url, **headers).status_code == 200
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def _publication_ms(repeat: int = 5) -> float:
    """Median time of scoring.rollups.run_rollup for the newest run as the nightly run
    calls it: the day before has yet to be settled. Each try is rolled back."""
    done = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date")
    run, before = done[0], done[1]
    samples = []
    for _ in range(repeat):
        try:
            with transaction.atomic():
                rollups.RunSnapshot.objects.filter(run=before).update(settled=False)
                started = time.perf_counter()
                rollups.run_rollup(run=run)
                samples.append((time.perf_counter() - started) * 1000)
                raise Rollback
        except Rollback:
            pass
    return round(statistics.median(samples), 1)


def _week_count_ms(repeat: int = 3) -> float:
    """Median time of counting the newest run's week, as the worker does after each
    published run (scoring.rollups.weeks.weeks_keep). Each try is rolled back."""
    newest = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date").first()
    samples = []
    for _ in range(repeat):
        try:
            with transaction.atomic():
                RunWeek.objects.filter(run=newest).delete()
                started = time.perf_counter()
                assert weeks_keep() == 1
                samples.append((time.perf_counter() - started) * 1000)
                raise Rollback
        except Rollback:
            pass
    return round(statistics.median(samples), 1)


def _counted_live_ms(url: str, repeat: int = 3) -> float:
    """Median time of the weekly review, as the bench's Manager, counted live: its weeks not
    kept (yet). Rolled back."""
    client = Client()
    client.force_login(bench_pages.bench_users()[1])
    try:
        with transaction.atomic():
            RunWeek.objects.all().delete()
            live = _first_views(client, url, repeat=repeat)
            raise Rollback
    except Rollback:
        pass
    return live


class Command(BaseCommand):
    help = (
        "Benchmark the weekly review and the journey board on PostgreSQL over PAGEBENCH- "
        "accounts with daily scores (built inside PostgreSQL when missing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=100_000)
        parser.add_argument(
            "--days",
            type=int,
            default=100,
            help="Days of daily scores (default 100: the churn rates need a snapshot ≥ 90 "
            "days old; the review's chart reads up to 182).",
        )
        parser.add_argument("--repeat", type=int, default=10, help="Timed requests per page.")
        parser.add_argument("--rebuild", action="store_true", help="Rebuild the data set.")
        parser.add_argument(
            "--no-build",
            action="store_true",
            help="Only use a data set that is there (e.g. a colleague's): fail rather than build.",
        )
        parser.add_argument("--json", action="store_true", help="End with one JSON line.")

    def handle(self, *args, accounts, days, repeat, rebuild, no_build, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_review measures PostgreSQL: set DATABASE_URL.")
        if accounts < 1 or days < 15 or repeat < 1:
            raise CommandError("--accounts and --repeat must be ≥ 1, --days ≥ 15.")
        today = timezone.localdate()
        present = bench_pages.existing(accounts=accounts, days=days, as_of=today)
        if no_build and (rebuild or not present):
            raise CommandError(
                f"No complete data set of {accounts:,} accounts × {days} days here, and "
                "--no-build forbids building one."
            )
        if rebuild or not present:
            self.stdout.write(f"Building {accounts:,} accounts × {days} days of scores …")
            started = time.perf_counter()
            bench_pages.build(accounts=accounts, days=days, as_of=today, progress=self.stdout.write)
            self.stdout.write(f"  built in {time.perf_counter() - started:.0f} s")
        else:
            self.stdout.write(f"Reusing {accounts:,} accounts × {days} days of scores.")
        started = time.perf_counter()
        made = bench_pages.rollup_missing()
        if made:
            self.stdout.write(
                f"  rollups of {made} published runs in {time.perf_counter() - started:.0f} s"
            )

        started = time.perf_counter()
        counted = weeks_keep()  # a data set built before weeks were kept
        if counted:
            self.stdout.write(
                f"  weeks of {counted} runs counted in {time.perf_counter() - started:.0f} s"
            )

        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        # Everything the measuring writes (the login sessions) is rolled back: the data set
        # may be someone else's.
        try:
            with (
                override_settings(ALLOWED_HOSTS=hosts, CACHES=BENCH_CACHE),
                transaction.atomic(),
            ):
                timings, first = self._measure(today, repeat)
                publication = _publication_ms()
                live = _counted_live_ms(reverse("scoring:weekly"))
                week_count = _week_count_ms()
                raise Rollback
        except Rollback:
            pass

        self.stdout.write(f"{'page':<34} {'median ms':>10} {'CPU ms':>8} {'queries':>8}  status")
        for t in timings:
            flag = "" if t.ms < TARGET_MS else f"  (over {TARGET_MS} ms)"
            cpu = f"{t.cpu_ms:>8.1f}" if t.cpu_ms is not None else f"{'—':>8}"
            self.stdout.write(f"{t.name:<34} {t.ms:>10.1f} {cpu} {t.queries:>8}  {t.status}{flag}")
        self.stdout.write("first view after a night's run, cache emptied (median of 3):")
        for name, ms in first.items():
            self.stdout.write(f"  {name:<48} {ms:>8.1f} ms")
        self.stdout.write(f"publication rollup (run_finalize's call, median of 5) {publication} ms")
        self.stdout.write(f"weekly review counted live, its week not kept (median of 3) {live} ms")
        self.stdout.write(
            f"counting the newest run's week on a worker (median of 3) {week_count} ms"
        )
        bad = [t.name for t in timings if t.status != 200]
        if bad:
            raise CommandError(f"Not a 200 answer: {', '.join(bad)}")
        by_name = {t.name: t for t in timings}
        review, board = by_name["weekly review (Manager)"], by_name["journey board (Manager)"]
        figures = {
            "accounts": accounts,
            "days": days,
            "weekly_ms": review.ms,
            "weekly_cpu_ms": review.cpu_ms,
            "weekly_queries": review.queries,
            "weekly_first_view_ms": first["weekly review"],
            "weekly_cold_chart_ms": first["weekly chart HTMX (ARR toggle)"],
            "weekly_htmx_ms": by_name["weekly review HTMX (week picker)"].ms,
            "weekly_chart_ms": by_name["weekly chart HTMX (ARR toggle)"].ms,
            "journey_ms": board.ms,
            "journey_cpu_ms": board.cpu_ms,
            "journey_queries": board.queries,
            "journey_first_view_ms": first["journey board (Manager)"],
            "journey_first_view_csm_ms": first["journey board (CSM, my book)"],
            "publication_rollup_ms": publication,
            "weekly_counted_live_ms": live,
            "week_count_ms": week_count,
            "journey_csm_ms": by_name["journey board (CSM, my book)"].ms,
            "journey_htmx_ms": by_name["journey board HTMX (owner, red)"].ms,
            "target_ms": TARGET_MS,
        }
        if options["json"]:
            self.stdout.write(json.dumps(figures))

    def _measure(self, today: dt.date, repeat: int):
        csm, manager = bench_pages.bench_users()
        clients = {}
        for role, user in (("csm", csm), ("manager", manager)):
            clients[role] = Client()
            clients[role].force_login(user)
        weekly, board = reverse("scoring:weekly"), reverse("accounts:journey")
        week = (week_end_default(today) - dt.timedelta(days=7)).isoformat()

        first = {
            "weekly review": _first_views(clients["manager"], weekly),
            "weekly chart HTMX (ARR toggle)": _first_views(
                clients["manager"],
                f"{weekly}?measure=arr",
                HTTP_HX_REQUEST="true",
                HTTP_HX_TARGET="weekly-distribution",
            ),
            "journey board (Manager)": _first_views(clients["manager"], board),
            "journey board (CSM, my book)": _first_views(clients["csm"], board),
        }
        time_page = bench_pages.time_page
        timings = [
            time_page(clients["manager"], "weekly review (Manager)", weekly, repeat=repeat),
            time_page(
                clients["manager"],
                "weekly review HTMX (week picker)",
                f"{weekly}?week={week}",
                repeat=repeat,
                HTTP_HX_REQUEST="true",
                HTTP_HX_TRIGGER="weekly-picker",
            ),
            time_page(
                clients["manager"],
                "weekly chart HTMX (ARR toggle)",
                f"{weekly}?measure=arr",
                repeat=repeat,
                HTTP_HX_REQUEST="true",
                HTTP_HX_TARGET="weekly-distribution",
            ),
            time_page(clients["manager"], "journey board (Manager)", board, repeat=repeat),
            time_page(clients["csm"], "journey board (CSM, my book)", board, repeat=repeat),
            time_page(
                clients["manager"],
                "journey board HTMX (owner, red)",
                f"{board}?owner={csm.pk}&band=red",
                repeat=repeat,
                HTTP_HX_REQUEST="true",
                HTTP_HX_TRIGGER="journey-filters",
            ),
        ]
        return timings, first
