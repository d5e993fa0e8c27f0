"""The password change page: every logged-in user, whatever their role, from the user menu;
Django's password validators apply."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = "a-new-long-passphrase-7"


def change(client, old: str, new1: str, new2: str | None = None):
    return client.post(
        reverse("preferences:password"),
        {"old_password": old, "new_password1": new1, "new_password2": new2 or new1},
    )


@pytest.mark.parametrize("role", ["csm", "manager", "admin_role"])
def test_every_role_changes_their_password(request, role, password) -> None:
    client = request.getfixturevalue(f"{role}_client")
    user = request.getfixturevalue(f"{role}_user")

    page = client.get(reverse("home"))
    assert f'href="{reverse("preferences:password")}"' in page.content.decode()
    form = client.get(reverse("preferences:password"))
    assert form.status_code == 200
    assert 'name="old_password"' in form.content.decode()

    response = change(client, password, NEW)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert "Your password is changed" in client.get(response.url).content.decode()


def test_a_user_without_a_role_changes_theirs_too(client, password) -> None:
    user = UserFactory(username="norole", password=password)
    client.force_login(user)

    assert change(client, password, NEW).status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW)


def test_anonymous_visitors_are_sent_to_log_in(client) -> None:
    response = client.get(reverse("preferences:password"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("wrong", NEW, "Your old password was entered incorrectly"),
        (None, "short", "This password is too short"),
        (None, "password123", "This password is too common"),
        (None, "84738295018", "This password is entirely numeric"),
    ],
)
def test_bad_passwords_are_refused_with_the_reason(csm_client, csm_user, password, old, new, error):
    response = change(csm_client, old or password, new)

    assert response.status_code == 400
    assert error in response.content.decode()
    csm_user.refresh_from_db()
    assert csm_user.check_password(password)


def test_the_two_new_passwords_must_match(csm_client, password) -> None:
    response = change(csm_client, password, NEW, NEW + "x")

    assert response.status_code == 400
    assert "didn’t match" in response.content.decode()
