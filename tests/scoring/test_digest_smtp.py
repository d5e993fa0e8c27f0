"""One real SMTP conversation: a digest sent through Django's SMTP backend to a local SMTP
server (aiosmtpd, on 127.0.0.1 and a free port) arrives whole: multipart text and HTML, the
subject, the recipient."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from healthboard.lib.roles import CSM
from scoring.digest.send import digests_send
from tests.factories import AccountFactory, CallToActionFactory, UserFactory

NOW = dt.datetime(2026, 12, 3, 7, 5, tzinfo=dt.UTC)


class Inbox:
    """An aiosmtpd handler that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "healthboard@example.com"
    try:
        yield inbox
    finally:
        controller.stop()


def test_a_digest_goes_through_a_real_smtp_server(db, smtp_server) -> None:
    csm = UserFactory(role=CSM, email="dana@example.com", first_name="Dana")
    account = AccountFactory(owner=csm, name="Acme Anvils")
    CallToActionFactory(
        account=account, title="Call Acme about the renewal", due_date=NOW.date() - dt.timedelta(2)
    )

    assert digests_send(now=NOW) == 1

    [(sender, recipients, raw)] = smtp_server.received
    assert (sender, recipients) == ("healthboard@example.com", ["dana@example.com"])
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Healthboard digest: 1 overdue CTA"
    assert message["To"] == "dana@example.com"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert "Call Acme about the renewal" in body
        assert f"/accounts/{account.pk}/" in body
    assert "<!doctype html>" in html
