"""manage.py rebuild_signal_marks: recompute the signal marks the CTA rules read
(accounts.marks) from the signals. PostgreSQL keeps them with triggers; run this after
loading signals in a way that skips triggers (pg_restore --disable-triggers, a bulk load
with session_replication_role = replica). Signal writes wait while it runs."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import connection

from accounts.marks import marks_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the signal marks the CTA rules read from the signals (PostgreSQL; after a "
        "load that skipped the triggers)."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("Nothing to do: only PostgreSQL keeps signal marks.")
            return
        started = time.perf_counter()
        count = marks_rebuild()
        self.stdout.write(
            f"{count:,} signal marks rebuilt in {time.perf_counter() - started:.1f} s."
        )
