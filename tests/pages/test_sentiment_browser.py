"""In real Chromium: a CSM records their sentiment on their account without a reload (HTMX),
sees who set it and until when, and withdraws it after confirming."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Sentiment
from healthboard.lib.roles import CSM
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def account(db, password):
    csm = UserFactory(
        username="browser-csm", first_name="Priya", last_name="Raman", password=password, role=CSM
    )
    return AccountFactory(name="Bluebird Freight", owner=csm)


def test_a_csm_records_and_withdraws_a_sentiment(
    live_server, page: Page, password, account
) -> None:
    page.goto(f"{live_server.url}/login/?next=/accounts/{account.pk}/")
    page.get_by_label(re.compile("username", re.I)).fill(account.owner.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    expect(page.get_by_role("heading", name="CSM sentiment")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    card = page.locator("#sentiment")
    card.get_by_label("At risk").check()
    card.get_by_label("Why", exact=True).fill("Champion left; new VP silent.")
    card.get_by_role("button", name="Record sentiment").click()

    expect(card.get_by_role("status")).to_contain_text("Sentiment recorded: at risk until")
    expect(card).to_contain_text("Champion left; new VP silent.")
    expect(card).to_contain_text("Set by Priya Raman")
    assert page.evaluate("window.notReloaded") is True

    page.once("dialog", lambda dialog: dialog.accept())
    card.locator("summary", has_text="Update or withdraw").click()
    card.get_by_role("button", name="Withdraw it").click()
    expect(card.get_by_role("status")).to_contain_text("Sentiment withdrawn")
    expect(card).to_contain_text("was withdrawn on")
    assert page.evaluate("window.notReloaded") is True
    assert Sentiment.objects.get().end == "withdrawn"
