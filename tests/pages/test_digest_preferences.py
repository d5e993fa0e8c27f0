"""The e-mail digest's preference page: every role opens it and saves their choice; a user
without a role gets 403; bad input is refused field by field and nothing is saved."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from scoring.models.digest import Digest, DigestPreference
from tests.factories import AccountFactory, CallToActionFactory, UserFactory

URL = reverse("preferences:digest")
NOW = dt.datetime(2026, 12, 3, 7, 5, tzinfo=dt.UTC)  # a Thursday
# Session, user, role (groups), the preference, the last digests.
MAX_QUERIES = 6
INVALID = "Select a valid choice."
ZONE = "a time zone name such as Europe/Berlin."


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client", "admin_role_client"])
def test_every_role_sees_the_defaults(
    request, client_fixture, time_machine, django_assert_max_num_queries
) -> None:
    client = request.getfixturevalue(client_fixture)
    time_machine.move_to(NOW, tick=False)

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>E-mail digest</h1>" in html
    assert re.search(r'value="daily"[^>]* checked>', html)
    form = response.context["form"]
    assert (form["frequency"].value(), form["time_zone"].value(), form["hour"].value()) == (
        "daily",
        "UTC",
        7,
    )
    # 07:05: today's has gone (or had nothing to say); the next is tomorrow's.
    assert "Friday 4 December at 07:00 (UTC)" in html
    assert 'aria-current="page">E-mail digest</a>' in html
    # Nothing saved by looking.
    assert not DigestPreference.objects.exists()


def test_a_user_without_a_role_is_refused(client, db) -> None:
    client.force_login(UserFactory())

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"frequency": "never"}).status_code == 403
    assert not DigestPreference.objects.exists()


def test_anonymous_visitors_go_to_the_login_page(client) -> None:
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_csm_chooses_weekly_in_their_time_zone(csm_client, csm_user, time_machine) -> None:
    time_machine.move_to(NOW, tick=False)
    choice = {"frequency": "weekly", "weekday": "4", "time_zone": "Europe/Berlin", "hour": "8"}

    response = csm_client.post(URL, choice, follow=True)

    assert response.redirect_chain == [(URL, 302)]
    html = response.content.decode()
    assert "Your digest settings are saved." in html
    assert "Friday 4 December at 08:00 (Europe/Berlin)" in html
    saved = DigestPreference.objects.get(user=csm_user)
    assert (saved.frequency, saved.weekday, saved.time_zone, saved.hour) == (
        "weekly",
        4,
        "Europe/Berlin",
        8,
    )
    # Saved again: still one row, now never.
    csm_client.post(URL, {**choice, "frequency": "never"})
    assert DigestPreference.objects.get().frequency == "never"
    assert "None: you chose never." in csm_client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("time_zone", "Mars/Olympus", f"“Mars/Olympus” is not {ZONE}"),
        ("hour", "24", "Choose an hour from 00:00 to 23:00."),
        ("frequency", "hourly", f"{INVALID} hourly is not one of the available choices."),
        ("weekday", "7", f"{INVALID} 7 is not one of the available choices."),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(csm_client, field, value, error) -> None:
    choice = {"frequency": "daily", "weekday": "0", "time_zone": "UTC", "hour": "7", field: value}

    response = csm_client.post(URL, choice)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Not saved: fix the fields marked below." in html
    assert response.context["form"].errors == {field: [error]}
    assert not DigestPreference.objects.exists()


def test_it_lists_the_last_digests(csm_client, csm_user) -> None:
    Digest.objects.create(
        user=csm_user,
        day=dt.date(2026, 12, 2),
        status=Digest.Status.SENT,
        new_ctas=2,
        overdue_ctas=1,
        band_changes=1,
    )
    Digest.objects.create(user=csm_user, day=dt.date(2026, 12, 3), status=Digest.Status.EMPTY)
    Digest.objects.create(user=UserFactory(), day=dt.date(2026, 12, 3))

    html = csm_client.get(URL).content.decode()

    assert "Thu 3 Dec 2026: nothing to report" in html
    assert "Wed 2 Dec 2026: sent (1 overdue, 2 new, 1 band change)" in html
    assert html.count("<li>Thu 3 Dec 2026") == 1


PREVIEW = reverse("preferences:digest_preview")
# Session, user, role, nav count, preference, newest run, last digest, the run compared
# with, new and overdue CTAs, band changes.
PREVIEW_MAX_QUERIES = 11


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client", "admin_role_client"])
def test_the_preview_is_the_email_as_it_would_go_now(
    request, client_fixture, django_assert_max_num_queries
) -> None:
    client = request.getfixturevalue(client_fixture)
    user = client.get(URL).context["user"]
    account = AccountFactory(owner=user, name="Acme Anvils")
    cta = CallToActionFactory(
        account=account, title="Call Acme", due_date=timezone.localdate() - dt.timedelta(days=2)
    )

    with django_assert_max_num_queries(PREVIEW_MAX_QUERIES):
        response = client.get(PREVIEW)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Overdue calls to action (1)" in html
    assert f"/actions/{cta.pk}/" in html and "2 days overdue" in html
    # Looking sends nothing and claims no day.
    assert not Digest.objects.filter(user=user).exists()


def test_the_preview_says_when_there_is_nothing_to_report(csm_client) -> None:
    html = csm_client.get(PREVIEW).content.decode()

    assert "nothing to report." in html


def test_the_preview_refuses_a_user_without_a_role(client, db) -> None:
    client.force_login(UserFactory())

    assert client.get(PREVIEW).status_code == 403


def test_the_preview_may_use_the_emails_style_attributes_and_no_script(csm_client) -> None:
    """The sent e-mail is styled by style attributes: refused by the pages' CSP, the preview
    showed unstyled text (and the hidden preheader)."""
    policy = csm_client.get(PREVIEW)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert "'unsafe-inline'" in directives["style-src"]
    assert "'unsafe-inline'" not in directives["script-src"]
