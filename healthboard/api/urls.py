"""/api/v1/: the API's URLs. Callers authenticate with tokens, not the login session: the
site's LoginRequiredMiddleware lets them through, and a call without a token is answered
401 in JSON, not redirected to the login page. The interactive docs are a page like the
others and need a login."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path

from healthboard.api.api import api

DOCS = "openapi-view"


@login_not_required
def not_found(request: HttpRequest, rest: str) -> JsonResponse:
    return JsonResponse(
        {"detail": f"There is no API endpoint /api/v1/{rest}: see /api/v1/docs.", "errors": []},
        status=404,
    )


def _urls() -> tuple[list, str, str]:
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern) and pattern.name != DOCS:
            login_not_required(pattern.callback)
    return [*patterns, path("<path:rest>", not_found, name="not-found")], app_name, namespace


urls = _urls()
