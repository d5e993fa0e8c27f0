"""Login throttling (django-axes): five wrong passwords lock the username and the address
for the cool-off; the lockout says how long and whom to ask; Admins unlock in the admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from healthboard.lib.roles import ADMIN, CSM
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HERE, ELSEWHERE = "10.0.0.1", "10.0.0.2"


def log_in(client, username: str, password: str, ip: str = HERE):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail_five_times(client, username: str, ip: str = HERE) -> None:
    for _ in range(5):
        log_in(client, username, "wrong-password", ip)


@pytest.fixture
def casey(password):
    return UserFactory(username="casey", password=password, role=CSM)


def test_five_wrong_passwords_lock_out_the_right_one(client, casey, password) -> None:
    fail_five_times(client, "casey")

    response = log_in(client, "casey", password)

    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed log-ins" in html
    assert "locked for 15 minutes" in html and "ask an Admin" in html
    # The form is still there (the lockout is a state of the login page, not a dead end).
    assert 'name="username"' in html and 'value="casey"' in html
    assert "_auth_user_id" not in client.session


def test_four_wrong_passwords_do_not(client, casey, password) -> None:
    for _ in range(4):
        log_in(client, "casey", "wrong-password")

    assert log_in(client, "casey", password).status_code == 302


def test_another_user_from_another_address_is_not_affected(client, casey, password) -> None:
    UserFactory(username="morgan", password=password, role=CSM)
    fail_five_times(client, "casey")

    assert log_in(client, "morgan", password, ip=ELSEWHERE).status_code == 302


def test_the_username_is_locked_from_any_address(client, casey, password) -> None:
    fail_five_times(client, "casey")

    assert log_in(client, "casey", password, ip=ELSEWHERE).status_code == 429


def test_the_address_is_locked_for_any_username(client, casey, password) -> None:
    UserFactory(username="morgan", password=password, role=CSM)
    for name in ("a", "b", "c", "d", "e"):
        log_in(client, name, "guess")

    assert log_in(client, "morgan", password).status_code == 429


def test_after_the_cool_off_the_right_password_works(client, casey, password, time_machine) -> None:
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    fail_five_times(client, "casey")

    time_machine.move_to(start + dt.timedelta(minutes=14), tick=False)
    assert log_in(client, "casey", password).status_code == 429
    time_machine.move_to(start + dt.timedelta(minutes=16), tick=False)
    assert log_in(client, "casey", password).status_code == 302


def test_the_limit_and_cool_off_are_settings(client, casey, password, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        log_in(client, "casey", "wrong-password")

    assert log_in(client, "casey", password).status_code == 429


def test_an_admin_unlocks_in_the_admin(client, casey, password) -> None:
    from axes.models import AccessAttempt

    fail_five_times(client, "casey")
    admin = UserFactory(username="alex", password=password, role=ADMIN, is_staff=True)
    admin_client = type(client)()
    admin_client.force_login(admin)

    listing = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "casey" in listing.content.decode()
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    unlocked = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )

    assert unlocked.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert log_in(client, "casey", password).status_code == 302
