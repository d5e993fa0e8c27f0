"""Accounts made and edited by hand (Admins), with the import's rules and words, each change
recorded with its old and new value; owners reassigned from the account's page (Managers)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.imports import import_records
from accounts.models import Account, FieldChange, JourneyStage, Note, Segment, StageChange
from healthboard.lib.roles import CSM, MANAGER
from tests.factories import AccountFactory, UserFactory

HX = {"HTTP_HX_REQUEST": "true"}
# Session, user, permissions (2), role, segments, stages, owners (+ the account and its
# changes when editing); measured 10 when editing.
# +1: the navigation's count of the user's calls to action due now (every page).
FORM_MAX_QUERIES = 11


@pytest.fixture
def owner(db):
    return UserFactory(username="priya", first_name="Priya", last_name="Raman", role=CSM)


def account_data(**changes) -> dict:
    data = {
        "external_id": "CRM-1001",
        "name": "Acme Logistics",
        "segment": str(Segment.objects.get(slug="enterprise").pk),
        "owner": "",
        "stage": str(JourneyStage.objects.get(slug="onboarding").pk),
        "industry": "Freight",
        "arr": "120,000.50",
        "plan": "Business",
        "seats": "40",
        "start_date": "2026-01-15",
        "renewal_date": "2027-01-15",
        "status": "active",
        "churn_date": "",
    }
    return {**data, **changes}


def form_errors(response) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def import_reasons(record: dict) -> dict[str, list[str]]:
    result = import_records(kind="accounts", records=[record], dry_run=True)
    reasons: dict[str, list[str]] = {}
    for error in result.errors:
        reasons.setdefault(error.column, []).append(error.reason)
    return reasons


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client"])
def test_only_admins_create_or_edit_accounts(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)
    account = AccountFactory()

    assert client.get(reverse("accounts:create")).status_code == 403
    assert client.post(reverse("accounts:create"), account_data()).status_code == 403
    edit = reverse("accounts:edit", args=[account.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, account_data(name="Renamed")).status_code == 403
    assert Account.objects.get(pk=account.pk).name == account.name
    assert (
        "Edit account"
        not in client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    )


# ---------------------------------------------------------------- creating


def test_an_admin_creates_an_account(
    admin_role_client, admin_role_user, owner, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(FORM_MAX_QUERIES):
        assert admin_role_client.get(reverse("accounts:create")).status_code == 200

    response = admin_role_client.post(reverse("accounts:create"), account_data(owner=str(owner.pk)))

    account = Account.objects.get(external_id="CRM-1001")
    assert response.status_code == 302
    assert response.url == reverse("accounts:detail", args=[account.pk])
    assert (account.name, account.arr, account.seats, account.owner) == (
        "Acme Logistics",
        Decimal("120000.50"),
        40,
        owner,
    )
    assert account.stage_since is not None
    created = {
        c.field: c.new_value
        for c in FieldChange.objects.filter(object_type="account", object_id=account.pk)
    }
    assert created["owner"] == "Priya Raman" and created["arr"] == "120000.50"
    assert created["segment"] == "Enterprise" and created["start_date"] == "2026-01-15"
    assert "churn_date" not in created  # nothing set, nothing recorded


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("arr", "12,5"),
        ("arr", "-5"),
        ("arr", "1e20"),
        ("seats", "4.5"),
        ("start_date", "2026-02-30"),
        ("renewal_date", "31/12/2026"),
        ("status", "paused"),
        ("name", "N" * 201),
        ("external_id", "X" * 101),
    ],
)
def test_a_bad_value_reads_as_in_an_import(admin_role_client, field, value) -> None:
    """The same bad value, the same words: at the form's field as in an import's row errors."""
    data = account_data(**{field: value})
    record = {**data, "segment": "Enterprise", "stage": "Onboarding"}

    response = admin_role_client.post(reverse("accounts:create"), data)

    assert response.status_code == 400
    assert form_errors(response) == import_reasons(record)
    assert field in form_errors(response)
    assert not Account.objects.exists() and not FieldChange.objects.exists()


def test_an_unknown_segment_lists_the_known_ones(admin_role_client) -> None:
    response = admin_role_client.post(
        reverse("accounts:create"), account_data(segment="Government")
    )

    assert form_errors(response) == {
        "segment": ["unknown segment 'Government' (known: Enterprise, Mid-market, SMB)"]
    }


def test_required_fields_say_a_value_is_required(admin_role_client) -> None:
    response = admin_role_client.post(
        reverse("accounts:create"), account_data(name="", start_date="", stage="")
    )

    assert form_errors(response) == {
        "name": ["a value is required"],
        "start_date": ["a value is required"],
        "stage": ["a value is required"],
    }


def test_an_external_id_in_use_is_refused(admin_role_client) -> None:
    AccountFactory(external_id="CRM-1001", name="Globex")

    response = admin_role_client.post(reverse("accounts:create"), account_data())

    assert form_errors(response) == {
        "external_id": ["'CRM-1001' is the external id of 'Globex' already"]
    }
    assert Account.objects.count() == 1


# ---------------------------------------------------------------- editing


def test_editing_records_each_changed_field_with_old_and_new(
    admin_role_client, admin_role_user, owner, django_assert_max_num_queries
) -> None:
    account = AccountFactory(
        name="Acme",
        external_id="CRM-1001",
        arr=Decimal("50000"),
        owner=owner,
        stage=JourneyStage.objects.get(slug="adoption"),
    )
    edit = reverse("accounts:edit", args=[account.pk])
    with django_assert_max_num_queries(FORM_MAX_QUERIES):
        assert admin_role_client.get(edit).status_code == 200
    data = {
        **account_data(),
        **admin_role_client.get(edit).context["form"].initial,
    }
    data = {k: ("" if v is None else getattr(v, "pk", v)) for k, v in data.items()}
    data.update(
        arr="75000",
        segment=Segment.objects.get(slug="smb").pk,
        stage=JourneyStage.objects.get(slug="value").pk,
        start_date=account.start_date.isoformat(),
        renewal_date=account.renewal_date.isoformat(),
    )

    response = admin_role_client.post(edit, data)

    assert response.status_code == 302
    changes = {
        (c.field, c.old_value, c.new_value)
        for c in FieldChange.objects.filter(object_type="account", object_id=account.pk)
    }
    assert changes == {
        ("arr", "50000.00", "75000.00"),
        ("segment", "Enterprise", "SMB"),
        ("stage", "Adoption", "Value realisation"),
    }
    # A new stage is a stage change as on the account's page.
    assert StageChange.objects.filter(account=account).count() == 1
    assert Note.objects.filter(account=account, kind=Note.Kind.STAGE_CHANGE).exists()
    account.refresh_from_db()
    assert account.stage_since == timezone.localdate()

    # The account's page shows the history (loaded when its section opens).
    page = admin_role_client.get(reverse("accounts:detail", args=[account.pk]))
    assert reverse("accounts:edit", args=[account.pk]) in page.content.decode()
    # Session, user, permission (2), account, its changes, the role (context processor).
    with django_assert_max_num_queries(7):
        history = admin_role_client.get(reverse("accounts:changes", args=[account.pk]), **HX)
    text = text_of(history)
    assert "<html" not in history.content.decode()
    assert "ARR" in text and "50000.00" in text and "75000.00" in text and "Alex Tester" in text


def test_saving_an_unchanged_account_records_nothing(admin_role_client) -> None:
    account = AccountFactory(external_id="CRM-1001", owner=None)
    data = account_data(
        name=account.name,
        industry=account.industry,
        plan=account.plan,
        arr="50000",
        seats="50",
        stage=account.stage_id,
        start_date=account.start_date.isoformat(),
        renewal_date=account.renewal_date.isoformat(),
    )

    admin_role_client.post(reverse("accounts:edit", args=[account.pk]), data)

    assert not FieldChange.objects.exists()
    assert not StageChange.objects.exists()


# ---------------------------------------------------------------- reassigning one account


def test_a_manager_reassigns_an_account_from_its_page(
    manager_client, manager_user, owner, django_assert_max_num_queries
) -> None:
    account = AccountFactory(owner=owner)
    successor = UserFactory(username="jonas", first_name="Jonas", last_name="Becker", role=CSM)
    url = reverse("accounts:reassign", args=[account.pk])
    page = manager_client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert url in page

    with django_assert_max_num_queries(8):
        form = manager_client.get(url, **HX)
    assert "Jonas Becker" in form.content.decode() and "<html" not in form.content.decode()

    response = manager_client.post(url, {"owner": successor.pk}, **HX)

    account.refresh_from_db()
    assert account.owner == successor
    html = response.content.decode()
    assert f"{account.name} now belongs to Jonas Becker." in html
    assert 'id="account-owner" hx-swap-oob="true"' in html
    change = FieldChange.objects.get(object_id=account.pk)
    assert (change.field, change.old_value, change.new_value, change.user) == (
        "owner",
        "Priya Raman",
        "Jonas Becker",
        manager_user,
    )


def test_reassigning_to_nobody_and_without_javascript(manager_client, owner) -> None:
    account = AccountFactory(owner=owner)

    response = manager_client.post(
        reverse("accounts:reassign", args=[account.pk]), {"owner": "none"}
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.owner is None
    assert FieldChange.objects.get().new_value == ""


def test_a_bad_owner_is_refused(manager_client, owner) -> None:
    account = AccountFactory(owner=owner)
    admin = UserFactory(role="Admin")  # not someone who owns accounts

    for value, reason in [
        ("", "Pick who takes the account(s)."),
        (str(admin.pk), f"unknown owner '{admin.pk}' (known: "),
    ]:
        response = manager_client.post(
            reverse("accounts:reassign", args=[account.pk]), {"owner": value}, **HX
        )
        assert response.status_code == 400
        assert reason in response.content.decode().replace("&#x27;", "'")
    assert Account.objects.get(pk=account.pk).owner == owner
    assert not FieldChange.objects.exists()


def test_a_csm_cannot_reassign(csm_client, csm_user) -> None:
    account = AccountFactory(owner=csm_user)
    url = reverse("accounts:reassign", args=[account.pk])

    assert csm_client.get(url).status_code == 403
    assert csm_client.post(url, {"owner": "none"}).status_code == 403
    assert Account.objects.get(pk=account.pk).owner == csm_user
    assert url not in csm_client.get(reverse("accounts:detail", args=[account.pk])).content.decode()


def test_managers_are_offered_as_owners_too(manager_client) -> None:
    account = AccountFactory()
    other = UserFactory(first_name="Morgan", last_name="Other", role=MANAGER)

    form = manager_client.get(reverse("accounts:reassign", args=[account.pk]))

    assert "Morgan Other" in form.content.decode() and str(other.pk) in form.content.decode()


def test_empty_arr_and_seats_are_zero_as_in_an_import(admin_role_client) -> None:
    response = admin_role_client.post(reverse("accounts:create"), account_data(arr=" ", seats=""))

    assert response.status_code == 302
    account = Account.objects.get()
    assert (account.arr, account.seats) == (Decimal("0.00"), 0)


def test_every_error_at_once_and_no_traceback(admin_role_client) -> None:
    """An empty form with one bad number: each field says what is wrong, nothing is saved."""
    empty = {field: "" for field in account_data()}

    response = admin_role_client.post(reverse("accounts:create"), {**empty, "arr": "12,5"})

    assert response.status_code == 400
    errors = form_errors(response)
    assert errors["arr"] == [
        "'12,5' is not a number in this file's format (decimal point, as 1,234.5)"
    ]
    for field in ("external_id", "name", "segment", "stage", "start_date", "status"):
        assert errors[field] == ["a value is required"], field
    assert not Account.objects.exists()


def test_a_stage_change_on_the_account_page_is_in_its_history(manager_client, manager_user) -> None:
    account = AccountFactory(stage=JourneyStage.objects.get(slug="adoption"))
    renewal = JourneyStage.objects.get(slug="renewal")

    manager_client.post(reverse("accounts:change_stage", args=[account.pk]), {"stage": renewal.pk})

    change = FieldChange.objects.get(object_id=account.pk)
    assert (change.field, change.old_value, change.new_value, change.user) == (
        "stage",
        "Adoption",
        "Renewal",
        manager_user,
    )
    history = manager_client.get(reverse("accounts:changes", args=[account.pk]))
    assert "Adoption" in history.content.decode() and "Renewal" in history.content.decode()
