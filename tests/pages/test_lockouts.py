"""Sign-in lockouts in the app: Admins (the role, not only superusers) see the usernames and
addresses locked out now and unlock one; the unlock is audited; CSMs and Managers get 403."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from healthboard.lib.roles import CSM
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HERE, ELSEWHERE = "10.0.0.1", "10.0.0.2"
PAGE, UNLOCK = reverse("audit:lockouts"), reverse("audit:unlock")


def log_in(client: Client, username: str, password: str, ip: str = HERE):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


@pytest.fixture
def casey(password):
    return UserFactory(username="casey", password=password, role=CSM)


@pytest.fixture
def casey_locked_out(casey) -> None:
    stranger = Client()
    for _ in range(5):
        log_in(stranger, "casey", "wrong-password")


def unlock(client: Client, kind: str, value: str):
    return client.post(UNLOCK, {"kind": kind, "value": value}, REMOTE_ADDR=ELSEWHERE)


@pytest.mark.parametrize("role", ["csm", "manager"])
def test_csms_and_managers_neither_see_nor_unlock(request, role, casey_locked_out) -> None:
    client = request.getfixturevalue(f"{role}_client")

    assert client.get(PAGE).status_code == 403
    assert unlock(client, "username", "casey").status_code == 403
    assert AccessAttempt.objects.filter(username="casey").exists()
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.UNLOCKED).exists()


def test_an_admin_sees_the_username_and_the_address_locked_out(
    admin_role_client, casey_locked_out, django_assert_max_num_queries
) -> None:
    # Session, user, role (groups), one query per kind of lockout, the nav's CTA count.
    with django_assert_max_num_queries(8):
        response = admin_role_client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong class="lk-value">casey</strong>' in html
    assert f'<strong class="lk-value">{HERE}</strong>' in html
    assert 'aria-label="Unlock username casey"' in html
    shown = {(lk.kind, lk.value, lk.failures) for lk in response.context["lockouts"]}
    assert shown == {("username", "casey", 5), ("ip_address", HERE, 5)}


def test_nobody_locked_out_is_said_in_words(admin_role_client, casey) -> None:
    for _ in range(4):  # one short of the limit
        log_in(Client(), "casey", "wrong-password")

    html = admin_role_client.get(PAGE).content.decode()

    assert "Nobody is locked out" in html


def test_unlocking_the_username_lets_them_sign_in_and_is_audited(
    admin_role_client, admin_role_user, casey, casey_locked_out, password
) -> None:
    # Casey, from another address (the locked one stays locked: a separate lockout).
    assert log_in(Client(), "casey", password, ip=ELSEWHERE).status_code == 429

    response = unlock(admin_role_client, "username", "casey")

    assert response.status_code == 302 and response.url == PAGE
    assert log_in(Client(), "casey", password, ip=ELSEWHERE).status_code == 302
    event = AuditEvent.objects.get(type=AuditEvent.Type.UNLOCKED)
    assert event.actor == admin_role_user
    assert event.ip == ELSEWHERE
    assert event.message == "Username casey"
    assert event.details["failures"] >= 5 and event.details["attempts_deleted"] >= 1
    page = admin_role_client.get(PAGE)
    assert "casey is unlocked" in page.content.decode()


def test_unlocking_the_address_clears_it_for_every_username(
    admin_role_client, casey, password
) -> None:
    UserFactory(username="morgan", password=password, role=CSM)
    for name in ("a", "b", "c", "d", "e"):
        log_in(Client(), name, "guess")
    assert log_in(Client(), "morgan", password).status_code == 429

    unlock(admin_role_client, "ip_address", HERE)

    assert log_in(Client(), "morgan", password).status_code == 302


def test_unlocking_what_is_not_locked_says_so_and_records_nothing(admin_role_client, casey) -> None:
    response = admin_role_client.post(UNLOCK, {"kind": "username", "value": "casey"}, follow=True)

    assert "casey is not locked out (any more): nothing to unlock." in response.content.decode()
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.UNLOCKED).exists()


def test_a_lockout_past_its_cool_off_is_not_listed(admin_role_client, casey, time_machine) -> None:
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    for _ in range(5):
        log_in(Client(), "casey", "wrong-password")
    time_machine.move_to(start + dt.timedelta(minutes=16), tick=False)

    assert admin_role_client.get(PAGE).context["lockouts"] == []


def test_a_bad_kind_is_refused_plainly(admin_role_client) -> None:
    response = admin_role_client.post(UNLOCK, {"kind": "password", "value": "x"}, follow=True)

    assert response.status_code == 200
    assert "password is not one of the available choices" in response.content.decode()
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.UNLOCKED).exists()
