"""My actions in real Chromium: a CSM opens the inbox, ticks a checklist step, marks a call
to action done with an outcome, and the count in the navigation drops without a reload."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from healthboard.lib.roles import CSM
from scoring.models.actions import CallToAction, CtaStep
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    CtaStepFactory,
    OutcomeFactory,
    PlaybookFactory,
    PlaybookStepFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser


def test_a_csm_works_a_call_to_action_in_place(live_server, page: Page, password) -> None:
    csm = UserFactory(username="browser-csm", first_name="Casey", password=password, role=CSM)
    today = timezone.localdate()
    urgent = CallToActionFactory(
        account=AccountFactory(name="Acme Logistics", owner=csm),
        title="Call the sponsor",
        due_date=today - dt.timedelta(days=2),
    )
    step = CtaStepFactory(cta=urgent, text="Call the customer within two days")
    CtaStepFactory(cta=urgent, text="Agree a rescue plan")
    CallToActionFactory(account=AccountFactory(name="Bravo Ltd", owner=csm), title="Check in")
    OutcomeFactory(name="Back on track")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(csm.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    count = page.locator("#nav-actions-count")
    expect(count).to_have_text(re.compile(r"^\D*2\D*$"))
    page.get_by_role("link", name=re.compile("My actions")).click()
    expect(page).to_have_url(re.compile(r"/actions/$"))
    # A marker to tell a reload from a swap: a reload loses it.
    page.evaluate("window.__noReload = true")

    card = page.locator(f"#cta-{urgent.pk}")
    expect(card).to_contain_text("Overdue")
    card.get_by_label("Call the customer within two days").check()
    expect(card.locator(f"#cta-{urgent.pk}-progress")).to_contain_text("1 of 2 steps done")
    expect(card.locator(f"#step-{step.pk}")).to_have_class(re.compile("cta-step--done"))

    card.get_by_text("Mark done").first.click()
    card.get_by_label("Outcome").select_option(label="Back on track")
    card.get_by_label(re.compile("^Note")).fill("Sponsor is happy again")
    card.get_by_role("button", name="Confirm done").click()

    expect(card).to_contain_text("Done: Back on track.")
    expect(count).to_have_text(re.compile(r"^\D*1\D*$"))
    expect(page.locator("#actions-tabs")).to_contain_text("Due now 1")
    expect(page.locator("#actions-tabs")).to_contain_text("Done recently 1")
    assert page.evaluate("window.__noReload") is True
    urgent.refresh_from_db()
    assert (urgent.status, urgent.outcome.name, urgent.outcome_note) == (
        CallToAction.Status.DONE,
        "Back on track",
        "Sponsor is happy again",
    )
    assert CtaStep.objects.get(pk=step.pk).done_at is not None
    assert problems == []


def test_a_csm_ticks_a_checklist_the_rules_left_pending(live_server, page: Page, password) -> None:
    """A rule's CTA shows its playbook's steps until one is ticked: the first tick makes the
    CTA's copy, and the next box (still addressed by position) ticks the copied step."""
    csm = UserFactory(username="browser-csm", password=password, role=CSM)
    playbook = PlaybookFactory(band="red")
    playbook.steps.all().delete()
    for order, text in enumerate(["Call the sponsor", "Agree a plan", "Tell the manager"]):
        PlaybookStepFactory(playbook=playbook, order=order, text=text)
    cta = CallToActionFactory(
        account=AccountFactory(owner=csm), playbook=playbook, steps_pending=True
    )

    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(csm.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.goto(live_server.url + reverse("actions:inbox"))
    page.evaluate("window.__noReload = true")
    card = page.locator(f"#cta-{cta.pk}")
    expect(card.locator(f"#cta-{cta.pk}-progress")).to_contain_text("0 of 3 steps done")

    card.get_by_label("Agree a plan").check()
    expect(card.locator(f"#cta-{cta.pk}-progress")).to_contain_text("1 of 3 steps done")
    card.get_by_label("Call the sponsor").check()
    expect(card.locator(f"#cta-{cta.pk}-progress")).to_contain_text("2 of 3 steps done")

    assert page.evaluate("window.__noReload") is True
    done = CtaStep.objects.filter(cta=cta).order_by("order").values_list("text", "done_at")
    assert [(text, at is not None) for text, at in done] == [
        ("Call the sponsor", True),
        ("Agree a plan", True),
        ("Tell the manager", False),
    ]
