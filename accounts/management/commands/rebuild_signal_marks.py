"""manage.py rebuild_signal_marks: recompute the signal marks the CTA rules read
(accounts.marks), and the signals' keys (accounts.partitions), from the signals. PostgreSQL
keeps them with triggers; run this after
loading signals in a way that skips triggers (pg_restore --disable-triggers, a bulk load
with session_replication_role = replica). Signal writes wait while it runs."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.marks import marks_rebuild
from accounts.partitions import SignalKeysRepeated, signal_keys_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the signal marks the CTA rules read, and the signals' keys, from the signals "
        "(PostgreSQL; after a load that skipped the triggers)."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("Nothing to do: only PostgreSQL keeps signal marks.")
            return
        started = time.perf_counter()
        # The keys first: signals stored twice (a load that skipped their trigger) stop it
        # before anything is rebuilt, saying which.
        try:
            keys = signal_keys_rebuild()
        except SignalKeysRepeated as exc:
            raise CommandError(str(exc)) from exc
        count = marks_rebuild()
        self.stdout.write(
            f"{count:,} signal marks and {keys:,} signal keys rebuilt in "
            f"{time.perf_counter() - started:.1f} s."
        )
