"""Who can own accounts: the people the owner selects offer (account form, reassigning)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from healthboard.lib.roles import CSM, MANAGER


def owner_candidates(*, keep: AbstractBaseUser | None = None) -> list[AbstractBaseUser]:
    """Active CSMs and Managers by name (and `keep`, the current owner, whoever it is). One
    query."""
    users = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[CSM, MANAGER])
        .distinct()
        .only("id", "username", "first_name", "last_name", "email")
        .order_by("first_name", "last_name", "username")
    )
    if keep is not None and all(u.pk != keep.pk for u in users):
        users.append(keep)
    return users
