"""Roles are Django groups: CSM, Manager, Admin. Views ask about permissions, not names."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

CSM, MANAGER, ADMIN = "CSM", "Manager", "Admin"
ROLES = (CSM, MANAGER, ADMIN)

# What each role may do beyond reading (design.md, "Who uses it").
ROLE_PERMISSIONS: dict[str, list[str]] = {
    CSM: [
        "accounts.view_account",
        "accounts.add_note",
        "accounts.add_stagechange",
        "scoring.view_healthscore",
    ],
    MANAGER: [
        "accounts.work_any_account",
        "accounts.view_team",
        "accounts.reassign_owner",
        "scoring.view_scorecard",
        "scoring.view_scorecardversion",
    ],
    ADMIN: [
        "accounts.import_data",
        "scoring.add_scorecard",
        "scoring.change_scorecard",
        "scoring.add_scorecardversion",
        "scoring.change_scorecardversion",
        "scoring.add_measure",
        "scoring.change_measure",
        "scoring.delete_measure",
        "scoring.add_scorerun",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
    ],
}


def role_permissions(role: str) -> list[str]:
    """Roles are cumulative: a Manager can do what a CSM can, an Admin what a Manager can."""
    granted: list[str] = []
    for name in ROLES[: ROLES.index(role) + 1]:
        granted += ROLE_PERMISSIONS[name]
    return granted


def role_of(user: AbstractBaseUser | AnonymousUser) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    cached = getattr(user, "_healthboard_role", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = next((role for role in reversed(ROLES) if role in names), "")
        user._healthboard_role = cached
    return cached or None


def can_work_on(user, account) -> bool:
    """CSMs write notes and change stages on their own accounts; Managers and Admins on all."""
    return user.has_perm("accounts.work_any_account") or (
        account.owner_id == user.pk and user.has_perm("accounts.add_note")
    )


def permission_required(perm: str) -> Callable:
    """Like Django's, but a logged-in user without the permission gets 403, not a login loop."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.has_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def roles_context(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"role": role_of(user)}
