"""manage.py prune_audit [--older-than DAYS]: delete audit events older than DAYS days
(default AUDIT_RETENTION_DAYS), leaving one event that says so. Meant for a daily cron job
or systemd timer where a retention period is set; with none set and no --older-than it
deletes nothing (the log is kept for ever by default)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.audit import audit_prune, server_user


class Command(BaseCommand):
    help = (
        "Delete audit log events older than DAYS days (default: AUDIT_RETENTION_DAYS; "
        "unset keeps everything). The pruning is itself recorded in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            default=None,
            help="Delete events recorded more than DAYS days ago (at least 1).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only say how many events would be deleted.",
        )

    def handle(self, *args, older_than: int | None, dry_run: bool, **options):
        days = older_than if older_than is not None else settings.AUDIT_RETENTION_DAYS
        if days is None:
            self.stdout.write(
                "Nothing pruned: AUDIT_RETENTION_DAYS is not set (the audit log is kept for "
                "ever). Set it, or pass --older-than DAYS."
            )
            return
        if days < 1:
            raise CommandError(f"--older-than must be at least 1 day, not {days}.")
        deleted, cutoff = audit_prune(
            older_than_days=days, actor_label=f"prune_audit ({server_user()})", dry_run=dry_run
        )
        before = f"recorded before {cutoff:%Y-%m-%d %H:%M}"
        if dry_run:
            self.stdout.write(f"Would delete {deleted} audit event(s) {before}.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} audit event(s) {before}."))
