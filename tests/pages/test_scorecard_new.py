"""A new scorecard for some segments (Admins): empty or copied from another's active version,
opened as a draft in the editor; its segments change scorecard only when it is published."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Segment
from scoring import services
from scoring.models import Scorecard, ScorecardChange, ScorecardVersion
from scoring.specs import ScorecardAssignment, active_versions

# Session, user, permissions (2), scorecards, their segments and active versions, the
# segments, the role (measured: 8).
# +1: the navigation's count of the user's calls to action due now (every page).
NEW_MAX_QUERIES = 10


def assignment_name(segment: Segment) -> str:
    return ScorecardAssignment(active_versions()).for_segment(segment.pk).scorecard_name


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client"])
def test_only_admins_make_scorecards(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)

    assert client.get(reverse("scoring:scorecard_create")).status_code == 403
    response = client.post(reverse("scoring:scorecard_create"), {"name": "Nope", "start": "empty"})
    assert response.status_code == 403
    assert not Scorecard.objects.filter(name="Nope").exists()
    if client_fixture == "manager_client":
        listing = client.get(reverse("scoring:scorecards")).content.decode()
        assert reverse("scoring:scorecard_create") not in listing


def test_an_admin_makes_an_empty_scorecard_for_a_segment(
    admin_role_client, admin_role_user, django_assert_max_num_queries
) -> None:
    smb = Segment.objects.get(slug="smb")
    before = assignment_name(smb)
    listing = admin_role_client.get(reverse("scoring:scorecards")).content.decode()
    assert reverse("scoring:scorecard_create") in listing
    with django_assert_max_num_queries(NEW_MAX_QUERIES):
        page = admin_role_client.get(reverse("scoring:scorecard_create"))
    assert f"SMB (now: {before})" in page.content.decode()

    response = admin_role_client.post(
        reverse("scoring:scorecard_create"),
        {"name": "SMB self-serve", "segments": [str(smb.pk)], "start": "empty"},
    )

    card = Scorecard.objects.get(name="SMB self-serve")
    draft = card.versions.get()
    assert response.status_code == 302
    assert response.url == reverse("scoring:scorecard_draft", args=[card.pk, draft.number])
    assert (draft.status, draft.measures.count(), card.is_default) == ("draft", 0, False)
    assert list(card.segments.all()) == [smb]
    change = ScorecardChange.objects.get(scorecard=card)
    assert change.user == admin_role_user
    assert change.summary == "Scorecard created for SMB; draft v1: empty"
    # Nothing scores differently until it is published.
    assert assignment_name(smb) == before
    # The editor opens on it.
    editor = admin_role_client.get(response.url)
    assert editor.status_code == 200 and "SMB self-serve" in editor.content.decode()


def test_a_copy_starts_from_the_other_scorecards_active_version(admin_role_client) -> None:
    standard = Scorecard.objects.get(name="Standard")
    active = standard.versions.get(status="active")

    admin_role_client.post(
        reverse("scoring:scorecard_create"),
        {"name": "Standard for SMB", "segments": [], "start": str(standard.pk)},
    )

    draft = Scorecard.objects.get(name="Standard for SMB").versions.get()
    copied = list(draft.measures.order_by("order", "id").values_list("name", "metric", "weight"))
    original = list(active.measures.order_by("order", "id").values_list("name", "metric", "weight"))
    assert copied == original and copied
    assert (draft.green_at, draft.red_below, draft.band_mode) == (
        active.green_at,
        active.red_below,
        active.band_mode,
    )
    weights = dict(draft.category_weights.values_list("category", "weight"))
    assert weights == dict(active.category_weights.values_list("category", "weight"))
    # The original is untouched.
    assert active.measures.count() == len(original)


def test_publishing_the_new_scorecard_moves_its_segments_to_it(
    admin_role_user, django_capture_on_commit_callbacks
) -> None:
    enterprise = Segment.objects.get(slug="enterprise")
    old = assignment_name(enterprise)
    card_old = Scorecard.objects.get(name=old)
    draft = services.scorecard_create(
        name="Enterprise 2027",
        segments=[enterprise],
        copy_from=card_old,
        user=admin_role_user,
    )

    with django_capture_on_commit_callbacks(execute=False):
        services.scorecard_publish(draft=draft, user=admin_role_user)

    assert assignment_name(enterprise) == "Enterprise 2027"
    assert enterprise not in Scorecard.objects.get(pk=card_old.pk).segments.all()
    published = ScorecardChange.objects.get(scorecard=draft.scorecard, action="published")
    assert f"Segment Enterprise moved from {old} to Enterprise 2027" in published.diff
    assert ScorecardVersion.objects.filter(scorecard=card_old, status="active").count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"name": "standard", "start": "empty"},
            "name",
            "A scorecard named “standard” exists already.",
        ),
        ({"name": "", "start": "empty"}, "name", "Name the scorecard"),
        ({"name": "X", "start": "999"}, "start", "Select a valid choice."),
        (
            {"name": "X", "start": "empty", "segments": ["999"]},
            "segments",
            "Select a valid choice.",
        ),
    ],
)
def test_bad_input_creates_nothing_and_says_why(admin_role_client, data, field, message) -> None:
    count = Scorecard.objects.count()

    response = admin_role_client.post(reverse("scoring:scorecard_create"), data)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert Scorecard.objects.count() == count


def test_copy_links_preselect_the_source(admin_role_client) -> None:
    standard = Scorecard.objects.get(name="Standard")
    listing = admin_role_client.get(reverse("scoring:scorecards")).content.decode()
    link = f"{reverse('scoring:scorecard_create')}?from={standard.pk}"
    assert link in listing

    page = admin_role_client.get(link).content.decode()

    checked = re.findall(r'<input type="radio" name="start" value="(\w+)"[^>]*checked', page)
    assert checked == [str(standard.pk)]
