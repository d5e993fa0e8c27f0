"""Bearer tokens: who is calling, whether they may write, and the rate limit.

Every authenticated call counts against its token's rate limit, refused ones included; the
count is kept on the request so the answer carries the RateLimit-* headers.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
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
                "No API token: send it in the Authorization header as “Bearer <token>”. "
                "Admins make tokens on the API tokens page."
            )
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise _unauthorized("The Authorization header must read “Bearer <token>”.")
        return self.authenticate(request, secret.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        found = token_authenticate(secret=token, request=request)
        if found is None:
            raise _unauthorized("This API token is not known: check that it was copied whole.")
        if found.is_revoked:
            raise _unauthorized(
                f"This API token ({found.prefix}…) was revoked on "
                f"{found.revoked_at:%Y-%m-%d}: ask an admin for a new one."
            )
        if not found.owner.is_active:
            raise _unauthorized(
                f"This API token ({found.prefix}…) belongs to a deactivated user: ask an "
                "admin for a new one."
            )
        request.api_token = found
        request.api_rate = rate = rate_take(key=str(found.pk))
        if not rate.allowed:
            raise ApiError(
                429,
                f"More than {rate.limit} requests in {settings.API_RATE_WINDOW_SECONDS} s with "
                f"this token: retry in {rate.reset} s.",
            )
        if self.write and not found.can_write:
            raise ApiError(
                403,
                f"This API token ({found.prefix}…) may only read: writing needs a read-write "
                "token.",
            )
        return found
