"""The weekly review and the journey board in real Chromium: a manager reads the review, the
charts draw, a transition cell opens exactly its accounts in the portfolio; the journey
board filters by owner."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, expect

from healthboard.lib.roles import CSM, MANAGER
from healthboard.pages.weekly.selectors import week_end_default
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


def _log_in(page: Page, live_server, user, password: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(user.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def test_a_manager_reads_the_review_and_opens_a_transition(
    live_server, page: Page, password
) -> None:
    manager = UserFactory(username="browser-manager", password=password, role=MANAGER)
    sunday = week_end_default(timezone.localdate())
    before, now = ScoreRunFactory(date=sunday - dt.timedelta(days=7)), ScoreRunFactory(date=sunday)
    # Three accounts slip from Healthy to At risk; the rest stay or move elsewhere.
    for name, then, after in [
        ("Slipping One", 80, 55),
        ("Slipping Two", 75, 50),
        ("Slipping Three", 90, 60),
        ("Steady", 85, 88),
        ("Crashing", 72, 20),
        ("Recovering", 30, 45),
    ]:
        account = AccountFactory(name=name)
        HealthScoreFactory(account=account, run=before, score=then)
        HealthScoreFactory(account=account, run=now, score=after)
    problems = _log_problems(page)
    _log_in(page, live_server, manager, password)

    page.goto(live_server.url + reverse("scoring:weekly"))
    page.wait_for_load_state("networkidle")

    expect(page.get_by_role("heading", name="Weekly review")).to_be_visible()
    # plotly.js drew the band history.
    expect(page.locator("#weekly-distribution .main-svg").first).to_be_visible()
    cell = page.locator("table.wk-transitions a[href*='prev_band=green'][href*='band=yellow']")
    expect(cell).to_have_count(1)
    count = int(cell.get_attribute("data-count"))
    assert count == 3

    cell.click()
    page.wait_for_load_state("networkidle")

    assert "prev_band=green" in page.url
    rows = page.locator("#portfolio-table tbody tr")
    expect(rows).to_have_count(count)
    for name in ("Slipping One", "Slipping Two", "Slipping Three"):
        expect(page.locator("#portfolio-table")).to_contain_text(name)
    assert problems == []


def test_the_journey_board_filters_by_owner(live_server, page: Page, password) -> None:
    manager = UserFactory(username="board-manager", password=password, role=MANAGER)
    priya = UserFactory(username="priya", first_name="Priya", last_name="Raman", role=CSM)
    sam = UserFactory(username="sam", first_name="Sam", last_name="Okafor", role=CSM)
    run = ScoreRunFactory(date=timezone.localdate())
    for name, owner, score in [
        ("Priya Red", priya, 20),
        ("Priya Green", priya, 85),
        ("Sam Yellow", sam, 55),
        ("Sam Red", sam, 15),
    ]:
        HealthScoreFactory(account=AccountFactory(name=name, owner=owner), run=run, score=score)
    problems = _log_problems(page)
    _log_in(page, live_server, manager, password)

    page.goto(live_server.url + reverse("accounts:journey"))
    page.wait_for_load_state("networkidle")
    cards = page.locator(".jb-card")
    expect(cards).to_have_count(4)
    expect(page.locator("#journey-board .main-svg").first).to_be_visible()

    page.get_by_label("Owner").select_option(label="Priya Raman")

    expect(page).to_have_url(re.compile(rf"owner={priya.pk}"))
    expect(cards).to_have_count(2)
    expect(page.locator("#journey-board")).to_contain_text("Priya Red")
    expect(page.locator("#journey-board")).not_to_contain_text("Sam Red")
    expect(page.locator("#journey-board")).to_contain_text("Priya Raman’s book")
    # The chart was drawn again after the swap.
    expect(page.locator("#journey-board .main-svg").first).to_be_visible()

    # Moving a card records the change and refreshes the board, filters kept.
    card = page.locator(".jb-card", has_text="Priya Red")
    card.get_by_label("Move Priya Red to stage").select_option(label="Renewal")
    card.get_by_role("button", name="Move").click()
    expect(page.locator("#journey-board [role=status]")).to_contain_text(
        "Moved Priya Red from Adoption to Renewal."
    )
    expect(page.locator('[aria-labelledby="stage-renewal"]')).to_contain_text("Priya Red")
    expect(cards).to_have_count(2)
    assert f"owner={priya.pk}" in page.url
    assert problems == []
