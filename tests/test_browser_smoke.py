"""Smoke test in real Chromium: log in through the form and see the home page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import ConsoleMessage, Page, expect

from healthboard.lib.roles import CSM
from tests.factories import UserFactory

SCREENSHOT = "/tmp/hb-home.png"

pytestmark = pytest.mark.browser


def test_a_csm_logs_in_and_sees_the_home_page(live_server, page: Page, password) -> None:
    user = UserFactory(
        username="smoke-csm", first_name="Casey", last_name="Smoke", password=password, role=CSM
    )
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text} ({message.location})")
            if _is_error(message)
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    page.goto(live_server.url)
    expect(page).to_have_url(re.compile(re.escape(reverse("login"))))

    page.get_by_label(re.compile("username", re.I)).fill(user.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()

    page.wait_for_load_state("networkidle")
    expect(page).to_have_url(f"{live_server.url}{reverse('home')}")
    # The base layout says who is logged in (full name or username).
    who = re.compile(rf"{re.escape(user.get_full_name())}|{re.escape(user.username)}")
    expect(page.get_by_text(who).first).to_be_visible()

    page.screenshot(path=SCREENSHOT, full_page=True)
    assert problems == []


def _is_error(message: ConsoleMessage) -> bool:
    return message.type == "error"
