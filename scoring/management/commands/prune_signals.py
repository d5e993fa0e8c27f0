"""manage.py prune_signals [--older-than DAYS] [--dry-run]: delete signals observed more than
DAYS days ago (default SIGNAL_RETENTION_DAYS), never one a scorecard or rule still reads
(scoring/retention.py). Meant for a daily cron job or systemd timer where a retention period
is set; with none set and no --older-than it deletes nothing (signals are kept for ever by
default)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.audit import server_user
from scoring.retention import signals_prune


class Command(BaseCommand):
    help = (
        "Delete signals observed more than DAYS days ago (default: SIGNAL_RETENTION_DAYS; unset "
        "keeps everything), never one inside a scorecard's or rule's window. Recorded in the "
        "audit log; the stored scores and their explanations stay."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            default=None,
            help="Delete signals observed more than DAYS days ago (at least 1).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only say how many signals would be deleted."
        )

    def handle(self, *args, older_than: int | None, dry_run: bool, **options):
        days = older_than if older_than is not None else settings.SIGNAL_RETENTION_DAYS
        if days is None:
            self.stdout.write(
                "Nothing pruned: SIGNAL_RETENTION_DAYS is not set (signals are kept for ever). "
                "Set it, or pass --older-than DAYS."
            )
            return
        if days < 1:
            raise CommandError(f"--older-than must be at least 1 day, not {days}.")
        deleted, cutoff, kept = signals_prune(
            older_than_days=days, actor_label=f"prune_signals ({server_user()})", dry_run=dry_run
        )
        if kept > days:
            self.stdout.write(
                f"Keeping {kept} days, not {days}: a scorecard or rule reads that far back."
            )
        before = f"observed before {cutoff:%Y-%m-%d}"
        if dry_run:
            self.stdout.write(f"Would delete {deleted} signal(s) {before}.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} signal(s) {before}."))
