"""The audit log in real Chromium: an Admin's own sign-in and a stranger's refused one are
listed; choosing an event type narrows the table in place and the URL says so; a phone
shows no sideways scroll."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from healthboard.lib.roles import ADMIN
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def log_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()


def test_an_admin_filters_the_audit_log(live_server, page: Page, password) -> None:
    UserFactory(username="browser-admin", password=password, role=ADMIN)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    log_in(page, live_server.url, "mallory", "not-the-password")
    log_in(page, live_server.url, "browser-admin", password)

    page.goto(live_server.url + reverse("audit:log"))
    rows = page.locator("#audit-events tbody tr")
    # Newest first: the sign-in, the refusal, and the Admin role the factory gave the user
    # (made in code, recorded all the same).
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Signed in")
    expect(rows.nth(1)).to_contain_text("mallory")
    expect(rows.last).to_contain_text("Role changed")

    page.locator("select[name=type]").select_option(label="Sign-in refused")

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sign-in refused")
    expect(page).to_have_url(re.compile(r"type=login_failed"))

    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    expect(rows).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []
