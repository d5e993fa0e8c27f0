"""Sessions end after SESSION_IDLE_MINUTES without a request (8 hours by default), however
long the user stays active before that; changing the password logs out every other session."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from healthboard.lib.roles import CSM
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def logged_in(username: str, password: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302
    return client


def test_an_idle_session_ends_after_eight_hours(time_machine, password) -> None:
    UserFactory(username="casey", password=password, role=CSM)
    time_machine.move_to(START, tick=False)
    client = logged_in("casey", password)

    time_machine.move_to(START + dt.timedelta(hours=8, minutes=1), tick=False)
    response = client.get(reverse("accounts:journey"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_an_active_session_stays(time_machine, password) -> None:
    UserFactory(username="casey", password=password, role=CSM)
    time_machine.move_to(START, tick=False)
    client = logged_in("casey", password)

    # A working day and a half, a request every seven hours: never idle for eight.
    for hours in (7, 14, 21, 28, 35):
        time_machine.move_to(START + dt.timedelta(hours=hours), tick=False)
        assert client.get(reverse("accounts:journey")).status_code == 200


def test_the_idle_time_is_a_setting(time_machine, password, settings) -> None:
    settings.SESSION_COOKIE_AGE = 30 * 60
    UserFactory(username="casey", password=password, role=CSM)
    time_machine.move_to(START, tick=False)
    client = logged_in("casey", password)

    time_machine.move_to(START + dt.timedelta(minutes=31), tick=False)

    assert client.get(reverse("accounts:journey")).status_code == 302


def test_a_password_change_logs_out_every_other_session(password) -> None:
    UserFactory(username="casey", password=password, role=CSM)
    laptop, phone = logged_in("casey", password), logged_in("casey", password)

    changed = laptop.post(
        reverse("preferences:password"),
        {
            "old_password": password,
            "new_password1": "a-new-long-passphrase-7",
            "new_password2": "a-new-long-passphrase-7",
        },
    )

    assert changed.status_code == 302
    # The session that changed it stays; the other one is logged out.
    assert laptop.get(reverse("accounts:journey")).status_code == 200
    assert phone.get(reverse("accounts:journey")).url.startswith(reverse("login"))
