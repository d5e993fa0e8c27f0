"""Roles are Django groups: CSM, Manager, Admin. Views ask about permissions, not names."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

CSM, MANAGER, ADMIN = "CSM", "Manager", "Admin"
ROLES = (CSM, MANAGER, ADMIN)

ACCOUNT_MODELS = (
    "account",
    "segment",
    "journeystage",
    "metric",
    "signal",
    "note",
    "stagechange",
    "sentiment",
)
SCORING_MODELS = (
    "scorecard",
    "scorecardversion",
    "categoryweight",
    "measure",
    "scorerun",
    "scorechunk",
    "healthscore",
)
# What Admins edit about calls to action; CSMs work the CTAs themselves.
ACTION_MODELS = ("actionrule", "outcome", "playbook", "playbookstep")


def _perms(app: str, actions: tuple[str, ...], models: tuple[str, ...]) -> list[str]:
    return [f"{app}.{action}_{model}" for model in models for action in actions]


# What each role may do on top of the roles below it (design.md, "Who uses it").
ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Reads every account; writes notes, stage changes and their sentiment on their own book.
    CSM: _perms("accounts", ("view",), ACCOUNT_MODELS)
    + ["accounts.add_note", "accounts.add_stagechange", "accounts.add_sentiment"]
    + _perms("scoring", ("view",), ("healthscore", "scorerun"))
    # Their own CTAs: done, snoozed, steps ticked, comments (the page checks the owner).
    + _perms("scoring", ("view", "change"), ("calltoaction",))
    + ["scoring.add_ctacomment", "scoring.view_playbook"],
    # Team views, any account, reassigning owners, reading the scorecards.
    MANAGER: [
        "accounts.work_any_account",
        "accounts.view_team",
        "accounts.reassign_owner",
        "accounts.change_account",
    ]
    + _perms("scoring", ("view",), ("scorecard", "scorecardversion", "categoryweight", "measure")),
    # Scorecards, imports, the catalogue, API tokens and users.
    ADMIN: ["accounts.import_data"]
    + _perms("tokens", ("view", "add", "change"), ("apitoken",))
    + _perms("accounts", ("add", "change", "delete"), ACCOUNT_MODELS)
    + _perms("scoring", ("add", "change", "delete"), SCORING_MODELS)
    + _perms("scoring", ("view", "add", "change", "delete"), ACTION_MODELS)
    # Users, restricted (healthboard/pages/admin.py): never superuser status, permissions or
    # the groups' own permissions.
    + _perms("auth", ("view", "add", "change"), ("user",))
    + ["auth.view_group"]
    # Login lockouts (django-axes): see them, and unlock by deleting the attempt.
    + ["axes.view_accessattempt", "axes.delete_accessattempt", "axes.view_accesslog"]
    # The audit log: read, never edited (nobody has add/change/delete on it).
    + ["accounts.view_auditevent"],
}


def role_permissions(role: str) -> list[str]:
    """Roles are cumulative: a Manager can do what a CSM can, an Admin what a Manager can."""
    granted: list[str] = []
    for name in ROLES[: ROLES.index(role) + 1]:
        granted += ROLE_PERMISSIONS[name]
    return granted


def sync_role_groups(apps) -> None:
    """Create the role groups and give each exactly its permissions (data migrations)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    migrated = {app_config.label for app_config in apps.get_app_configs()}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in role_permissions(role):
            app_label, codename = perm.split(".")
            if app_label not in migrated:
                # An app whose models do not exist yet at this point of the migrations: its
                # own migration syncs the roles again once they do.
                continue
            found = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found is None:
                # A model whose migration has not run yet at this point of the plan (the
                # apps' migrations interleave): that migration syncs the roles again.
                continue
            wanted.append(found)
        group.permissions.set(wanted)


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


def role_grants(user, perm: str) -> bool:
    """Whether the user's role includes `perm`, for what a page shows: no query beyond
    role_of's (cached per request), where has_perm costs two. The view that acts still asks
    has_perm."""
    role = role_of(user)
    return role is not None and perm in role_permissions(role)


def can_work_on(user, account) -> bool:
    """CSMs write notes and change stages on their own accounts; Managers and Admins on all."""
    return user.has_perm("accounts.work_any_account") or (
        account.owner_id == user.pk and user.has_perm("accounts.add_note")
    )


def can_act_on_cta(user, cta) -> bool:
    """CSMs work the calls to action they own or that are on their own accounts; Managers
    and Admins any. `cta.account` should be loaded (select_related) to save a query."""
    if user.has_perm("accounts.work_any_account"):
        return True
    return (
        user.pk is not None
        and user.has_perm("scoring.change_calltoaction")
        and (cta.owner_id == user.pk or cta.account.owner_id == user.pk)
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
