"""The action lists in real Chromium: a Manager opens the lists from the navigation, sorts
the collections, filters them, and opens a pain point's accounts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from healthboard.lib.roles import MANAGER
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    MetricFactory,
    ScoreRunFactory,
    SignalFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser


def _rows(page: Page):
    return page.locator("#list-results tbody tr")


def test_a_manager_sorts_and_filters_a_list(live_server, page: Page, password) -> None:
    manager = UserFactory(username="browser-manager", password=password, role=MANAGER)
    run = ScoreRunFactory(date=timezone.localdate())
    yesterday = timezone.now() - dt.timedelta(days=1)
    for name, score, arr, days_late in [
        ("Late Small Red", 20, "10000", 40),
        ("Late Big Yellow", 55, "900000", 5),
        ("On Time", 80, "50000", 0),
    ]:
        account = AccountFactory(name=name, owner=manager, arr=Decimal(arr))
        HealthScoreFactory(account=account, run=run, score=score)
        for key, value, category in [
            ("invoice_days_late", days_late, ""),
            ("support_tickets", 2, "billing"),
        ]:
            SignalFactory(
                account=account,
                metric=MetricFactory(key=key),
                value=value,
                category=category,
                observed_at=yesterday,
            )
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(manager.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("networkidle")

    page.get_by_role("link", name="Action lists").click()
    expect(page.get_by_role("heading", name="Advocates")).to_be_visible()
    page.get_by_role("link", name="Collections").click()

    # Most days late first; the ARR heading sorts by ARR, through HTMX, the URL pushed.
    expect(_rows(page)).to_have_count(2)
    expect(_rows(page).first).to_contain_text("Late Small Red")
    page.locator("#list-results thead").get_by_role("link", name="ARR").click()
    expect(page).to_have_url(re.compile(r"sort=-arr"))
    expect(_rows(page).first).to_contain_text("Late Big Yellow")

    # The health filter narrows the list and keeps the sort.
    page.locator("#list-filters").get_by_label("Unhealthy").check()
    expect(page).to_have_url(re.compile(r"band=red"))
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text("Late Small Red")

    # A pain point opens the at-risk accounts it touched.
    page.get_by_role("link", name="Pain points").click()
    page.locator("#list-results").get_by_role("link", name="billing").click()
    expect(page).to_have_url(re.compile(r"category=billing"))
    expect(page.get_by_role("heading", name="Pain points: billing")).to_be_visible()
    expect(_rows(page)).to_have_count(2)
    expect(page.locator("#list-results")).not_to_contain_text("On Time")
    assert problems == []
