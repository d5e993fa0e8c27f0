"""Unlocking a username or an address before its cool-off ends, recorded in the audit log."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.db import transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import AuditEvent
from healthboard.pages.lockouts.selectors import KINDS, Lockout


def lockout_clear(*, lockout: Lockout, request: HttpRequest) -> int:
    """Delete the failed attempts that lock `lockout` out (all of them, so the count starts
    again from nothing) and record who unlocked it. The number of attempts deleted."""
    with transaction.atomic():
        deleted, _ = AccessAttempt.objects.filter(**{lockout.kind: lockout.value}).delete()
        audit_record(
            type=AuditEvent.Type.UNLOCKED,
            request=request,
            message=f"{KINDS[lockout.kind]} {lockout.value}",
            details={
                "kind": lockout.kind,
                "value": lockout.value,
                "failures": lockout.failures,
                "attempts_deleted": deleted,
            },
        )
    return deleted
