"""Recording audit events (accounts.AuditEvent): one function every layer calls.

Recording never breaks what it records: a failure is logged and the action goes on. The
event is written in a savepoint of its own, so a failed INSERT inside the caller's
transaction does not poison it."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditEvent
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

