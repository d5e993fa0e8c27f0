"""The language a page is read in: the signed-in user's saved choice wins over the browser's.

LocaleMiddleware picks the language from the chooser's cookie or Accept-Language. The user's
saved language (their profile, scoring.models.digest.DigestPreference.language) is copied
into their session when they log in or choose one, and this middleware, right after
LocaleMiddleware, activates it: no query per request, and a choice made on one computer
follows the user to the next one at their next login.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

SESSION_KEY = "_language"


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def remember_language(request: HttpRequest, response: HttpResponse | None, code: str) -> None:
    """Use `code` for this user from now on: in their session (it wins while they are signed
    in) and, with a response, in the language cookie (the login page after they log out)."""
    if code not in language_codes():
        return
    if hasattr(request, "session"):
        request.session[SESSION_KEY] = code
    translation.activate(code)
    request.LANGUAGE_CODE = code
    if response is not None:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )


class UserLanguageMiddleware:
    """After LocaleMiddleware: the language in the session (the user's saved one) wins."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        code = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if code and code in language_codes():
            translation.activate(code)
            request.LANGUAGE_CODE = code
        return self.get_response(request)
