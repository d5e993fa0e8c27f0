"""manage.py bench_history: does a nightly run cost more when more history is stored?

The same accounts with the same signals per day, once with one year of them and once with
three, each data set in its own PostgreSQL database (built once, reused by later rounds); the
nightly run reads the scorecards' windows (180 days at most) in both, and is timed in both on
the same number of worker processes as bench_scoring. Prints the two times, the data sets'
sizes and build times, and ratio_history_3y_to_1y (the run with three years over the run with
one: 1.0 means history costs nothing).

Each database is measured by this command run again in a process of its own, with
DATABASE_URL set to it (--years), as `make bench` runs the other benchmarks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from healthboard.bench import dataset
from healthboard.bench import scoring as bench

# The signals a bench account sends per 180 days (bench_scoring's default density).
PER_180_DAYS = 100


class Command(BaseCommand):
    help = "Time the nightly run with one and with three years of signals stored."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=20_000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument(
            "--databases",
            nargs=2,
            metavar=("ONE_YEAR_URL", "THREE_YEARS_URL"),
            help="The two databases (created and migrated when missing).",
        )
        parser.add_argument(
            "--years", type=int, help="Measure this process's database with that much history."
        )
        parser.add_argument("--rebuild", action="store_true", help="Rebuild the data sets.")
        parser.add_argument("--json", action="store_true", help="End with one JSON line.")

    def handle(self, *args, accounts, workers, databases, years, rebuild, **options):
        if accounts < 1 or workers < 1:
            raise CommandError("--accounts and --workers must be ≥ 1.")
        if years is not None:
            self._measure(accounts=accounts, workers=workers, years=years, rebuild=rebuild)
            return
        if not databases:
            raise CommandError("Give --databases ONE_YEAR_URL THREE_YEARS_URL (make bench does).")
        one, three = (
            self._child(url, accounts=accounts, workers=workers, years=n, rebuild=rebuild)
            for url, n in zip(databases, (1, 3), strict=True)
        )
        ratio = three["recompute_s"] / one["recompute_s"]
        figures = {
            "history_accounts": accounts,
            "history_1y_signals": one["signals"],
            "history_3y_signals": three["signals"],
            "history_1y_build_s": one["build_s"],
            "history_3y_build_s": three["build_s"],
            "recompute_1y_s": one["recompute_s"],
            "recompute_3y_s": three["recompute_s"],
            "ratio_history_3y_to_1y": round(ratio, 3),
        }
        self.stdout.write(
            f"nightly run, {accounts:,} accounts, {workers} workers: "
            f"{one['recompute_s']:.2f} s with 1 year of signals ({one['signals']:,}), "
            f"{three['recompute_s']:.2f} s with 3 years ({three['signals']:,}): "
            f"3y/1y = {ratio:.3f}"
        )
        if options["json"]:
            self.stdout.write(json.dumps(figures))

    def _child(self, url: str, *, accounts: int, workers: int, years: int, rebuild: bool) -> dict:
        """This command on `url` in a process of its own (its database made ready first)."""
        root = settings.BASE_DIR
        env = {**os.environ, "DATABASE_URL": url}
        for command in (
            [sys.executable, "scripts/services.py", "ensure-db", url],
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        ):
            subprocess.run(command, cwd=root, env=env, check=True)
        done = subprocess.run(
            [sys.executable, "manage.py", "bench_history", "--years", str(years)]
            + ["--accounts", str(accounts), "--workers", str(workers)]
            + (["--rebuild"] if rebuild else []),
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise CommandError(f"The {years}-year measurement failed:\n{done.stderr[-3000:]}")
        self.stderr.write(done.stderr, ending="")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def _measure(self, *, accounts: int, workers: int, years: int, rebuild: bool) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_history measures PostgreSQL: set DATABASE_URL.")
        as_of = timezone.localdate()
        days = 365 * years
        per_account = PER_180_DAYS * days // 180
        build_s = dataset.ensure(
            accounts=accounts,
            signals_per_account=per_account,
            as_of=as_of,
            days=days,
            rebuild=rebuild,
            say=self.stderr.write,
        )
        bench.recompute_s(as_of, workers)  # warm: both data sets are timed from memory
        # The best of three: a run takes seconds, and one slow round says nothing of history.
        recompute = min(bench.recompute_s(as_of, workers)[0] for _ in range(3))
        self.stdout.write(
            json.dumps(
                {
                    "signals": dataset.signal_count(),
                    "build_s": build_s,
                    "recompute_s": round(recompute, 3),
                }
            )
        )
