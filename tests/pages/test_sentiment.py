"""The CSM's sentiment on the account page: every role reads it, the account's CSM, Managers
and Admins set and withdraw it (others get 403), bad input is refused at the field, the
history keeps who did what and when, an expired one says so, in bounded queries."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Sentiment, Signal
from tests.factories import AccountFactory, UserFactory

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
HX = {"HTTP_HX_REQUEST": "true"}
# The account page's budget (tests/pages/test_account.py), which counts the sentiments' query.
MAX_QUERIES = 16


@pytest.fixture(autouse=True)
def sessions_outlive_the_days_travelled(settings):
    """These tests move the clock days ahead between requests of the same logged-in users;
    with the 8-hour idle timeout they would be logged out (tests/auth/test_sessions.py)."""
    settings.SESSION_COOKIE_AGE = 30 * 24 * 60 * 60


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def account(csm_user):
    return AccountFactory(name="Acme Logistics", owner=csm_user)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def post(client, account, name="sentiment_set", htmx=True, **data):
    return client.post(reverse(f"accounts:{name}", args=[account.pk]), data, **(HX if htmx else {}))


def valid(**changes) -> dict:
    return {
        "level": "at_risk",
        "reason": "Their champion left last week.",
        "expires_on": (TODAY + dt.timedelta(days=30)).isoformat(),
    } | changes


def detail(client, account) -> str:
    return text_of(client.get(reverse("accounts:detail", args=[account.pk])).content.decode())


@pytest.mark.parametrize("who", ["csm_client", "manager_client", "admin_role_client"])
def test_the_owner_a_manager_and_an_admin_set_it(request, who, account) -> None:
    client = request.getfixturevalue(who)
    response = post(client, account, **valid())
    assert response.status_code == 200
    text = text_of(response.content.decode())
    assert "Sentiment recorded: at risk until 21 Dec 2026." in text
    assert "Their champion left last week." in text
    assert "counts until 21 Dec 2026, expires on 22 Dec 2026" in text
    assert "<html" not in response.content.decode()
    user = request.getfixturevalue(who.replace("client", "user"))
    assert Sentiment.objects.get().set_by == user
    assert Signal.objects.filter(account=account, source="csm").count() == 2


def test_another_csm_reads_it_but_cannot_set_or_withdraw_it(client, account) -> None:
    services.sentiment_set(
        account=account,
        level="unhealthy",
        reason="Budget cut announced",
        expires_on=TODAY + dt.timedelta(days=10),
        user=account.owner,
    )
    other = UserFactory(username="other-csm", role="CSM")
    client.force_login(other)
    text = detail(client, account)
    assert "CSM sentiment" in text and "Unhealthy" in text and "Budget cut announced" in text
    assert "Set by Casey Tester on 22 Nov 2026, 09:00" in text
    assert "Only the owner (Casey Tester), a manager or an admin can set the sentiment" in text
    assert "Record sentiment" not in text and "Withdraw it" not in text
    assert post(client, account, **valid()).status_code == 403
    assert post(client, account, "sentiment_withdraw").status_code == 403
    assert Sentiment.objects.get().is_current()


def test_anonymous_users_are_sent_to_log_in(client, account) -> None:
    response = post(client, account, htmx=False, **valid())
    assert response.status_code == 302 and "/login" in response["Location"]
    assert not Sentiment.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (valid(reason="  "), "Say why: a sentiment needs a reason."),
        (valid(level=""), "Pick healthy, at risk or unhealthy."),
        (valid(level="ecstatic"), "Select a valid choice."),
        (valid(expires_on=TODAY.isoformat()), "The expiry must be after today."),
        (valid(expires_on="2027-02-30"), "Enter a date, e.g. 2027-01-31."),
        (valid(expires_on="2027-12-01"), "A sentiment counts for at most 365 days"),
    ],
)
def test_bad_input_is_refused_at_the_field_and_nothing_written(csm_client, account, data, error):
    response = post(csm_client, account, **data)
    assert response.status_code == 200
    assert error in text_of(response.content.decode())
    assert not Sentiment.objects.exists() and not Signal.objects.exists()


def test_a_plain_post_redirects_and_a_bad_one_shows_the_page(csm_client, account) -> None:
    bad = post(csm_client, account, htmx=False, **valid(reason=""))
    assert bad.status_code == 200 and "<html" in bad.content.decode()
    assert "Say why" in text_of(bad.content.decode())
    good = post(csm_client, account, htmx=False, **valid())
    assert good.status_code == 302 and good["Location"].endswith(f"/{account.pk}/#sentiment")
    assert "Sentiment recorded" in detail(csm_client, account)


def test_the_history_keeps_who_replaced_and_withdrew_it(
    csm_client, manager_client, manager_user, account, clock
) -> None:
    post(csm_client, account, **valid(level="healthy", reason="Renewal signed early"))
    clock.move_to(NOW + dt.timedelta(days=2))
    post(manager_client, account, **valid(level="unhealthy", reason="Escalation from the CEO"))
    clock.move_to(NOW + dt.timedelta(days=3))
    response = post(manager_client, account, "sentiment_withdraw")
    text = text_of(response.content.decode())
    assert "Sentiment withdrawn: it no longer counts in the score." in text
    assert "The last sentiment (unhealthy) was withdrawn on 25 Nov 2026" in text
    assert "replaced on 24 Nov 2026 by Morgan Tester" in text
    assert "withdrawn on 25 Nov 2026 by Morgan Tester" in text
    again = post(manager_client, account, "sentiment_withdraw")
    assert "There is no current sentiment to withdraw." in text_of(again.content.decode())
    ends = list(Sentiment.objects.order_by("set_at").values_list("end", "ended_by"))
    assert ends == [("replaced", manager_user.pk), ("withdrawn", manager_user.pk)]


def test_an_expired_sentiment_says_so(csm_client, account, clock) -> None:
    post(csm_client, account, **valid(expires_on=(TODAY + dt.timedelta(days=3)).isoformat()))
    clock.move_to(NOW + dt.timedelta(days=3))
    text = detail(csm_client, account)
    assert "The last sentiment (at risk) expired on 25 Nov 2026" in text
    assert "the measure has no data until a new one is set" in text
    assert "expired on 25 Nov 2026" in text


def test_the_form_offers_thirty_days_by_default(csm_client, account) -> None:
    html = csm_client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert 'value="2026-12-22"' in html and 'min="2026-11-23"' in html
    assert "No sentiment recorded." in text_of(html)


def test_the_page_reads_many_sentiments_in_bounded_queries(
    manager_client, account, clock, django_assert_max_num_queries
) -> None:
    for n in range(15):
        clock.move_to(NOW - dt.timedelta(days=60 - n))
        services.sentiment_set(
            account=account,
            level="healthy",
            reason=f"Check {n}",
            expires_on=(NOW - dt.timedelta(days=60 - n)).date() + dt.timedelta(days=30),
            user=UserFactory(),
        )
    clock.move_to(NOW)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = manager_client.get(reverse("accounts:detail", args=[account.pk]))
    text = text_of(response.content.decode())
    assert "History (10+)" in text and "The 10 latest; older ones are kept too." in text
