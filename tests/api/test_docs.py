"""The OpenAPI document and the interactive docs (served from static files, no CDN)."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_openapi_document_needs_no_login(client) -> None:
    schema = client.get("/api/v1/openapi.json").json()

    assert schema["info"]["title"] == "Healthboard API"
    paths = schema["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/metrics"])
    assert "post" in paths["/api/v1/signals"]
    assert "post" in paths["/api/v1/accounts"]
    assert "get" in paths["/api/v1/accounts/{external_id}"]
    assert "get" in paths["/api/v1/accounts/{external_id}/scores"]
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_the_docs_page_needs_a_login(client) -> None:
    assert client.get("/api/v1/docs").status_code == 302


def test_the_docs_page_loads_nothing_from_another_host(csm_client) -> None:
    html = csm_client.get("/api/v1/docs").content.decode()

    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    for source in sources:
        assert source.startswith("/"), source
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), source
