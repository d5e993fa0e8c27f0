"""Who is locked out of signing in now (django-axes' failed attempts), as the lockout check
counts them: failures summed per username and per address, over the cool-off."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

# What a lockout is kept by (AXES_LOCKOUT_PARAMETERS' words), as the page names them.
KINDS = {"username": "Username", "ip_address": "Address"}


@dataclass(frozen=True)
class Lockout:
    kind: str  # "username" or "ip_address"
    value: str
    failures: int
    last_at: dt.datetime
    until: dt.datetime

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def lockout_kinds() -> list[str]:
    """The kinds this server locks by (a combination such as ["username", "ip_address"]
    counts as its own parts here: unlocking either part clears it)."""
    kinds = []
    for parameter in settings.AXES_LOCKOUT_PARAMETERS:
        for kind in parameter if isinstance(parameter, list | tuple) else [parameter]:
            if kind in KINDS and kind not in kinds:
                kinds.append(kind)
    return kinds


def lockouts_current(*, now: dt.datetime | None = None) -> list[Lockout]:
    """Usernames and addresses at or over the failure limit within the cool-off, the most
    recent first. One query per kind (two at most)."""
    now = now or timezone.now()
    since = now - settings.AXES_COOLOFF_TIME
    found: list[Lockout] = []
    for kind in lockout_kinds():
        rows = (
            AccessAttempt.objects.filter(attempt_time__gt=since)
            .exclude(**{f"{kind}__isnull": True})
            .values(kind)
            .annotate(failures=Sum("failures_since_start"), last_at=Max("attempt_time"))
            .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        )
        found += [
            Lockout(
                kind=kind,
                value=row[kind],
                failures=row["failures"],
                last_at=row["last_at"],
                until=row["last_at"] + settings.AXES_COOLOFF_TIME,
            )
            for row in rows
        ]
    return sorted(found, key=lambda lockout: lockout.last_at, reverse=True)
