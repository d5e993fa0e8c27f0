"""Idle sessions end: a session lives SESSION_COOKIE_AGE (SESSION_IDLE_MINUTES) from its last
save, and a request renews it. Renewing is a database write, so it happens at most once a
minute per session rather than on every request (SESSION_SAVE_EVERY_REQUEST would make every
page view write, and every read page must not)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

SEEN = "_idle_renewed_at"
RENEW_EVERY_SECONDS = 60


def mark_renewed(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """At login (a user_logged_in receiver): the session was just saved with a full life."""
    if request is not None and hasattr(request, "session"):
        request.session[SEEN] = int(time.time())


class SessionIdleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            now = int(time.time())
            renew_every = min(RENEW_EVERY_SECONDS, settings.SESSION_COOKIE_AGE // 2)
            if now - session.get(SEEN, 0) >= renew_every:
                # Modified: saved with a new expiry, and its cookie sent again with a new age.
                session[SEEN] = now
        return self.get_response(request)
