"""In real Chromium: a CSM opens a red account from their filtered book, reads it, adds a note
without a reload, and goes back to the same filtered portfolio."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, expect

from healthboard.lib.roles import CSM
from tests.factories import AccountFactory, NoteFactory, UserFactory
from tests.pages.test_account import history, signals

pytestmark = pytest.mark.browser

PORTFOLIO = "/?band=red&owner=me"


@pytest.fixture
def book(db, password):
    csm = UserFactory(
        username="browser-csm", first_name="Priya", last_name="Raman", password=password, role=CSM
    )
    today = timezone.localdate()
    red = AccountFactory(name="Bluebird Freight", owner=csm)
    history(red, days=120, end=today, score=lambda i: 28.0 + (i % 9) + i / 10)
    signals(red, 40, start=timezone.now() - dt.timedelta(hours=2))
    NoteFactory(account=red, body="Exec sponsor left in October.")
    healthy = AccountFactory(name="Greenfield Dairy", owner=csm)
    history(healthy, days=10, end=today, score=lambda i: 85.0)
    return {"csm": csm, "red": red, "healthy": healthy}


def test_a_csm_reads_a_red_account_and_adds_a_note(live_server, page: Page, password, book) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if _is_error(m) else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    red = book["red"]
    detail = f"/accounts/{red.pk}/"

    page.goto(f"{live_server.url}/login/?next={PORTFOLIO}")
    page.get_by_label(re.compile("username", re.I)).fill(book["csm"].username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("networkidle")

    # From the filtered book when the portfolio lists the account; straight there otherwise.
    page.goto(f"{live_server.url}{PORTFOLIO}")
    link = page.locator(f'a[href="{detail}"]').first
    from_portfolio = link.count() > 0
    if from_portfolio:
        # Only red accounts are listed: the healthy one is filtered out.
        expect(page.locator(f'a[href="/accounts/{book["healthy"].pk}/"]')).to_have_count(0)
        link.click()
    else:
        page.goto(f"{live_server.url}{detail}")
    expect(page).to_have_url(f"{live_server.url}{detail}")
    # plotly.js (4.8 MB) blocks parsing until it has loaded; a busy machine takes a while.
    page.wait_for_load_state("load", timeout=30_000)

    expect(page.get_by_role("heading", name="Bluebird Freight")).to_be_visible()
    # Plotly drew the chart: its SVG is in the chart's div.
    expect(page.locator("#trend .chart .main-svg").first).to_be_attached(timeout=15_000)
    expect(page.get_by_role("heading", name="Why this score")).to_be_visible()
    expect(page.locator(".breakdown-table tbody tr").first).to_be_visible()
    expect(page.get_by_role("heading", name="What moved since last week")).to_be_visible()

    # The range links swap the chart in place.
    page.evaluate("window.__samePage = true")
    page.locator(".range-links").get_by_text("30 days").click()
    expect(page.locator('.range-links a[aria-current="true"]')).to_have_text("30 days")
    expect(page.locator("#trend .chart .main-svg").first).to_be_attached()

    # A note, added without a reload: it appears on top and the form clears.
    page.get_by_label("Type").select_option("call")
    page.get_by_label("Note", exact=True).fill("Called Dana: renewal at risk, sending a plan.")
    page.get_by_role("button", name="Add to timeline").click()
    expect(page.locator("#notes-list > li").first).to_contain_text(
        "Called Dana: renewal at risk, sending a plan."
    )
    expect(page.locator("#notes-list > li").first).to_contain_text("Call")
    expect(page.locator(".form-status")).to_have_text(re.compile("Call added"))
    expect(page.get_by_label("Note", exact=True)).to_have_value("")
    assert page.evaluate("window.__samePage === true"), "the page reloaded"

    # More signals load in place too.
    before = page.locator(".signal-list > li.signal").count()
    page.get_by_text("Load older signals").click()
    expect(page.locator(".signal-list > li.signal")).to_have_count(min(before + 25, 40))
    assert page.evaluate("window.__samePage === true"), "the page reloaded"

    # A category pill keeps the chart's range in the page's address, and vice versa.
    page.locator("#signal-pills").get_by_text("Support").click()
    expect(page.locator('#signal-pills a[aria-current="true"]')).to_have_text("Support")
    expect(page).to_have_url(re.compile(rf"{detail}\?range=30&category=Support$"))
    page.locator(".range-links").get_by_text("365 days").click()
    expect(page).to_have_url(re.compile(rf"{detail}\?range=365&category=Support$"))
    assert page.evaluate("window.__samePage === true"), "the page reloaded"

    if from_portfolio:
        page.go_back()
        expect(page).to_have_url(f"{live_server.url}{PORTFOLIO}")
        expect(page.locator(f'a[href="{detail}"]').first).to_be_visible()

    assert problems == []


def _is_error(message: ConsoleMessage) -> bool:
    return message.type == "error"
