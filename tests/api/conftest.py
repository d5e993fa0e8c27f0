"""API tests: tokens, and a client that sends them."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

from healthboard.tokens.models import ApiToken
from healthboard.tokens.services import token_create


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client()
        self.secret = secret

    def _headers(self, headers: dict | None) -> dict:
        out = dict(headers or {})
        if self.secret is not None:
            out.setdefault("Authorization", f"Bearer {self.secret}")
        return out

    def get(self, path: str, data: dict | None = None, headers: dict | None = None):
        return self.client.get(path, data or {}, headers=self._headers(headers))

    def post(self, path: str, body, headers: dict | None = None):
        return self.client.post(
            path,
            body if isinstance(body, str | bytes) else json.dumps(body),
            content_type="application/json",
            headers=self._headers(headers),
        )


@pytest.fixture
def make_token(admin_role_user) -> Callable[..., tuple[ApiToken, str]]:
    def make(scope: str = ApiToken.Scope.READ_WRITE, name: str = "CRM sync"):
        return token_create(name=name, owner=admin_role_user, scope=scope)

    return make


@pytest.fixture
def writer(make_token) -> ApiClient:
    """A client with a read-write token."""
    return ApiClient(make_token(ApiToken.Scope.READ_WRITE)[1])


@pytest.fixture
def reader(make_token) -> ApiClient:
    """A client with a read-only token."""
    return ApiClient(make_token(ApiToken.Scope.READ)[1])
