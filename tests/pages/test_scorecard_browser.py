"""In Chromium: an admin raises a weight, watches the preview change, publishes, watches the
recompute finish, and the portfolio's scores come from the new version."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from scoring.models import HealthScore, Scorecard, ScorecardVersion
from scoring.pipeline.runs import run_sync

pytestmark = pytest.mark.browser
SHOTS = "/tmp/hb-shots"


@pytest.fixture
def demo(transactional_db):
    today = timezone.localdate()
    with open("/dev/null", "w") as quiet:
        call_command(
            "seed_demo",
            force=True,  # the test database: DEBUG is off under pytest
            accounts=60,
            days=120,
            seed=3,
            end_date=today.isoformat(),
            truth_file="",
            stdout=quiet,
        )
    run_sync(as_of=today)
    return today


def log_in(page: Page, live_server, user, password: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(user.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def test_an_admin_previews_publishes_and_sees_the_new_scores(
    live_server, page: Page, demo, admin_role_user, password
):
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, admin_role_user, password)

    page.goto(live_server.url + reverse("scoring:scorecards"))
    standard = page.locator("article.sc-card", has_text="Standard")
    standard.get_by_role("button", name="New draft from v1").click()
    expect(page.get_by_role("heading", name=re.compile("Standard v2"))).to_be_visible()

    # The preview loads by itself: the draft is still a copy, so nothing changes band.
    changed = page.locator("#preview-changed")
    expect(changed).to_have_text("0")
    share = page.locator("#share-0")
    expect(share).to_have_text("6.5%")

    usage = page.get_by_label("Category weight").first
    usage.fill("150")
    usage.press("Tab")
    # Usage now weighs 150 of 235: each of its four measures 16 %.
    expect(share).to_have_text("16.0%")
    expect(changed).not_to_have_text("0", timeout=15_000)
    moved = int(changed.inner_text())
    assert moved > 0
    expect(page.locator("#preview-bar")).to_contain_text(f"{moved} of")
    page.screenshot(path=f"{SHOTS}/scorecards-browser-preview.png", full_page=False)

    page.get_by_role("button", name="Publish v2").click()
    expect(page.get_by_text("Done.")).to_be_visible()
    expect(page.get_by_text(re.compile("v2 is now the active version"))).to_be_visible()
    # Finished: nothing polls any more.
    assert page.locator("[hx-trigger='every 1s']").count() == 0

    page.get_by_role("link", name="See the portfolio").click()
    expect(page).to_have_url(live_server.url + reverse("home"))

    card = Scorecard.objects.get(name="Standard")
    v2 = ScorecardVersion.objects.get(scorecard=card, number=2)
    assert v2.status == "active"
    today_scores = HealthScore.objects.filter(run__status="done", date=demo)
    assert today_scores.filter(version=v2).count() > 0
    assert not today_scores.filter(version__scorecard=card, version__number=1).exists()
    assert problems == []
