"""My actions (healthboard/pages/actions): the inbox per role, writes in place (HTMX) and
as plain POSTs, who may act, the navigation count, the team's overdue view, query budgets."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from healthboard.lib.roles import CSM
from scoring.models.actions import CallToAction, CtaComment, CtaStep
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    CtaStepFactory,
    HealthScoreFactory,
    OutcomeFactory,
    PlaybookFactory,
    PlaybookStepFactory,
    ScoreRunFactory,
    UserFactory,
)

Status = CallToAction.Status
HX = {"HTTP_HX_REQUEST": "true"}
# The inbox: session, user, permissions (2), role, the nav count, the tab counts, the CTAs,
# their steps, their comments, the accounts' scores, the outcomes; a Manager looking at
# someone's inbox adds that user and the owner picker (measured: 14). It does not grow with
# the CTAs shown.
INBOX_MAX_QUERIES = 14


def today() -> dt.date:
    return timezone.localdate()


def nav_count(html: str) -> str:
    match = re.search(r'<span id="nav-actions-count"[^>]*>(.*?)</span>\s*</a>', html, re.S)
    assert match, "no count in the navigation"
    return re.sub(r"<[^>]+>.*?</[^>]+>|<[^>]+>", "", match.group(1)).strip()


def mine(user, **kwargs) -> CallToAction:
    return CallToActionFactory(account=AccountFactory(owner=user), **kwargs)


@pytest.fixture
def outcome():
    return OutcomeFactory(name="Back on track")


# ---------------------------------------------------------------- the inbox per role


def test_anonymous_visitors_go_to_the_login_page(client) -> None:
    response = client.get(reverse("actions:inbox"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_csm_sees_their_ctas_due_now_in_order(
    csm_client, csm_user, django_assert_max_num_queries
) -> None:
    run = ScoreRunFactory(date=today())
    late = mine(csm_user, title="Late one", due_date=today() - dt.timedelta(days=3))
    HealthScoreFactory(account=late.account, run=run, score=20)
    soon_low = mine(csm_user, title="Soon low", due_date=today() + dt.timedelta(days=1), priority=3)
    soon_high = mine(
        csm_user, title="Soon high", due_date=today() + dt.timedelta(days=1), priority=1
    )
    woken = mine(
        csm_user,
        title="Woken",
        status=Status.SNOOZED,
        snoozed_until=today(),
        due_date=today() + dt.timedelta(days=5),
    )
    later = today() + dt.timedelta(days=2)
    mine(csm_user, title="Still asleep", status=Status.SNOOZED, snoozed_until=later)
    CallToActionFactory(title="Someone else's")

    with django_assert_max_num_queries(INBOX_MAX_QUERIES):
        response = csm_client.get(reverse("actions:inbox"))

    assert response.status_code == 200
    html = response.content.decode()
    assert [c.pk for c in response.context["inbox"].ctas] == [
        late.pk,
        soon_high.pk,
        soon_low.pk,
        woken.pk,
    ]
    assert "Someone else's" not in html and "Still asleep" not in html
    # Overdue in words, not colour alone; the band chip says the band in words too.
    card = html[html.index(f'id="cta-{late.pk}"') :]
    card = card[: card.index("</article>")]
    assert "cta--overdue" in card and "Overdue: due" in card and "3 days ago" in card
    assert "Unhealthy" in card
    assert f'href="/accounts/{late.account_id}/"' in card
    assert nav_count(html) == "4"
    assert 'Due now <span class="tab-count">4</span>' in html
    assert 'Snoozed <span class="tab-count">1</span>' in html


def test_the_tabs(csm_client, csm_user, outcome) -> None:
    later = today() + dt.timedelta(days=2)
    mine(csm_user, title="Asleep", status=Status.SNOOZED, snoozed_until=later)
    mine(
        csm_user,
        title="Finished",
        status=Status.DONE,
        outcome=outcome,
        closed_at=timezone.now() - dt.timedelta(days=2),
    )
    mine(
        csm_user,
        title="Long ago",
        status=Status.DONE,
        outcome=outcome,
        closed_at=timezone.now() - dt.timedelta(days=60),
    )
    snoozed = csm_client.get(reverse("actions:inbox") + "?tab=snoozed", **HX)
    html = snoozed.content.decode()
    # HTMX gets the inbox region alone, not the page.
    assert html.lstrip().startswith('<section id="actions-inbox"') and "<html" not in html
    assert "Asleep" in html and "Wake it now" in html
    done = csm_client.get(reverse("actions:inbox") + "?tab=done").content.decode()
    assert "Finished" in done and "Back on track" in done and "Long ago" not in done
    # An unknown tab is the default one.
    assert csm_client.get(reverse("actions:inbox") + "?tab=nope").context["tab"] == "due"


def test_the_empty_inbox_reads_well(csm_client) -> None:
    html = csm_client.get(reverse("actions:inbox")).content.decode()
    assert "Nothing due — you are up to date" in html
    assert nav_count(html) == ""


def test_the_inbox_query_budget_does_not_grow_with_ctas(
    csm_client, csm_user, django_assert_max_num_queries
) -> None:
    OutcomeFactory.create_batch(3)
    run = ScoreRunFactory(date=today())
    for n in range(60):
        cta = mine(csm_user, due_date=today() + dt.timedelta(days=n % 9 - 3))
        CtaStepFactory.create_batch(2, cta=cta)
        CtaComment.objects.create(cta=cta, author=csm_user, body="Hello")
        HealthScoreFactory(account=cta.account, run=run)

    with django_assert_max_num_queries(INBOX_MAX_QUERIES):
        response = csm_client.get(reverse("actions:inbox"))

    html = response.content.decode()
    assert html.count('class="cta ') == 50
    assert "Showing the first 50 of 60" in html
    assert nav_count(html) == "60"


def test_a_csm_cannot_open_another_csms_inbox(csm_client) -> None:
    other = UserFactory(role=CSM)
    assert csm_client.get(reverse("actions:inbox") + f"?owner={other.pk}").status_code == 404


@pytest.mark.parametrize("client_fixture", ["manager_client", "admin_role_client"])
def test_managers_and_admins_open_any_csms_inbox(
    request, client_fixture, django_assert_max_num_queries
) -> None:
    client = request.getfixturevalue(client_fixture)
    priya = UserFactory(role=CSM, first_name="Priya", last_name="Raman")
    mine(priya, title="Call Priya's sponsor")

    with django_assert_max_num_queries(INBOX_MAX_QUERIES):
        response = client.get(reverse("actions:inbox") + f"?owner={priya.pk}")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Actions of Priya Raman" in html and "Call Priya" in html
    # They can act on it: the forms are there.
    assert "Mark done" in html
    assert client.get(reverse("actions:inbox") + "?owner=999999").status_code == 404


def test_the_team_view_lists_overdue_per_csm(
    manager_client, csm_client, django_assert_max_num_queries
) -> None:
    priya = UserFactory(role=CSM, first_name="Priya", last_name="Raman")
    jonas = UserFactory(role=CSM, first_name="Jonas", last_name="Becker")
    for days in range(1, 8):
        mine(priya, title=f"Priya late {days}", due_date=today() - dt.timedelta(days=days))
    mine(jonas, title="Jonas late", due_date=today() - dt.timedelta(days=30))
    mine(jonas, title="Jonas on time", due_date=today() + dt.timedelta(days=3))
    mine(
        jonas,
        title="Jonas snoozed",
        status=Status.SNOOZED,
        snoozed_until=today() + dt.timedelta(days=3),
        due_date=today() - dt.timedelta(days=40),
    )

    # Session, user, permissions (2), role, nav count, the counts with the owners, the
    # oldest rows (measured: 8).
    with django_assert_max_num_queries(8):
        response = manager_client.get(reverse("actions:team"))

    html = response.content.decode()
    rows = response.context["rows"]
    assert [(r.name, r.n) for r in rows] == [("Jonas Becker", 1), ("Priya Raman", 7)]
    assert len(rows[1].ctas) == 5 and rows[1].ctas[0].title == "Priya late 7"
    assert "Jonas on time" not in html and "Jonas snoozed" not in html
    assert "All 7 in Priya Raman's inbox" in html
    assert csm_client.get(reverse("actions:team")).status_code == 403


# ---------------------------------------------------------------- writes


def test_marking_done_in_place_updates_the_card_and_the_nav_count(
    csm_client, csm_user, outcome
) -> None:
    cta = mine(csm_user)
    mine(csm_user)
    response = csm_client.post(
        reverse("actions:done", args=[cta.pk]), {"outcome": outcome.pk, "note": "Sorted"}, **HX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Done: Back on track." in html
    assert 'id="nav-actions-count" class="nav-count" hx-swap-oob="true"' in html
    assert nav_count(html + "</a>") == "1"
    # The inbox's tabs hear of it and fetch their counts again.
    assert response["HX-Trigger"] == "ctas-changed"
    cta.refresh_from_db()
    assert (cta.status, cta.outcome, cta.outcome_note) == (Status.DONE, outcome, "Sorted")


def test_the_tabs_alone_fetch_their_counts(
    csm_client, csm_user, outcome, django_assert_max_num_queries
) -> None:
    mine(csm_user)
    mine(csm_user, status=Status.DONE, outcome=outcome, closed_at=timezone.now())
    with django_assert_max_num_queries(6):
        response = csm_client.get(
            reverse("actions:inbox") + "?tab=done", HTTP_HX_TARGET="actions-tabs", **HX
        )
    html = response.content.decode()
    assert html.lstrip().startswith('<nav id="actions-tabs"')
    assert 'hx-trigger="ctas-changed from:body"' in html and 'hx-get="/actions/?tab=done"' in html
    assert 'Due now <span class="tab-count">1</span>' in html
    assert 'Done recently <span class="tab-count">1</span>' in html
    assert "<article" not in html


def test_done_needs_an_outcome(csm_client, csm_user) -> None:
    cta = mine(csm_user)
    response = csm_client.post(reverse("actions:done", args=[cta.pk]), {"note": "x"}, **HX)
    html = response.content.decode()
    assert "Choose an outcome: how did it end?" in html
    assert 'aria-invalid="true"' in html and '<details class="cta-form" open>' in html
    cta.refresh_from_db()
    assert cta.status == Status.OPEN


def test_plain_posts_work_without_javascript(csm_client, csm_user, outcome) -> None:
    cta = mine(csm_user)
    back = reverse("actions:inbox") + "?tab=due"
    response = csm_client.post(
        reverse("actions:done", args=[cta.pk]), {"outcome": outcome.pk, "next": back}
    )
    assert response.status_code == 302 and response.url == f"{back}#cta-{cta.pk}"
    bad = csm_client.post(reverse("actions:snooze", args=[mine(csm_user).pk]), {"until": ""})
    assert bad.status_code == 400
    assert "Choose the date it should come back." in bad.content.decode()
    # An address elsewhere is not followed.
    other = csm_client.post(
        reverse("actions:comment", args=[cta.pk]), {"body": "Hi", "next": "https://evil.example/"}
    )
    assert other.url == reverse("actions:cta", args=[cta.pk]) + f"#cta-{cta.pk}"


@pytest.mark.parametrize(
    ("until", "reason", "message"),
    [
        (0, "Waiting", "Choose a date after today"),
        (-1, "Waiting", "Choose a date after today"),
        (7, "", "Say why it can wait."),
        (None, "Waiting", "Enter a date as YYYY-MM-DD."),
    ],
)
def test_snooze_validation(csm_client, csm_user, until, reason, message) -> None:
    cta = mine(csm_user)
    date = "31/12/2026" if until is None else (today() + dt.timedelta(days=until)).isoformat()
    response = csm_client.post(
        reverse("actions:snooze", args=[cta.pk]), {"until": date, "reason": reason}, **HX
    )
    assert message in response.content.decode()
    cta.refresh_from_db()
    assert cta.status == Status.OPEN


def test_snooze_in_place(csm_client, csm_user) -> None:
    cta = mine(csm_user)
    until = today() + dt.timedelta(days=7)
    response = csm_client.post(
        reverse("actions:snooze", args=[cta.pk]),
        {"until": until.isoformat(), "reason": "Customer on holiday"},
        **HX,
    )
    html = response.content.decode()
    assert f"Snoozed until {until:%-d %B %Y}." in html
    assert nav_count(html + "</a>") == ""
    cta.refresh_from_db()
    assert (cta.status, cta.snoozed_until) == (Status.SNOOZED, until)


def test_ticking_a_step_in_place(csm_client, csm_user) -> None:
    cta = mine(csm_user)
    step, _other = CtaStepFactory(cta=cta, text="Call them"), CtaStepFactory(cta=cta)
    response = csm_client.post(reverse("actions:step", args=[step.pk]), {"done": "on"}, **HX)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li id="step-{step.pk}" class="cta-step cta-step--done">')
    assert "1 of 2 steps done" in html and 'hx-swap-oob="true"' in html
    assert CtaStep.objects.get(pk=step.pk).done_at is not None
    # Again: nothing changes; unticked (no "done" sent): not done.
    csm_client.post(reverse("actions:step", args=[step.pk]), {"done": "on"}, **HX)
    csm_client.post(reverse("actions:step", args=[step.pk]), {}, **HX)
    assert CtaStep.objects.get(pk=step.pk).done_at is None


def test_ticking_a_step_of_a_pending_checklist_makes_the_copy(csm_client, csm_user) -> None:
    playbook = PlaybookFactory(band="red")
    playbook.steps.all().delete()
    PlaybookStepFactory(playbook=playbook, order=0, text="Call them")
    PlaybookStepFactory(playbook=playbook, order=1, text="Agree a plan")
    cta = mine(csm_user, playbook=playbook, steps_pending=True)
    inbox = csm_client.get(reverse("actions:inbox")).content.decode()
    tick = reverse("actions:step_at", args=[cta.pk, 1])
    assert f'hx-post="{tick}"' in inbox and f'id="step-{cta.pk}-1"' in inbox
    assert not CtaStep.objects.exists()  # the page only showed it

    html = csm_client.post(tick, {"done": "on"}, **HX).content.decode()

    copied = list(CtaStep.objects.filter(cta=cta).order_by("order"))
    assert [(s.text, s.done_at is not None) for s in copied] == [
        ("Call them", False),
        ("Agree a plan", True),
    ]
    assert html.lstrip().startswith(
        f'<li id="step-{copied[1].pk}" class="cta-step cta-step--done">'
    )
    assert "1 of 2 steps done" in html
    assert csm_client.post(reverse("actions:step_at", args=[cta.pk, 5]), {}).status_code == 404
    other = CallToActionFactory(playbook=playbook, steps_pending=True)
    assert csm_client.post(reverse("actions:step_at", args=[other.pk, 0]), {}).status_code == 403


def test_a_seeded_checklist_reads_in_the_readers_language(csm_client, csm_user) -> None:
    """Seeded steps are stored in English and shown translated (pending or copied); a step
    typed by an admin is shown as typed."""
    playbook = PlaybookFactory(band="red")
    playbook.steps.all().delete()
    seeded = "Call the customer within two days and hear what went wrong"
    PlaybookStepFactory(playbook=playbook, order=0, text=seeded)
    PlaybookStepFactory(playbook=playbook, order=1, text="Ring Jens")
    mine(csm_user, playbook=playbook, steps_pending=True)
    CtaStepFactory(cta=mine(csm_user), text=seeded)

    html = csm_client.get(reverse("actions:inbox"), headers={"accept-language": "da"})

    text = html.content.decode()
    assert text.count("Ring til kunden inden for to dage, og hør, hvad der gik galt") == 2
    assert seeded not in text and "Ring Jens" in text


def test_comments_in_place(csm_client, csm_user) -> None:
    cta = mine(csm_user)
    response = csm_client.post(
        reverse("actions:comment", args=[cta.pk]), {"body": "Left a voicemail"}, **HX
    )
    html = response.content.decode()
    assert "Left a voicemail" in html and "Comments (1)" in html
    empty = csm_client.post(reverse("actions:comment", args=[cta.pk]), {"body": " "}, **HX)
    assert "Write the comment first." in empty.content.decode()


def test_a_csm_cannot_act_on_another_csms_cta(csm_client, outcome) -> None:
    other = CallToActionFactory()
    step = CtaStepFactory(cta=other)
    for url, data in [
        (reverse("actions:done", args=[other.pk]), {"outcome": outcome.pk}),
        (
            reverse("actions:snooze", args=[other.pk]),
            {"until": (today() + dt.timedelta(days=3)).isoformat(), "reason": "x"},
        ),
        (reverse("actions:reopen", args=[other.pk]), {}),
        (reverse("actions:comment", args=[other.pk]), {"body": "Mine now"}),
        (reverse("actions:step", args=[step.pk]), {"done": "on"}),
    ]:
        assert csm_client.post(url, data, **HX).status_code == 403, url
    other.refresh_from_db()
    assert other.status == Status.OPEN and not other.comments.exists()
    assert CtaStep.objects.get(pk=step.pk).done_at is None
    assert csm_client.post(reverse("actions:done", args=[999999]), {}).status_code == 404
    # They can read it (every CSM reads every account), without the forms.
    html = csm_client.get(reverse("actions:cta", args=[other.pk])).content.decode()
    assert other.title in html and "Mark done" not in html


def test_a_manager_acts_on_a_csms_cta(manager_client, outcome) -> None:
    cta = CallToActionFactory()
    response = manager_client.post(
        reverse("actions:done", args=[cta.pk]), {"outcome": outcome.pk}, **HX
    )
    assert response.status_code == 200
    cta.refresh_from_db()
    assert cta.status == Status.DONE


def test_writes_refuse_get(csm_client, csm_user) -> None:
    cta = mine(csm_user)
    assert csm_client.get(reverse("actions:done", args=[cta.pk])).status_code == 405


# ---------------------------------------------------------------- opened by hand


def test_a_csm_opens_a_cta_by_hand_on_their_account(csm_client, csm_user) -> None:
    account = AccountFactory(owner=csm_user)
    url = reverse("actions:create") + f"?account={account.pk}"
    assert "New call to action" in csm_client.get(url).content.decode()
    data = {"title": "", "reason": "r", "due_date": "2000-01-01", "cta_type": "risk", "priority": 2}
    assert "This field is required." in csm_client.post(url, data).content.decode()
    # The service's own check lands on its field.
    late = csm_client.post(url, {**data, "title": "Call"}).content.decode()
    assert "or a later date" in late
    response = csm_client.post(
        url,
        {
            "title": "Book a QBR",
            "reason": "Sponsor changed",
            "due_date": (today() + dt.timedelta(days=5)).isoformat(),
            "cta_type": "lifecycle",
            "priority": 2,
        },
    )
    cta = CallToAction.objects.get()
    assert response.status_code == 302 and response.url == reverse("actions:cta", args=[cta.pk])
    assert (cta.title, cta.owner, cta.rule) == ("Book a QBR", csm_user, None)
    other = AccountFactory()
    assert csm_client.get(reverse("actions:create") + f"?account={other.pk}").status_code == 403


# ---------------------------------------------------------------- the navigation


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client", "admin_role_client"])
def test_every_role_has_my_actions_with_its_count(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)
    user = client.get(reverse("home")).context["user"]
    mine(user)
    mine(user, due_date=today() - dt.timedelta(days=1))
    html = client.get(reverse("home")).content.decode()
    assert 'href="/actions/"' in html
    assert nav_count(html) == "2"
