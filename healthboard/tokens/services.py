"""Making, revoking and checking API tokens (services: keyword-only, <entity>_<action>)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db.models import QuerySet
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent
from healthboard.tokens.models import ApiToken

# "hb_" marks a Healthboard token (secret scanners and people recognise it); 32 random bytes
# follow. The first PREFIX_LENGTH characters are kept in clear to tell tokens apart.
TOKEN_PREFIX = "hb_"
PREFIX_LENGTH = 12
# last_used_at is written at most this often per token: not one UPDATE per request.
LAST_USED_EVERY = dt.timedelta(minutes=1)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, name: str, owner, scope: str, request=None) -> tuple[ApiToken, str]:
    """A new token and its secret, which is not stored and cannot be shown again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name.strip(),
        owner=owner,
        scope=scope,
        prefix=secret[:PREFIX_LENGTH],
        secret_hash=secret_hash(secret),
    )
    audit_record(
        type=AuditEvent.Type.TOKEN_CREATED,
        request=request,
        actor=owner,
        obj=token,
        details={"scope": scope},
    )
    return token, secret


def token_revoke(*, token: ApiToken, user, request=None) -> bool:
    """Revoke the token (for good). False when it already was."""
    # Conditional update: two admins revoking at once record the first.
    done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=user
    )
    token.refresh_from_db(fields=["revoked_at", "revoked_by"])
    if done:
        audit_record(type=AuditEvent.Type.TOKEN_REVOKED, request=request, actor=user, obj=token)
    return bool(done)


def token_authenticate(*, secret: str, request=None) -> ApiToken | None:
    """The token with this secret, revoked or not (the caller says which is which), or None.
    One query (two when last_used_at is due; three when that is the first use of the hour,
    recorded in the audit log with the request's address)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("owner").filter(secret_hash=secret_hash(secret)).first()
    if token is not None and not token.is_revoked:
        now = timezone.now()
        last = token.last_used_at
        if last is None or now - last >= LAST_USED_EVERY:
            # Conditional on the value read: of two requests at once, one writes (and may
            # record the use below), the other finds it done.
            moved = ApiToken.objects.filter(pk=token.pk, last_used_at=last).update(last_used_at=now)
            token.last_used_at = now
            if moved and _first_use_this_hour(last, now):
                audit_record(
                    type=AuditEvent.Type.TOKEN_USED,
                    request=request,
                    actor=token.owner,
                    obj=token,
                    message="First use this hour",
                )
    return token


def _first_use_this_hour(last: dt.datetime | None, now: dt.datetime) -> bool:
    """Token use is recorded once per token per clock hour: last_used_at already says when
    it was last used, so the audit log costs no read and at most 24 rows a day a token."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    return last is None or last < hour


def token_rows() -> QuerySet[ApiToken]:
    """Every token with its owner, active ones first, newest first (the token page). One
    query."""
    return ApiToken.objects.select_related("owner", "revoked_by")
