"""Idempotency-Key: a write retried with the same key (and token) answers what the first
call answered and stores nothing.

The key's row is inserted before the write, in the write's transaction: a concurrent retry
waits on the unique index until the first call commits, then replays it. Only successful
answers are kept: a refused batch wrote nothing, so its retry is checked afresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from healthboard.api.errors import ApiError
from healthboard.tokens.models import IdempotentResponse

HEADER = "Idempotency-Key"
MAX_KEY = 255
CONTENT_TYPE = "application/json; charset=utf-8"
# The header in the OpenAPI document of each write (openapi_extra=).
OPENAPI = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": MAX_KEY},
            "description": "Any unique string (a UUID): a retry with the same key answers "
            "what the first call answered and stores nothing.",
        }
    ]
}


def json_response(body: dict, *, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder), status=status, content_type=CONTENT_TYPE
    )


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def idempotent_write(request: HttpRequest, write: Callable[[], tuple[int, dict]]) -> HttpResponse:
    """Run `write` (which returns a status and a body, or raises ApiError) at most once per
    Idempotency-Key; without the header, simply run it."""
    key = request.headers.get(HEADER)
    if key is None:
        status, body = write()
        return json_response(body, status=status)
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(
            400,
            _("The %(header)s header must be 1–%(max)s printable characters (a UUID is fine).")
            % {"header": HEADER, "max": MAX_KEY},
        )
    token = request.api_token
    request.api_note["idempotency_key"] = key
    fingerprint = _fingerprint(request)
    expired = timezone.now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    with transaction.atomic():
        IdempotentResponse.objects.filter(token=token, key=key, created_at__lt=expired).delete()
        try:
            with transaction.atomic():
                kept = IdempotentResponse.objects.create(
                    token=token, key=key, request_hash=fingerprint, status=0, body=""
                )
        except IntegrityError:
            return _replay(request, token=token, key=key, fingerprint=fingerprint)
        # An ApiError (a refused batch) rolls the key back with everything else.
        status, body = write()
        kept.status, kept.body = status, json.dumps(body, cls=DjangoJSONEncoder)
        kept.save(update_fields=["status", "body"])
    response = HttpResponse(kept.body, status=status, content_type=CONTENT_TYPE)
    return response


def _replay(request: HttpRequest, *, token, key: str, fingerprint: str) -> HttpResponse:
    first = IdempotentResponse.objects.get(token=token, key=key)
    if first.request_hash != fingerprint:
        raise ApiError(
            422,
            _(
                "This %(header)s was already used for a different request: use a new key for "
                "new data."
            )
            % {"header": HEADER},
        )
    request.api_note["replayed"] = True
    response = HttpResponse(first.body, status=first.status, content_type=CONTENT_TYPE)
    response["Idempotent-Replayed"] = "true"
    return response
