"""The CTA outcomes page (Admins): the list a CSM picks from when closing a CTA; added,
edited, offered or not in place, deleted only while no CTA was closed with it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring.models.actions import Outcome
from tests.factories import CallToActionFactory, OutcomeFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
# Session, user, permissions (2), the outcomes with their CTAs counted (one GROUP BY), the
# layout's role (measured: 6).
# +1: the navigation's count of the user's calls to action due now (every page).
LIST_MAX_QUERIES = 7
# Session, user, permissions (2), the outcome, its row with its CTAs counted, role (measured: 7).
# +1: the navigation's count of the user's calls to action due now (every page).
EDIT_MAX_QUERIES = 8


# ---------------------------------------------------------------- who may


def test_anonymous_visitors_are_sent_to_log_in(client) -> None:
    response = client.get(reverse("playbooks:outcomes"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client"])
def test_only_admins_see_or_change_outcomes(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)
    outcome = Outcome.objects.get(name="Renewed")
    page = reverse("playbooks:outcome", args=[outcome.pk])

    for path in (reverse("playbooks:outcomes"), reverse("playbooks:outcome_new"), page):
        assert client.get(path).status_code == 403, path
    assert client.post(page, {"name": "Hacked", "order": "1"}).status_code == 403
    assert client.post(reverse("playbooks:outcome_new"), {"name": "Hacked"}).status_code == 403
    toggle = reverse("playbooks:outcome_toggle", args=[outcome.pk])
    assert client.post(toggle, {"active": "0"}).status_code == 403
    assert client.post(reverse("playbooks:outcome_delete", args=[outcome.pk])).status_code == 403
    outcome.refresh_from_db()
    assert outcome.name == "Renewed" and outcome.active


# ---------------------------------------------------------------- the list


def test_the_list_shows_each_outcome_in_order_in_bounded_queries(
    admin_role_client, django_assert_max_num_queries
) -> None:
    renewed = Outcome.objects.get(name="Renewed")
    CallToActionFactory.create_batch(2, status="done", outcome=renewed)
    OutcomeFactory.create_batch(10)

    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = admin_role_client.get(reverse("playbooks:outcomes"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Back on track") < html.index("Renewed") < html.index("Not needed")
    shown = {outcome.name: outcome.n_ctas for outcome in response.context["outcomes"]}
    assert shown["Renewed"] == 2 and shown["Escalated"] == 0


def test_the_list_says_what_to_do_without_outcomes(admin_role_client) -> None:
    Outcome.objects.all().delete()

    html = admin_role_client.get(reverse("playbooks:outcomes")).content.decode()

    assert "No outcomes yet" in html and reverse("playbooks:outcome_new") in html


# ---------------------------------------------------------------- add and edit


def test_an_admin_adds_an_outcome_at_the_end(admin_role_client) -> None:
    page = admin_role_client.get(reverse("playbooks:outcome_new"))
    last = max(Outcome.objects.values_list("order", flat=True))
    assert page.context["form"]["order"].value() == last + 1

    response = admin_role_client.post(
        reverse("playbooks:outcome_new"),
        {"name": "Downgraded", "order": str(last + 1), "active": "on"},
    )

    assert response.status_code == 302
    outcome = Outcome.objects.get(name="Downgraded")
    assert (outcome.is_success, outcome.active, outcome.order) == (False, True, last + 1)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "order": "1"}, "name", "This field is required."),
        ({"name": "renewed", "order": "1"}, "name", "the outcome “Renewed” exists already"),
        ({"name": "Fine", "order": "-1"}, "order", "greater than or equal to 0"),
        ({"name": "x" * 61, "order": "1"}, "name", "at most 60 characters"),
    ],
)
def test_bad_input_is_refused_at_its_field(admin_role_client, data, field, message) -> None:
    before = Outcome.objects.count()

    response = admin_role_client.post(reverse("playbooks:outcome_new"), data)

    assert response.status_code == 400
    assert any(message in e for e in response.context["form"].errors[field])
    assert Outcome.objects.count() == before


def test_an_admin_edits_an_outcome(admin_role_client, django_assert_max_num_queries) -> None:
    outcome = Outcome.objects.get(name="Escalated")
    page = reverse("playbooks:outcome", args=[outcome.pk])
    with django_assert_max_num_queries(EDIT_MAX_QUERIES):
        assert admin_role_client.get(page).status_code == 200

    admin_role_client.post(
        page, {"name": "Escalated to leadership", "is_success": "on", "order": "9"}
    )

    outcome.refresh_from_db()
    assert outcome.name == "Escalated to leadership"
    assert (outcome.is_success, outcome.active, outcome.order) == (True, False, 9)


# ---------------------------------------------------------------- offered or not, deleted


def test_an_outcome_is_deactivated_in_place_and_again_changes_nothing(admin_role_client) -> None:
    outcome = Outcome.objects.get(name="Escalated")
    toggle = reverse("playbooks:outcome_toggle", args=[outcome.pk])

    for _ in range(2):
        response = admin_role_client.post(toggle, {"active": "0"}, **HTMX)
        html = response.content.decode()
        assert html.lstrip().startswith(f'<tr id="outcome-{outcome.pk}"')
        assert 'name="active" value="1"' in html
    outcome.refresh_from_db()
    assert not outcome.active

    admin_role_client.post(toggle, {"active": "1"})
    outcome.refresh_from_db()
    assert outcome.active


def test_an_unused_outcome_is_deleted(admin_role_client) -> None:
    outcome = OutcomeFactory()
    page = admin_role_client.get(reverse("playbooks:outcome", args=[outcome.pk]))
    assert reverse("playbooks:outcome_delete", args=[outcome.pk]) in page.content.decode()

    response = admin_role_client.post(reverse("playbooks:outcome_delete", args=[outcome.pk]))

    assert response.status_code == 302
    assert not Outcome.objects.filter(pk=outcome.pk).exists()


def test_an_outcome_a_cta_was_closed_with_can_only_be_deactivated(admin_role_client) -> None:
    outcome = Outcome.objects.get(name="Renewed")
    CallToActionFactory(status="done", outcome=outcome)
    page = admin_role_client.get(reverse("playbooks:outcome", args=[outcome.pk]))
    html = page.content.decode()
    assert reverse("playbooks:outcome_delete", args=[outcome.pk]) not in html
    assert "Stop offering it" in html

    response = admin_role_client.post(
        reverse("playbooks:outcome_delete", args=[outcome.pk]), follow=True
    )

    assert "1 call to action closed with “Renewed”: deactivate it instead" in (
        response.content.decode()
    )
    assert Outcome.objects.filter(pk=outcome.pk).exists()
