"""The API tokens page: Admins make (the secret shown once), list and revoke tokens; CSMs
and Managers get 403."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from healthboard.tokens.models import ApiToken
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

LIST = "/tokens/"


@pytest.mark.parametrize("who", ["csm_client", "manager_client"])
def test_csms_and_managers_get_403(request, who, make_token) -> None:
    client = request.getfixturevalue(who)
    token, _ = make_token()

    assert client.get(LIST).status_code == 403
    assert client.post(reverse("tokens:create"), {"name": "x", "scope": "read"}).status_code == 403
    assert client.post(reverse("tokens:revoke", args=[token.pk])).status_code == 403
    assert ApiToken.objects.count() == 1
    assert not ApiToken.objects.get().is_revoked


def test_only_admins_see_the_navigation_link(admin_role_client, manager_client) -> None:
    assert 'href="/tokens/"' in admin_role_client.get(LIST).content.decode()
    assert 'href="/tokens/"' not in manager_client.get("/").content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client) -> None:
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_admin_makes_a_token_and_sees_its_secret_once(admin_role_client) -> None:
    response = admin_role_client.post(
        reverse("tokens:create"), {"name": "CRM sync", "scope": "read_write"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    secret = re.search(r'value="(hb_[^"]+)"', html).group(1)
    token = ApiToken.objects.get()
    assert (token.name, token.scope) == ("CRM sync", "read_write")
    assert "will not be shown again" in html
    # The secret works …
    assert ApiClient(secret).get("/api/v1/metrics").status_code == 200
    # … and is never shown again: the list shows its prefix only.
    later = admin_role_client.get(LIST).content.decode()
    assert secret not in later
    assert f"{token.prefix}…" in later


def test_a_token_needs_a_name(admin_role_client) -> None:
    response = admin_role_client.post(reverse("tokens:create"), {"name": " ", "scope": "read"})

    assert response.status_code == 400
    assert "Name the token" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_an_admin_revokes_a_token(admin_role_client, admin_role_user, make_token) -> None:
    token, secret = make_token()

    response = admin_role_client.post(reverse("tokens:revoke", args=[token.pk]), follow=True)

    token.refresh_from_db()
    assert token.is_revoked and token.revoked_by == admin_role_user
    assert "is revoked" in response.content.decode()
    assert ApiClient(secret).get("/api/v1/metrics").status_code == 401
    # Revoking twice changes nothing.
    admin_role_client.post(reverse("tokens:revoke", args=[token.pk]))
    assert ApiToken.objects.get(pk=token.pk).revoked_at == token.revoked_at


def test_the_token_page_links_the_api_docs(admin_role_client) -> None:
    assert 'href="/api/v1/docs"' in admin_role_client.get(LIST).content.decode()
