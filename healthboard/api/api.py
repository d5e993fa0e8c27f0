"""The NinjaAPI behind /api/v1/: its routers, its JSON errors, and the wrapper every call
passes through (the request's size, the RateLimit-* headers, the record of write calls)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from healthboard.api import accounts, metrics, signals
from healthboard.api.errors import ApiError, validation_errors
from healthboard.lib.numbers import number_text
from healthboard.tokens.models import ApiCall

DESCRIPTION = """\
Accounts, metrics and signals in; scores out.

**Authentication**: `Authorization: Bearer <token>`. Admins make tokens on the API tokens
page: *read* tokens call the GET endpoints, *read-write* tokens all of them.

**Limits**: {rate} requests per {window} s per token (every answer says where you stand in
its `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers; over the limit,
`429` with `Retry-After`). Batches: up to 5,000 accounts, 10,000 signals or 1,000 metrics.

**Writes** are checked whole, as a CSV import is: a batch with a bad item is refused with
every bad item's index, field and reason, and nothing is written. Re-sent items are stored
once. Send an `Idempotency-Key` header (a UUID) to retry a write safely: the retry answers
what the first call answered and stores nothing.
"""

api = NinjaAPI(
    title="Healthboard API",
    version="1",
    description=DESCRIPTION.format(
        rate=f"{settings.API_RATE_LIMIT:,}", window=settings.API_RATE_WINDOW_SECONDS
    ),
    urls_namespace="api",
)
api.add_router("/accounts", accounts.router)
api.add_router("/metrics", metrics.router)
api.add_router("/signals", signals.router)


def _error(request: HttpRequest, status: int, body: dict, headers=None) -> HttpResponse:
    response = api.create_response(request, body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error(request, exc.status, exc.body(), exc.headers)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = validation_errors(exc.errors)
    where = ", ".join(e["location"] for e in errors[:5]) + (" …" if len(errors) > 5 else "")
    return _error(
        request,
        422,
        {
            "detail": _("The request is not valid (%(where)s): nothing was written.")
            % {"where": where},
            "errors": errors,
        },
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # django-ninja's own refusals, e.g. a body that is not JSON.
    return _error(request, exc.status_code, {"detail": str(exc), "errors": []})


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _through(run: Callable) -> Callable:
    """Around every operation: refuse a body over API_MAX_BODY_BYTES, put the RateLimit-*
    headers on the answer, and record each write call with its token."""

    @wraps(run)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        started = time.monotonic()
        request.api_note = {}
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.API_MAX_BODY_BYTES:
            return _error(
                request,
                413,
                {
                    "detail": _(
                        "The request body (%(length)s bytes) is over the API's limit of "
                        "%(limit)s bytes: send smaller batches."
                    )
                    % {
                        "length": number_text(length),
                        "limit": number_text(settings.API_MAX_BODY_BYTES),
                    },
                    "errors": [],
                },
            )
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            # Django refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (meant for forms) when
            # request.body is first read; a batch of 10,000 signals can be larger. Read it
            # here, under the API's own limit, as HttpRequest.body would.
            request._body = request.read()
        response = run(request, *args, **kwargs)
        rate = getattr(request, "api_rate", None)
        if rate is not None:
            for name, value in rate.headers().items():
                response[name] = value
        token = getattr(request, "api_token", None)
        if request.method not in SAFE_METHODS and token is not None and response.status_code != 429:
            note = request.api_note
            ApiCall.objects.create(
                token=token,
                method=request.method,
                path=request.path[:200],
                status=response.status_code,
                items=note.get("items"),
                written=note.get("written"),
                idempotency_key=note.get("idempotency_key", ""),
                replayed=note.get("replayed", False),
                duration_ms=round(1000 * (time.monotonic() - started)),
            )
        return response

    return wrapped


api.add_decorator(_through, mode="view")
