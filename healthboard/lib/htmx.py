"""HTMX requests: the one place that decides between a page region and the whole page.

Built on django-htmx (`request.htmx`, set by its middleware). Each page is one template with
its regions as django-template-partials (`{% partialdef name %}`); an HTMX request that
swaps a region gets `"page.html#region"`, everything else the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render as render_template
from django.utils.cache import patch_vary_headers
from django.views.decorators.vary import vary_on_headers

HX_REQUEST = "HX-Request"


def is_fragment(request: HttpRequest) -> bool:
    """Whether the request asks for a region rather than the page.

    A boosted link navigates to the page, and a history restore (the back button after
    htmx's history cache missed) must redraw the whole page, as a reload does."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str,
    status: int | None = None,
) -> HttpResponse:
    """The `partial` of `template` for a fragment request, the whole `template` otherwise;
    either way with `Vary: HX-Request`."""
    name = f"{template}#{partial}" if is_fragment(request) else template
    response = render_template(request, name, context, status=status)
    # The same URL answers with a region or a page: caches must keep them apart.
    patch_vary_headers(response, (HX_REQUEST,))
    return response


# For views that choose by hand between a region and something else (a redirect, another
# context): every answer they give says that it depends on HX-Request.
vary_on_htmx: Callable = vary_on_headers(HX_REQUEST)
