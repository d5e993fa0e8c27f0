"""The catalogue pages: segments, journey stages and metrics made and edited by hand, with the
import's rules and its words, and every change recorded with its old and new value."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.imports import import_records
from accounts.models import FieldChange, JourneyStage, Metric, Segment
from scoring.models import Measure
from tests.factories import AccountFactory, MetricFactory

# Session, user, two permission queries, the three lists, the layout's role (measured: 8).
# +1: the navigation's count of the user's calls to action due now (every page).
INDEX_MAX_QUERIES = 9
# Session, user, permissions (2), the object, its changes, role (metric form: categories).
EDIT_MAX_QUERIES = 8


def errors_of(response) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def import_reasons(kind: str, record: dict) -> dict[str, list[str]]:
    """What an import of this one record says is wrong, by field (a dry run: nothing is
    written)."""
    result = import_records(kind=kind, records=[record], dry_run=True)
    reasons: dict[str, list[str]] = {}
    for error in result.errors:
        reasons.setdefault(error.column, []).append(error.reason)
    return reasons


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client"])
@pytest.mark.parametrize(
    "path",
    [
        reverse("catalogue:index"),
        reverse("catalogue:segment_new"),
        reverse("catalogue:stage_new"),
        reverse("catalogue:metric_new"),
        reverse("accounts:create"),
    ],
)
def test_only_admins_open_the_catalogue(request, client_fixture, path) -> None:
    client = request.getfixturevalue(client_fixture)

    assert client.get(path).status_code == 403
    # The list takes no POST at all.
    refused = 405 if path == reverse("catalogue:index") else 403
    assert client.post(path, {"name": "Nope", "key": "nope"}).status_code == refused
    assert not Segment.objects.filter(name="Nope").exists()


def test_a_manager_cannot_edit_a_segment_or_metric(manager_client) -> None:
    segment = Segment.objects.get(slug="smb")
    metric = MetricFactory()

    for path in (
        reverse("catalogue:segment", args=[segment.pk]),
        reverse("catalogue:metric", args=[metric.pk]),
    ):
        assert manager_client.get(path).status_code == 403
        assert manager_client.post(path, {"name": "Renamed"}).status_code == 403
    assert Segment.objects.get(pk=segment.pk).name == "SMB"


def test_the_catalogue_lists_segments_stages_and_metrics(
    admin_role_client, django_assert_max_num_queries
) -> None:
    AccountFactory.create_batch(3)  # Enterprise, Adoption

    with django_assert_max_num_queries(INDEX_MAX_QUERIES):
        response = admin_role_client.get(reverse("catalogue:index"))

    assert response.status_code == 200
    html = response.content.decode()
    for segment in Segment.objects.all():
        assert reverse("catalogue:segment", args=[segment.pk]) in html
    for stage in JourneyStage.objects.all():
        assert reverse("catalogue:stage", args=[stage.pk]) in html
    for metric in Metric.objects.all():
        assert reverse("catalogue:metric", args=[metric.pk]) in html
    counts = {s.name: s.n for s in response.context["segments"]}
    assert counts["Enterprise"] == 3 and counts["SMB"] == 0


def test_the_catalogue_says_what_to_do_when_it_is_empty(admin_role_client) -> None:
    Measure.objects.all().delete()
    Metric.objects.all().delete()

    response = admin_role_client.get(reverse("catalogue:index"))

    assert "No metrics yet." in response.content.decode()


# ---------------------------------------------------------------- segments


def test_an_admin_creates_a_segment_and_its_creation_is_recorded(
    admin_role_client, admin_role_user
) -> None:
    response = admin_role_client.post(reverse("catalogue:segment_new"), {"name": "Public sector"})

    segment = Segment.objects.get(name="Public sector")
    assert response.status_code == 302
    assert response.url == reverse("catalogue:segment", args=[segment.pk])
    assert segment.slug == "public-sector"
    rows = FieldChange.objects.filter(object_type="segment", object_id=segment.pk)
    assert {(r.field, r.old_value, r.new_value, r.action) for r in rows} == {
        ("name", "", "Public sector", "created"),
        ("slug", "", "public-sector", "created"),
    }
    assert {r.user for r in rows} == {admin_role_user}


def test_renaming_a_segment_records_old_and_new_and_shows_them(
    admin_role_client, admin_role_user, django_assert_max_num_queries
) -> None:
    segment = Segment.objects.get(slug="smb")
    url = reverse("catalogue:segment", args=[segment.pk])

    admin_role_client.post(url, {"name": "Small business", "slug": "smb"})

    change = FieldChange.objects.get(object_type="segment", object_id=segment.pk)
    assert (change.field, change.label, change.old_value, change.new_value) == (
        "name",
        "Name",
        "SMB",
        "Small business",
    )
    assert change.user == admin_role_user and change.action == "changed"
    with django_assert_max_num_queries(EDIT_MAX_QUERIES):
        page = admin_role_client.get(url)
    text = re.sub(r"\s+", " ", page.content.decode())
    assert "Small business" in text and "SMB" in text and "Alex Tester" in text


def test_saving_an_unchanged_segment_records_nothing(admin_role_client) -> None:
    segment = Segment.objects.get(slug="smb")

    admin_role_client.post(
        reverse("catalogue:segment", args=[segment.pk]), {"name": "SMB", "slug": "smb"}
    )

    assert not FieldChange.objects.exists()


def test_a_segment_name_taken_by_another_is_refused(admin_role_client) -> None:
    response = admin_role_client.post(reverse("catalogue:segment_new"), {"name": "  mid market "})

    assert response.status_code == 400
    assert errors_of(response) == {"name": ["a segment named 'Mid-market' exists already"]}
    assert Segment.objects.count() == 3 and not FieldChange.objects.exists()


def test_a_too_long_segment_name_reads_as_in_an_import(admin_role_client) -> None:
    name = "S" * 61

    response = admin_role_client.post(reverse("catalogue:segment_new"), {"name": name})

    assert errors_of(response) == {"name": ["longer than 60 characters"]}


# ---------------------------------------------------------------- journey stages


def test_an_admin_adds_a_stage_at_the_end_and_edits_its_target(admin_role_client) -> None:
    new = admin_role_client.get(reverse("catalogue:stage_new"))
    last = JourneyStage.objects.order_by("-order").first()
    assert new.context["form"].initial["order"] == last.order + 1

    admin_role_client.post(
        reverse("catalogue:stage_new"),
        {"name": "Expansion", "order": last.order + 1, "target_days": 120},
    )
    stage = JourneyStage.objects.get(name="Expansion")
    admin_role_client.post(
        reverse("catalogue:stage", args=[stage.pk]),
        {"name": "Expansion", "slug": stage.slug, "order": stage.order, "target_days": 180},
    )

    change = FieldChange.objects.filter(object_type="journeystage", action="changed").get()
    assert (change.field, change.old_value, change.new_value) == ("target_days", "120", "180")


def test_a_stage_position_taken_is_refused(admin_role_client) -> None:
    first = JourneyStage.objects.order_by("order").first()

    response = admin_role_client.post(
        reverse("catalogue:stage_new"), {"name": "Pilot", "order": first.order, "target_days": 30}
    )

    assert errors_of(response) == {
        "order": [f"position {first.order} is {first.name}'s; pick a free one"]
    }


# ---------------------------------------------------------------- metrics


METRIC = {
    "key": "nps_relationship",
    "name": "Relationship NPS",
    "unit": "0–10",
    "category": "Sentiment",
    "direction": "1",
    "description": "",
}


def test_an_admin_creates_and_edits_a_metric(admin_role_client) -> None:
    admin_role_client.post(reverse("catalogue:metric_new"), METRIC)
    metric = Metric.objects.get(key="nps_relationship")
    assert (metric.name, metric.direction, metric.category) == ("Relationship NPS", 1, "Sentiment")

    response = admin_role_client.post(
        reverse("catalogue:metric", args=[metric.pk]),
        {**METRIC, "key": "something_else", "direction": "-1", "unit": ""},
    )

    metric.refresh_from_db()
    assert response.status_code == 302
    # The key stays: signals find the metric by it.
    assert (metric.key, metric.direction, metric.unit) == ("nps_relationship", -1, "")
    changed = {
        (c.field, c.old_value, c.new_value)
        for c in FieldChange.objects.filter(object_id=metric.pk, action="changed")
    }
    assert changed == {("direction", "More is better", "More is worse"), ("unit", "0–10", "")}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", "nps relationship"),
        ("key", "k" * 61),
        ("direction", "sideways"),
        ("name", "N" * 101),
        ("category", "C" * 31),
        ("description", "D" * 10_001),
    ],
)
def test_a_bad_metric_value_reads_as_in_an_import(admin_role_client, field, value) -> None:
    """The same bad value, the same words: on the page as in an import's row errors."""
    row = {**METRIC, field: value}

    response = admin_role_client.post(reverse("catalogue:metric_new"), row)

    assert response.status_code == 400
    assert errors_of(response) == import_reasons("metrics", row)
    assert field in errors_of(response)
    assert not Metric.objects.filter(name=METRIC["name"]).exists()


def test_a_metric_key_taken_is_refused(admin_role_client) -> None:
    response = admin_role_client.post(reverse("catalogue:metric_new"), {**METRIC, "key": "logins"})

    assert errors_of(response) == {"key": ["the metric 'Logins' has the key 'logins'"]}


def test_a_missing_metric_name_says_a_value_is_required(admin_role_client) -> None:
    response = admin_role_client.post(reverse("catalogue:metric_new"), {**METRIC, "name": " "})

    assert errors_of(response) == {"name": ["a value is required"]}
