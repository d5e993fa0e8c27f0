"""The role groups the migrations leave behind hold exactly each role's permissions: a
permission named in roles.py that no model has would be skipped by sync_role_groups."""

import pytest
from django.contrib.auth.models import Group

from healthboard.lib.roles import ROLES, role_permissions


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_group_has_exactly_its_permissions(role: str) -> None:
    granted = Group.objects.get(name=role).permissions.values_list(
        "content_type__app_label", "codename"
    )
    assert {f"{app}.{codename}" for app, codename in granted} == set(role_permissions(role))
