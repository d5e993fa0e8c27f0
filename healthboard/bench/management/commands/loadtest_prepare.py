"""manage.py loadtest_prepare: the load test's data set, logins and API token (make loadtest)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from healthboard.bench import loadtest


class Command(BaseCommand):
    help = (
        "Make sure the pages benchmark's PAGEBENCH- accounts and daily scores exist at this size "
        "(built inside PostgreSQL when missing), give their CSMs and manager a password and make "
        "a read-write API token; write what the locustfile needs to --config."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=30, help="Days of daily scores (≥ 8).")
        parser.add_argument("--config", type=Path, required=True, help="The JSON file to write.")

    def handle(self, *args, accounts, days, config, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The load test runs on PostgreSQL: set DATABASE_URL.")
        if accounts < 1 or days < 8:
            raise CommandError("--accounts must be ≥ 1 and --days ≥ 8.")
        loadtest.ensure_data(
            accounts=accounts, days=days, as_of=timezone.localdate(), progress=self.stdout.write
        )
        values = loadtest.ensure_logins()
        loadtest.write_config(config, values)
        self.stdout.write(
            f"{values['accounts']:,} accounts, {len(values['csms'])} CSMs and "
            f"{len(values['managers'])} manager with passwords, an API token: {config}"
        )
