"""The demo's login users: one per role, CSMs with books of accounts, printed passwords."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from healthboard.demo import DemoError
from healthboard.lib.roles import ADMIN, CSM, MANAGER

DEMO_PASSWORDS = {
    ADMIN: "healthboard-admin",
    MANAGER: "healthboard-manager",
    CSM: "healthboard-csm",
}
# username, role, first name, last name
DEMO_USERS = [
    ("admin", ADMIN, "Alex", "Rivera"),
    ("manager", MANAGER, "Morgan", "Hayes"),
    ("csm1", CSM, "Priya", "Raman"),
    ("csm2", CSM, "Jonas", "Becker"),
    ("csm3", CSM, "Amara", "Okafor"),
    ("csm4", CSM, "Lucas", "Moreau"),
    ("csm5", CSM, "Sofia", "Lindqvist"),
    ("csm6", CSM, "Daniel", "Kim"),
]
# Books are uneven: one share per CSM above, in order; the last share is "unassigned".
OWNER_SHARES = [0.23, 0.20, 0.18, 0.15, 0.13, 0.09, 0.02]


def ensure_users() -> tuple[list[int | None], list[tuple[str, str, str, bool]]]:
    """The demo login users (created if missing).

    Returns the account owners, index for index with OWNER_SHARES (the CSMs' ids, then None
    for "unassigned"), and each user's (username, password, role, created now).
    """
    User = get_user_model()
    groups = {group.name: group for group in Group.objects.filter(name__in=DEMO_PASSWORDS)}
    missing = set(DEMO_PASSWORDS) - set(groups)
    if missing:
        raise DemoError(f"The role groups {sorted(missing)} are missing; run migrate first.")
    existing = {
        user.username: user
        for user in User.objects.filter(username__in=[row[0] for row in DEMO_USERS])
    }
    hashes: dict[str, str] = {}  # one hash per password: hashing is deliberately slow
    csm_ids: list[int | None] = []
    credentials = []
    for username, role, first, last in DEMO_USERS:
        user = existing.get(username)
        created = user is None
        if created:
            if role not in hashes:
                hashes[role] = make_password(DEMO_PASSWORDS[role])
            user = User.objects.create(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@healthboard.example",
                password=hashes[role],
                is_staff=role == ADMIN,
                is_superuser=role == ADMIN,
            )
        user.groups.add(groups[role])
        credentials.append((username, DEMO_PASSWORDS[role], role, created))
        if role == CSM:
            csm_ids.append(user.pk)
    return csm_ids + [None], credentials
