"""The playbooks pages (Admins): the grid of journey stages × bands, creating a missing
playbook, and the editor of its ordered steps (add, edit, remove, move up and down), which
changes future CTAs only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import JourneyStage
from scoring.models.actions import Playbook, PlaybookStep
from tests.factories import CallToActionFactory, CtaStepFactory, JourneyStageFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
# Session, user, permissions (2), the playbooks with their steps counted, the stages, the
# layout's role (measured: 7).
# +1: the navigation's count of the user's calls to action due now (every page).
GRID_MAX_QUERIES = 8
# Session, user, permissions (2), the playbook and its stage, its steps, its open CTAs, the
# layout's role (measured: 8).
# +1: the navigation's count of the user's calls to action due now (every page).
EDIT_MAX_QUERIES = 9


def steps_of(playbook: Playbook) -> list[str]:
    return list(playbook.steps.order_by("order", "id").values_list("text", flat=True))


def editor_data(name: str, steps: list[str], deleted: tuple[int, ...] = (), **extra) -> dict:
    """The editor's POST: its name, one row per step (and a blank "add" row)."""
    rows = [*steps, ""]
    data = {
        "name": name,
        "steps-TOTAL_FORMS": str(len(rows)),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "30",
    }
    for i, text in enumerate(rows):
        data[f"steps-{i}-text"] = text
        if i in deleted:
            data[f"steps-{i}-DELETE"] = "on"
    data.update(extra)
    return data


@pytest.fixture
def playbook(db) -> Playbook:
    """A seeded playbook with three known steps."""
    playbook = Playbook.objects.order_by("pk").first()
    playbook.steps.all().delete()
    for order, text in enumerate(["Call", "Plan", "Tell"]):
        PlaybookStep.objects.create(playbook=playbook, order=order, text=text)
    return playbook


# ---------------------------------------------------------------- who may


def test_anonymous_visitors_are_sent_to_log_in(client, playbook) -> None:
    for path in (reverse("playbooks:index"), reverse("playbooks:playbook", args=[playbook.pk])):
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client"])
def test_only_admins_see_or_change_playbooks(request, client_fixture, playbook) -> None:
    """A CSM may view a playbook (through their CTAs' checklists), never edit one."""
    client = request.getfixturevalue(client_fixture)
    page = reverse("playbooks:playbook", args=[playbook.pk])

    assert client.get(reverse("playbooks:index")).status_code == 403
    assert client.get(page).status_code == 403
    assert client.post(page, editor_data("Hacked", ["Nothing"])).status_code == 403
    stage, band = JourneyStageFactory(slug="pilot"), "red"
    new = reverse("playbooks:playbook_new")
    assert client.post(new, {"stage": stage.pk, "band": band}).status_code == 403
    assert steps_of(playbook) == ["Call", "Plan", "Tell"]
    assert not Playbook.objects.filter(stage=stage).exists()


# ---------------------------------------------------------------- the grid


def test_the_grid_links_each_stage_and_band_in_bounded_queries(
    admin_role_client, django_assert_max_num_queries
) -> None:
    for slug in ("pilot", "expansion-talks", "sunset"):
        JourneyStageFactory(slug=slug)  # new stages: no playbooks yet

    with django_assert_max_num_queries(GRID_MAX_QUERIES):
        response = admin_role_client.get(reverse("playbooks:index"))

    assert response.status_code == 200
    html = response.content.decode()
    for playbook in Playbook.objects.all():
        assert reverse("playbooks:playbook", args=[playbook.pk]) in html
    stages = JourneyStage.objects.count()
    assert len(response.context["rows"]) == stages
    assert [cell["band"] for cell in response.context["rows"][0]["cells"]] == [
        "green",
        "yellow",
        "red",
    ]
    assert response.context["missing"] == 9
    assert html.count('action="/playbooks/new/"') == 9
    assert "9 stage and band combinations have no playbook yet" in html


def test_the_grid_says_what_to_do_without_stages(admin_role_client) -> None:
    Playbook.objects.all().delete()
    JourneyStage.objects.all().delete()

    html = admin_role_client.get(reverse("playbooks:index")).content.decode()

    assert "No journey stages yet" in html
    assert reverse("catalogue:stage_new") in html


def test_a_missing_playbook_is_created_once(admin_role_client, admin_role_user) -> None:
    stage = JourneyStageFactory(slug="pilot")
    data = {"stage": stage.pk, "band": "yellow"}

    response = admin_role_client.post(reverse("playbooks:playbook_new"), data)
    again = admin_role_client.post(reverse("playbooks:playbook_new"), data)

    playbook = Playbook.objects.get(stage=stage, band="yellow")
    assert response.url == again.url == reverse("playbooks:playbook", args=[playbook.pk])
    assert playbook.name == "Pilot: recovery"
    assert playbook.updated_by == admin_role_user
    assert Playbook.objects.filter(stage=stage).count() == 1


@pytest.mark.parametrize("data", [{"stage": "999999", "band": "red"}, {"band": "purple"}, {}])
def test_creating_needs_a_real_stage_and_band(admin_role_client, data) -> None:
    if "band" in data and data["band"] == "purple":
        data["stage"] = JourneyStage.objects.first().pk
    before = Playbook.objects.count()

    response = admin_role_client.post(reverse("playbooks:playbook_new"), data, follow=True)

    assert "Choose a journey stage and a band" in response.content.decode()
    assert Playbook.objects.count() == before


# ---------------------------------------------------------------- the editor


def test_the_editor_shows_the_steps_in_order_in_bounded_queries(
    admin_role_client, playbook, django_assert_max_num_queries
) -> None:
    CallToActionFactory.create_batch(2, playbook=playbook)
    CallToActionFactory(playbook=playbook, status="done")

    with django_assert_max_num_queries(EDIT_MAX_QUERIES):
        response = admin_role_client.get(reverse("playbooks:playbook", args=[playbook.pk]))

    html = response.content.decode()
    assert html.index('value="Call"') < html.index('value="Plan"') < html.index('value="Tell"')
    assert "Editing changes future CTAs only." in html
    assert "the 2 open or snoozed ones with this playbook keep theirs" in html


def test_an_admin_edits_adds_and_removes_steps_at_once(
    admin_role_client, admin_role_user, playbook
) -> None:
    data = editor_data("Rescue", ["Call them", "Plan", "Tell"], deleted=(1,))
    data["steps-3-text"] = "Follow up in a week"

    response = admin_role_client.post(reverse("playbooks:playbook", args=[playbook.pk]), data)

    assert response.status_code == 302
    playbook.refresh_from_db()
    assert playbook.name == "Rescue"
    assert steps_of(playbook) == ["Call them", "Tell", "Follow up in a week"]
    assert list(playbook.steps.values_list("order", flat=True)) == [0, 1, 2]
    assert playbook.updated_by == admin_role_user


def test_an_edit_leaves_the_copies_ctas_carry(admin_role_client, playbook) -> None:
    cta = CallToActionFactory(playbook=playbook, playbook_name=playbook.name)
    CtaStepFactory(cta=cta, text="Call")

    admin_role_client.post(
        reverse("playbooks:playbook", args=[playbook.pk]), editor_data("New name", ["Email"])
    )

    cta.refresh_from_db()
    assert list(cta.steps.values_list("text", flat=True)) == ["Call"]
    assert cta.playbook_name != "New name"


def test_saving_an_unchanged_playbook_writes_nothing(admin_role_client, playbook) -> None:
    stamped = playbook.updated_at
    ids = list(playbook.steps.values_list("pk", flat=True))

    response = admin_role_client.post(
        reverse("playbooks:playbook", args=[playbook.pk]),
        editor_data(playbook.name, ["Call", "Plan", "Tell"]),
        follow=True,
    )

    assert "Nothing to save" in response.content.decode()
    playbook.refresh_from_db()
    assert playbook.updated_at == stamped
    assert list(playbook.steps.values_list("pk", flat=True)) == ids


@pytest.mark.parametrize(
    ("op", "shown"),
    [
        ("up:1", ["Plan", "Call", "Tell", ""]),
        ("down:0", ["Plan", "Call", "Tell", ""]),
        ("up:0", ["Call", "Plan", "Tell", ""]),  # the first cannot go higher
        ("down:3", ["Call", "Plan", "Tell", ""]),  # nor the last lower
        ("add", ["Call", "Plan", "Tell", "", ""]),
        ("sideways:1", ["Call", "Plan", "Tell", ""]),
    ],
)
def test_moving_and_adding_rows_changes_the_form_not_the_playbook(
    admin_role_client, playbook, op, shown
) -> None:
    data = editor_data(playbook.name, ["Call", "Plan", "Tell"], op=op)

    response = admin_role_client.post(
        reverse("playbooks:playbook", args=[playbook.pk]), data, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    # HTMX gets the form alone, the rows in their new order, unsaved.
    assert html.lstrip().startswith('<form id="playbook-form"')
    assert [form["text"].value() or "" for form in response.context["steps"].forms] == shown
    assert steps_of(playbook) == ["Call", "Plan", "Tell"]


def test_a_moved_step_keeps_its_remove_mark(admin_role_client, playbook) -> None:
    data = editor_data(playbook.name, ["Call", "Plan", "Tell"], deleted=(0,), op="down:0")

    response = admin_role_client.post(reverse("playbooks:playbook", args=[playbook.pk]), data)

    forms = response.context["steps"].forms
    assert forms[1]["text"].value() == "Call" and forms[1]["DELETE"].value()
    assert not forms[0]["DELETE"].value()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (editor_data("", ["Call"]), "This field is required."),
        (editor_data("Rescue", ["x" * 301]), "at most 300 characters"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    admin_role_client, playbook, data, message
) -> None:
    response = admin_role_client.post(reverse("playbooks:playbook", args=[playbook.pk]), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and "Nothing was changed" in html
    assert steps_of(playbook) == ["Call", "Plan", "Tell"]


def test_too_many_steps_are_refused(admin_role_client, playbook) -> None:
    data = editor_data(playbook.name, [f"Step {i}" for i in range(31)])

    response = admin_role_client.post(reverse("playbooks:playbook", args=[playbook.pk]), data)

    assert response.status_code == 400
    assert "A playbook has at most 30 steps; this one would have 31." in response.content.decode()
    assert steps_of(playbook) == ["Call", "Plan", "Tell"]
