"""Bearer tokens: who is calling, whether they may write, and the rate limit.

Every authenticated call counts against its token's rate limit, refused ones included; the
count is kept on the request so the answer carries the RateLimit-* headers.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from healthboard.api.errors import ApiError
from healthboard.api.ratelimit import rate_take
from healthboard.tokens.models import ApiToken
from healthboard.tokens.services import token_authenticate

UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="healthboard"'}


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, headers=UNAUTHORIZED)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer hb_…`. TokenAuth(write=True) also requires a read-write token."""

    def __init__(self, *, write: bool = False) -> None:
        super().__init__()
        self.write = write

    def __call__(self, request: HttpRequest) -> ApiToken:
        header = request.headers.get("Authorization", "")
        if not header:
            raise _unauthorized(
                _(
                    "No API token: send it in the Authorization header as “Bearer <token>”. "
                    "Admins make tokens on the API tokens page."
                )
            )
        scheme, _sep, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise _unauthorized(_("The Authorization header must read “Bearer <token>”."))
        return self.authenticate(request, secret.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        found = token_authenticate(secret=token, request=request)
        if found is None:
            raise _unauthorized(_("This API token is not known: check that it was copied whole."))
        if found.is_revoked:
            raise _unauthorized(
                _(
                    "This API token (%(prefix)s…) was revoked on %(day)s: ask an admin for a "
                    "new one."
                )
                % {"prefix": found.prefix, "day": f"{found.revoked_at:%Y-%m-%d}"}
            )
        if not found.owner.is_active:
            raise _unauthorized(
                _(
                    "This API token (%(prefix)s…) belongs to a deactivated user: ask an admin "
                    "for a new one."
                )
                % {"prefix": found.prefix}
            )
        request.api_token = found
        request.api_rate = rate = rate_take(key=str(found.pk))
        if not rate.allowed:
            raise ApiError(
                429,
                _(
                    "More than %(limit)s requests in %(window)s s with this token: retry in "
                    "%(reset)s s."
                )
                % {
                    "limit": rate.limit,
                    "window": settings.API_RATE_WINDOW_SECONDS,
                    "reset": rate.reset,
                },
            )
        if self.write and not found.can_write:
            raise ApiError(
                403,
                _("This API token (%(prefix)s…) may only read: writing needs a read-write token.")
                % {"prefix": found.prefix},
            )
        return found
