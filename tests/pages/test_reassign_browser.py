"""Bulk reassignment in real Chromium: a Manager ticks accounts on the portfolio, picks the
new owner in the bar, and the table shows them with their new owner, the filters kept."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Account, FieldChange
from healthboard.lib.roles import CSM, MANAGER
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory, UserFactory

pytestmark = pytest.mark.browser


def test_a_manager_reassigns_two_accounts_from_the_portfolio(
    live_server, page: Page, password
) -> None:
    manager = UserFactory(
        username="browser-manager", first_name="Morgan", password=password, role=MANAGER
    )
    priya = UserFactory(username="priya", first_name="Priya", last_name="Raman", role=CSM)
    jonas = UserFactory(username="jonas", first_name="Jonas", last_name="Becker", role=CSM)
    run = ScoreRunFactory(date=timezone.localdate())
    for name, score in [("Alpha Red", 15), ("Bravo Red", 30), ("Charlie Green", 90)]:
        HealthScoreFactory(account=AccountFactory(name=name, owner=priya), run=run, score=score)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(manager.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    # Only the red ones, sorted by name: the filters must survive the reassignment.
    page.goto(live_server.url + "/?owner=all&band=red&sort=name")
    rows = page.locator("#portfolio-table tbody tr")
    expect(rows).to_have_count(2)
    bar = page.locator("#bulk-reassign")
    expect(bar).to_be_hidden()

    page.get_by_label("Select Alpha Red").check()
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("1 selected")
    page.get_by_label("Select every account on this page").check()
    expect(bar).to_contain_text("2 selected")
    owner = bar.get_by_label("Reassign selected to")
    expect(owner.locator("option", has_text="Jonas Becker")).to_have_count(1)
    owner.select_option(label="Jonas Becker")
    bar.get_by_role("button", name="Reassign").click()

    expect(page.locator("#messages")).to_contain_text("2 accounts reassigned to Jonas Becker.")
    expect(rows).to_have_count(2)
    for row in rows.all():
        expect(row).to_contain_text("Jonas Becker")
    expect(page).to_have_url(re.compile(r"band=red"))
    expect(page.locator("#bulk-reassign")).to_be_hidden()
    assert set(Account.objects.filter(owner=jonas).values_list("name", flat=True)) == {
        "Alpha Red",
        "Bravo Red",
    }
    assert Account.objects.get(name="Charlie Green").owner == priya
    assert FieldChange.objects.filter(field="owner", new_value="Jonas Becker").count() == 2
    assert problems == []
