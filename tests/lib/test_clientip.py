"""The client's address: REMOTE_ADDR unless the server is told how many proxies of its own
stand in front; then the X-Forwarded-For entry those proxies added, never one a client
wrote. The audit log and the login lockouts use the same answer."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import AuditEvent
from healthboard.lib.clientip import client_ip
from healthboard.lib.roles import CSM
from tests.factories import UserFactory

PROXY = "10.0.0.1"


def request(forwarded: str | None = None, remote: str = PROXY):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_a_proxy_the_forwarded_header_is_ignored(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_ip(request("203.0.113.9")) == PROXY


@pytest.mark.parametrize(
    ("forwarded", "proxies", "expected"),
    [
        ("203.0.113.9", 1, "203.0.113.9"),
        # A client that sends its own header: the proxy appends the real address.
        ("6.6.6.6, 203.0.113.9", 1, "203.0.113.9"),
        # Two proxies of ours: the outer one's entry is the client's.
        ("6.6.6.6, 203.0.113.9, 10.0.0.2", 2, "203.0.113.9"),
        ("2001:db8::1", 1, "2001:db8::1"),
        # Fewer entries than proxies: not through ours; not an address: a broken proxy.
        ("203.0.113.9", 2, PROXY),
        ("", 1, PROXY),
        ("203.0.113.9:5555", 1, PROXY),
        ("not-an-address", 1, PROXY),
    ],
)
def test_behind_trusted_proxies(settings, forwarded, proxies, expected) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies

    assert client_ip(request(forwarded)) == expected


def test_no_request_no_address() -> None:
    assert client_ip(None) is None


@pytest.mark.django_db
def test_sign_ins_and_lockouts_use_the_clients_address_behind_the_proxy(settings, password) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="casey", password=password, role=CSM)
    UserFactory(username="morgan", password=password, role=CSM)

    def log_in(username: str, secret: str, address: str):
        return Client().post(
            reverse("login"),
            {"username": username, "password": secret},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=address,
        )

    for name in ("a", "b", "c", "d", "e"):
        log_in(name, "guess", "203.0.113.9")

    # The guesser's address is locked, not the proxy's: another client signs in.
    assert log_in("morgan", password, "198.51.100.4").status_code == 302
    assert log_in("casey", password, "203.0.113.9").status_code == 429
    failed = AuditEvent.objects.filter(type=AuditEvent.Type.LOGIN_FAILED).first()
    assert failed.ip == "203.0.113.9"
