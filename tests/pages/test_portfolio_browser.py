"""The portfolio in real Chromium: a CSM filters their book to red accounts and goes back."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, expect

from healthboard.lib.roles import CSM
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory, UserFactory

pytestmark = pytest.mark.browser


def _log_problems(page: Page) -> list[str]:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text} ({message.location})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return problems


def _rows(page: Page):
    return page.locator("#portfolio-table tbody tr")


def test_a_csm_filters_their_book_to_red_accounts_and_goes_back(
    live_server, page: Page, password
) -> None:
    csm = UserFactory(username="browser-csm", first_name="Casey", password=password, role=CSM)
    colleague = UserFactory(username="browser-colleague", role=CSM)
    run = ScoreRunFactory(date=timezone.localdate())
    for name, owner, score in [
        ("Mine Red One", csm, 15),
        ("Mine Red Two", csm, 30),
        ("Mine Yellow", csm, 55),
        ("Mine Green", csm, 90),
        ("Their Red", colleague, 10),
    ]:
        HealthScoreFactory(account=AccountFactory(name=name, owner=owner), run=run, score=score)
    problems = _log_problems(page)

    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(csm.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("networkidle")

    # Home is the portfolio: the CSM's own book.
    expect(page.get_by_role("heading", name="Portfolio")).to_be_visible()
    expect(_rows(page)).to_have_count(4)
    expect(page.locator("#portfolio-table")).not_to_contain_text("Their Red")
    book_url = page.url

    # Filter through the form: HTMX swaps the table and pushes the URL.
    page.locator("#portfolio-filters").get_by_label("Unhealthy").check()
    expect(page).to_have_url(re.compile(r"band=red"))
    expect(_rows(page)).to_have_count(2)
    for row in _rows(page).all():
        expect(row).to_contain_text("Unhealthy")
    expect(page.locator("#portfolio-table")).to_contain_text("Mine Red One")
    expect(page.locator("#portfolio-table")).not_to_contain_text("Their Red")
    # The summary strip followed the table (out of band): the Unhealthy card is picked.
    expect(page.locator(".pf-band--red")).to_have_attribute("aria-current", "true")

    # The filtered view is a real URL: a reload shows the same.
    filtered_url = page.url
    page.reload()
    expect(_rows(page)).to_have_count(2)
    expect(page.locator("#portfolio-filters").get_by_label("Unhealthy")).to_be_checked()

    # Back restores the previous view, form included.
    page.go_back()
    expect(page).to_have_url(book_url)
    expect(_rows(page)).to_have_count(4)
    expect(page.locator("#portfolio-filters").get_by_label("Unhealthy")).not_to_be_checked()
    page.go_forward()
    expect(page).to_have_url(filtered_url)
    expect(_rows(page)).to_have_count(2)

    # "All accounts" is one click away, and back returns to the filtered book.
    page.get_by_role("link", name="All accounts").click()
    expect(page).to_have_url(re.compile(r"owner=all"))
    expect(page.locator("#portfolio-table")).to_contain_text("Their Red")
    expect(page.locator("#portfolio-filters select[name=owner]")).to_have_value("all")
    page.go_back()
    expect(page).to_have_url(filtered_url)
    expect(_rows(page)).to_have_count(2)
    expect(page.locator("#portfolio-table")).not_to_contain_text("Their Red")

    # Links (a band in the strip, a column heading) change the filters too: the form
    # follows, so the next change made in the form keeps them.
    page.locator(".pf-band--yellow").click()
    expect(page).to_have_url(re.compile(r"band=yellow"))
    expect(_rows(page)).to_have_count(1)
    form = page.locator("#portfolio-filters")
    expect(form.get_by_label("At risk")).to_be_checked()
    expect(form.get_by_label("Unhealthy")).not_to_be_checked()
    form.get_by_label("Unhealthy").check()
    expect(_rows(page)).to_have_count(3)
    page.locator("#portfolio-table thead").get_by_role("link", name="Account").click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(_rows(page).first).to_contain_text("Mine Red One")
    expect(form.locator("input[name=sort]")).to_have_value("name")

    assert problems == []
