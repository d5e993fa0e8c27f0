"""Playbooks & rules in real Chromium: an Admin turns a rule off in place, chooses a new
rule's condition and gets its fields, watches a rule's preview follow its parameters, then
moves a playbook's step up and saves it, without a page load for any of these until the
save."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from healthboard.lib.roles import ADMIN
from scoring.models.actions import ActionRule, Playbook, PlaybookStep
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory, UserFactory
from tests.scoring.actions.helpers import days_ago

pytestmark = pytest.mark.browser


def admin_menu(page: Page, name: str) -> None:
    """Follow a link of the header's Admin menu (it opens first)."""
    page.locator("nav.site-nav summary").click()
    page.locator("nav.site-nav").get_by_role("link", name=name).click()


def test_an_admin_turns_a_rule_off_and_reorders_a_playbook(
    live_server, page: Page, password
) -> None:
    admin = UserFactory(username="browser-admin", first_name="Alex", password=password, role=ADMIN)
    rule = ActionRule.objects.get(name="Turned at risk")
    renewal = ActionRule.objects.get(name="At risk before renewal")
    run = ScoreRunFactory(date=days_ago(0))
    HealthScoreFactory(account=AccountFactory(renewal_date=days_ago(-20)), run=run, score=25)
    playbook = Playbook.objects.order_by("pk").first()
    playbook.steps.all().delete()
    for order, text in enumerate(["Call", "Plan", "Tell"]):
        PlaybookStep.objects.create(playbook=playbook, order=order, text=text)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(admin.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    admin_menu(page, "Playbooks & rules")
    expect(page).to_have_url(re.compile(r"/playbooks/rules/$"))

    # A marker on the page: still there after the switch means no page load happened.
    page.evaluate("window.__stayed = true")
    row = page.locator(f"#rule-{rule.pk}")
    row.get_by_role("button", name=re.compile(r"Turned at risk: on")).click()
    expect(row.get_by_role("button", name=re.compile(r"Turned at risk: off"))).to_be_visible()
    assert page.evaluate("window.__stayed === true")
    rule.refresh_from_db()
    assert not rule.enabled

    # A new rule: choosing its condition brings that condition's fields in place.
    page.get_by_role("button", name="New rule").click()
    page.evaluate("window.__stayed = true")
    page.get_by_label("Condition").select_option("no_login")
    expect(page.get_by_label("Days without")).to_have_value("30")
    expect(page.get_by_label("Metric")).to_have_value("logins")
    assert page.evaluate("window.__stayed === true")
    expect(page).to_have_url(re.compile(r"/playbooks/rules/new/\?kind=no_login$"))
    admin_menu(page, "Playbooks & rules")

    page.get_by_role("link", name="At risk before renewal").click()
    page.evaluate("window.__stayed = true")
    preview = page.locator("#rule-preview")
    expect(preview).to_contain_text("Would fire for 1 account today")
    page.get_by_label("Renews within (days)").fill("10")
    expect(preview).to_contain_text("Would fire for 0 accounts today")
    expect(page.locator("#rule-condition")).to_contain_text("renews within 10 days")
    page.get_by_label("Renews within (days)").fill("0")
    expect(preview).to_contain_text("Preview paused: Renews within (days)")
    assert page.evaluate("window.__stayed === true")
    renewal.refresh_from_db()
    assert renewal.parameters == {"days": 90}

    admin_menu(page, "Playbooks & rules")
    page.get_by_role("link", name="Playbooks", exact=True).click()
    page.get_by_role("link", name=playbook.name).click()
    page.evaluate("window.__stayed = true")
    page.get_by_role("button", name="Move step 3 up").click()
    expect(page.get_by_role("textbox", name="Step 2", exact=True)).to_have_value("Tell")
    assert page.evaluate("window.__stayed === true")
    page.get_by_role("textbox", name="Step 4", exact=True).fill("Follow up")
    page.get_by_role("button", name="Save the playbook").click()

    expect(page.locator("#messages")).to_contain_text("future CTAs get these steps")
    assert list(playbook.steps.order_by("order").values_list("text", flat=True)) == [
        "Call",
        "Tell",
        "Plan",
        "Follow up",
    ]
    assert problems == []
