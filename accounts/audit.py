"""Recording audit events (accounts.AuditEvent): one function every layer calls.

Recording never breaks what it records: a failure is logged and the action goes on. The
event is written in a savepoint of its own, so a failed INSERT inside the caller's
transaction does not poison it."""

from __future__ import annotations

import datetime as dt
import getpass
import logging
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditEvent
from healthboard.lib.batches import delete_in_batches
from healthboard.lib.clientip import client_ip

logger = logging.getLogger(__name__)


def audit_record(
    *,
    type: AuditEvent.Type,
    request: HttpRequest | None = None,
    actor=None,
    actor_label: str = "",
    obj: models.Model | None = None,
    message: str = "",
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent | None:
    """Record one event; None (and a logged error) when it could not be written. The actor
    defaults to the request's signed-in user; `at` to now (an event recorded once the
    action is known to have happened keeps the time it began)."""
    try:
        if actor is None and request is not None:
            user = getattr(request, "user", None)
            actor = user if getattr(user, "is_authenticated", False) else None
        if actor is not None and not actor_label:
            actor_label = actor.get_username()
        event = AuditEvent(
            type=type,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=actor_label[:150],
            ip=client_ip(request),
            message=message[:300],
            details=details or {},
            at=at or timezone.now(),
        )
        if obj is not None:
            event.object_type = obj._meta.label_lower[:40]
            event.object_id = str(obj.pk)[:64]
            event.object_label = str(obj)[:200]
        with transaction.atomic():
            event.save()
        return event
    except Exception:
        logger.exception("Could not record the audit event %s", type)
        return None


def audit_prune(
    *, older_than_days: int, actor_label: str = "", dry_run: bool = False, batch: int = 10_000
) -> tuple[int, dt.datetime]:
    """Delete the events recorded more than `older_than_days` days ago, a batch at a time
    (short transactions: sign-ins keep being recorded meanwhile), then record the pruning
    itself: how far back and how many went, so the log shows where its history was cut.
    The number deleted (with dry_run: that would be, and nothing recorded) and the cutoff."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1 (today's events are always kept).")
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    old = AuditEvent.objects.filter(at__lt=cutoff)
    if dry_run:
        return old.count(), cutoff
    deleted = delete_in_batches(old, batch)
    audit_record(
        type=AuditEvent.Type.AUDIT_PRUNED,
        actor_label=actor_label,
        message=f"{deleted} event(s) recorded before {cutoff:%Y-%m-%d %H:%M} deleted",
        details={
            "older_than_days": older_than_days,
            "before": cutoff.isoformat(),
            "deleted": deleted,
        },
    )
    return deleted, cutoff


def server_user() -> str:
    """The server account running a command: the log's record of who ran a pruning."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in a bare container
        return "unknown"
