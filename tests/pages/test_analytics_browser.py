"""In Chromium, with a real Celery worker: an Admin opens Analytics, runs a back-test and a
suggestion and watches their progress, applies the suggestion as a draft and sees the
editor's preview of what it changes. Screenshots at 1280 and 390 px of the empty, not
enough data and full states go to /tmp/hb-shots."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from scoring.analytics.services import analysis_run_now
from scoring.models import ScorecardVersion
from scoring.pipeline.runs import run_sync
from tests.pages.analytics_history import history_day, labelled_history

pytestmark = pytest.mark.browser
SHOTS = "/tmp/hb-shots"
SLOW = 180_000  # a suggestion cross-validates: under load, minutes


def shoot(page: Page, name: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)  # plotly redraws on resize
        page.screenshot(path=f"{SHOTS}/analytics-{name}-{width}.png", full_page=True)
        # Nothing is wider than the window.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.set_viewport_size({"width": 1280, "height": 900})


def log_in(page: Page, live_server, user, password: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(user.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def run_form(page: Page, *, start: dt.date, end: dt.date) -> None:
    page.locator("input[name=start]").fill(start.isoformat())
    page.locator("input[name=end]").fill(end.isoformat())


def test_an_admin_backtests_learns_and_applies_a_suggestion_as_a_draft(
    live_server, page: Page, real_celery_worker, admin_role_user, password
):
    day = history_day()
    labelled_history(day)
    run_sync(as_of=timezone.localdate())  # today's scores, for the editor's preview
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, admin_role_user, password)

    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="No back-test yet")).to_be_visible()
    shoot(page, "empty")

    # A period too recent for its horizon: not enough data, said in words.
    today = timezone.localdate()
    run_form(page, start=today - dt.timedelta(days=20), end=today)
    page.get_by_role("button", name="Run back-test").click()
    expect(page.get_by_role("heading", name="Not enough data for a back-test")).to_be_visible(
        timeout=SLOW
    )
    expect(page.get_by_text("the period ends too recently")).to_be_visible()
    shoot(page, "not-enough-data")

    page.get_by_text("Refresh or change the back-test").click()
    run_form(page, start=day, end=day)  # the day of the stored scores
    page.get_by_role("button", name="Refresh back-test").click()
    expect(page.locator("#an-progress, .an-figures").first).to_be_visible()
    expect(page.get_by_text("What this means")).to_be_visible(timeout=SLOW)
    expect(page.locator(".an-figure__label", has_text="AUC")).to_be_visible()
    expect(page.locator("#an-results .chart .main-svg").first).to_be_attached()
    shoot(page, "backtest")

    page.get_by_role("link", name="Suggested scorecard").click()
    run_form(page, start=day - dt.timedelta(days=31), end=day)
    page.get_by_role("button", name="Run suggested scorecard").click()
    progress = page.locator("#an-progress progress")
    expect(progress).to_be_visible()
    page.screenshot(path=f"{SHOTS}/analytics-progress-1280.png")
    apply = page.get_by_role("button", name="Apply as draft")
    expect(apply).to_be_visible(timeout=SLOW)
    expect(page.locator("#an-progress")).to_have_count(0)  # polling stopped
    shoot(page, "suggestion")
    active = ScorecardVersion.objects.get(scorecard__name="Standard", status="active")

    apply.click()
    draft = ScorecardVersion.objects.get(status="draft")
    expect(page.locator("#messages")).to_contain_text(f"draft v{draft.number}")
    expect(page.get_by_role("heading", name="What-if preview: today's accounts")).to_be_visible()
    expect(page.locator("#preview-bar")).to_contain_text(re.compile(r"\d+ of"), timeout=30_000)
    page.screenshot(path=f"{SHOTS}/analytics-applied-preview-1280.png", full_page=False)
    assert ScorecardVersion.objects.get(scorecard__name="Standard", status="active") == active

    for tab, name in (("Lifecycle", "lifecycle"), ("Surveys", "surveys")):
        analysis_run_now(kind={"Lifecycle": "retention", "Surveys": "surveys"}[tab], parameters={})
        page.goto(live_server.url + reverse(f"analytics:{name}"))
        expect(page.get_by_text("Computed ")).to_be_visible()
        shoot(page, name)
    assert problems == []
