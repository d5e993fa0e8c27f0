"""Role changes are in the audit log wherever they are made: a command or a service adding,
removing, setting or clearing groups from either side, not only the Django admin; a caller
with a request gets one event per user with who and from where."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import RequestFactory

from accounts.audit_roles import role_changes_recorded
from accounts.models import AuditEvent
from healthboard.lib.roles import ADMIN, CSM, MANAGER
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def role_events() -> list[tuple[str, list[str], list[str]]]:
    return [
        (e.object_label, e.details["before"], e.details["after"])
        for e in AuditEvent.objects.filter(type=AuditEvent.Type.ROLE_CHANGED).order_by("id")
    ]


@pytest.fixture
def casey():
    return UserFactory(username="casey", role=CSM)


@pytest.fixture
def groups() -> dict[str, Group]:
    return {group.name: group for group in Group.objects.all()}


def test_a_group_added_in_code_is_recorded(casey, groups) -> None:
    AuditEvent.objects.all().delete()  # the factory's own role
    casey.groups.add(groups[MANAGER])

    assert role_events() == [("casey", ["CSM"], ["CSM", "Manager"])]
    event = AuditEvent.objects.get(type=AuditEvent.Type.ROLE_CHANGED)
    assert event.actor is None and event.object_id == str(casey.pk)
    assert event.message == "CSM → CSM, Manager"


def test_from_the_groups_side_too_each_member_once(casey, groups) -> None:
    morgan = UserFactory(username="morgan", role=CSM)
    AuditEvent.objects.all().delete()

    groups[ADMIN].user_set.add(casey, morgan)
    groups[CSM].user_set.clear()

    assert role_events() == [
        ("casey", ["CSM"], ["Admin", "CSM"]),
        ("morgan", ["CSM"], ["Admin", "CSM"]),
        ("casey", ["Admin", "CSM"], ["Admin"]),
        ("morgan", ["Admin", "CSM"], ["Admin"]),
    ]


def test_a_change_that_changes_nothing_is_not_recorded(casey, groups) -> None:
    AuditEvent.objects.all().delete()

    casey.groups.add(groups[CSM])
    casey.groups.remove(groups[MANAGER])

    assert role_events() == []


def test_a_caller_with_a_request_gets_one_event_per_user_with_who_and_where(
    casey, groups, admin_role_user
) -> None:
    AuditEvent.objects.all().delete()
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.5")
    request.user = admin_role_user

    with role_changes_recorded(request=request):
        casey.groups.set([groups[MANAGER]])  # a remove and an add

    event = AuditEvent.objects.get(type=AuditEvent.Type.ROLE_CHANGED)
    assert (event.actor, event.ip) == (admin_role_user, "10.0.0.5")
    assert event.details == {"before": ["CSM"], "after": ["Manager"]}


def test_a_block_that_fails_records_nothing(casey, groups) -> None:
    AuditEvent.objects.all().delete()

    with pytest.raises(RuntimeError), role_changes_recorded():
        casey.groups.add(groups[ADMIN])
        raise RuntimeError("rolled back")

    assert role_events() == []


def test_the_demo_users_roles_are_recorded(settings) -> None:
    """seed_demo's users (a command, outside the admin) get their roles on the record."""
    from healthboard.demo.users import ensure_users

    ensure_users()

    recorded = {label: after for label, _before, after in role_events()}
    assert recorded and all(after for after in recorded.values())
