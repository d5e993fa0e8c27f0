"""The HTMX helper: which requests get a region, and the Vary header on every answer."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from healthboard.lib import htmx

HX = {"HTTP_HX_REQUEST": "true"}


def make_request(**headers):
    request = RequestFactory().get("/", **headers)
    HtmxMiddleware(lambda r: HttpResponse())(request)
    return request


@pytest.mark.parametrize(
    "headers, fragment",
    [
        ({}, False),
        (HX, True),
        ({**HX, "HTTP_HX_BOOSTED": "true"}, False),
        ({**HX, "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}, False),
    ],
    ids=["plain", "htmx", "boosted", "history-restore"],
)
def test_only_a_plain_htmx_request_is_a_fragment_request(headers, fragment) -> None:
    assert htmx.is_fragment(make_request(**headers)) is fragment


def test_a_request_without_the_middleware_is_not_a_fragment_request() -> None:
    assert not htmx.is_fragment(RequestFactory().get("/", **HX))


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    names: list[str] = []

    def render_template(request, name, context, status=None):
        names.append(name)
        return HttpResponse(name, status=status)

    monkeypatch.setattr(htmx, "render_template", render_template)
    return names


@pytest.mark.parametrize(
    "headers, template",
    [
        ({}, "page.html"),
        (HX, "page.html#table"),
        ({**HX, "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}, "page.html"),
        ({**HX, "HTTP_HX_BOOSTED": "true"}, "page.html"),
    ],
    ids=["plain", "htmx", "history-restore", "boosted"],
)
def test_render_gives_the_partial_or_the_page_and_always_varies(
    rendered, headers, template
) -> None:
    response = htmx.render(make_request(**headers), "page.html", {}, partial="table")

    assert rendered == [template]
    assert "HX-Request" in response["Vary"]


def test_the_decorator_marks_every_answer() -> None:
    @htmx.vary_on_htmx
    def view(request):
        return HttpResponse(status=302)

    assert view(make_request())["Vary"] == "HX-Request"
