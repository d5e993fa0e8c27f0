"""Tokens: none, unknown, revoked or of a deactivated user → 401; read-only on a write →
403; over the rate limit → 429 with Retry-After; RateLimit-* headers on every answer."""

from __future__ import annotations

import datetime as dt

import pytest

from healthboard.tokens.models import ApiToken
from healthboard.tokens.services import token_revoke
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

METRICS = "/api/v1/metrics"


def test_no_token_is_401_in_json_not_a_login_redirect(client) -> None:
    response = client.get(METRICS)

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization header" in response.json()["detail"]


def test_a_malformed_header_or_unknown_token_is_401(make_token) -> None:
    _, secret = make_token()

    basic = ApiClient(None).get(METRICS, headers={"Authorization": f"Basic {secret}"})
    unknown = ApiClient(secret[:-2] + "xx").get(METRICS)

    assert basic.status_code == 401
    assert "Bearer <token>" in basic.json()["detail"]
    assert unknown.status_code == 401
    assert "not known" in unknown.json()["detail"]


def test_a_revoked_token_is_401(make_token, admin_role_user) -> None:
    token, secret = make_token()
    assert ApiClient(secret).get(METRICS).status_code == 200

    token_revoke(token=token, user=admin_role_user)
    response = ApiClient(secret).get(METRICS)

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_deactivated_owners_token_is_401(make_token, admin_role_user) -> None:
    _, secret = make_token()
    admin_role_user.is_active = False
    admin_role_user.save()

    response = ApiClient(secret).get(METRICS)

    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]


def test_only_a_hash_of_the_secret_is_stored(make_token) -> None:
    token, secret = make_token()

    stored = ApiToken.objects.get(pk=token.pk)
    assert secret.startswith(stored.prefix)
    assert secret not in {stored.secret_hash, stored.prefix}
    assert len(secret) > 40


def test_last_used_is_kept(make_token, time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC), tick=False)
    token, secret = make_token()
    assert token.last_used_at is None

    ApiClient(secret).get(METRICS)

    token.refresh_from_db()
    assert token.last_used_at == dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def test_every_answer_says_where_the_token_stands(settings, writer) -> None:
    settings.API_RATE_LIMIT = 50

    first = writer.get(METRICS)
    second = writer.get("/api/v1/accounts/NOPE")

    assert first["RateLimit-Limit"] == "50"
    assert first["RateLimit-Remaining"] == "49"
    assert second["RateLimit-Remaining"] == "48"
    assert 1 <= int(second["RateLimit-Reset"]) <= 60
    assert "Retry-After" not in second


def test_over_the_limit_is_429_with_retry_after(settings, writer, make_token, time_machine) -> None:
    # Frozen inside one window: the count cannot start again mid-test.
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, 10, tzinfo=dt.UTC), tick=False)
    settings.API_RATE_LIMIT = 2
    settings.API_RATE_WINDOW_SECONDS = 60

    answers = [writer.get(METRICS) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert refused["Retry-After"] == "50"
    assert refused["RateLimit-Limit"] == "2"
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Reset"] == "50"
    assert "retry in 50 s" in refused.json()["detail"]
    # The limit is per token: another token is not held back.
    assert ApiClient(make_token()[1]).get(METRICS).status_code == 200
    # The next window starts the count again.
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 1, 0, tzinfo=dt.UTC), tick=False)
    assert writer.get(METRICS).status_code == 200


def test_an_unknown_endpoint_is_a_json_404(client) -> None:
    response = client.get("/api/v1/nothing/here")

    assert response.status_code == 404
    assert "/api/v1/nothing/here" in response.json()["detail"]
