"""Role changes in the audit log, wherever they are made: the Django admin, a management
command, a service, the shell. Roles are the user's groups, so every change passes through
Django's m2m_changed on User.groups (either side: user.groups.add(), group.user_set.remove(),
.set(), .clear()); audit_receivers.py hands each one here.

Alone, each operation is one event (a .set() is a remove and an add: two). A caller that
changes roles in several steps and knows the request wraps them in
`role_changes_recorded(request=...)`: one event per user, from their roles before the first
step to their roles after the last, with who did it and from where."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import AuditEvent

logger = logging.getLogger(__name__)
BEFORE = "_audit_roles_before"  # set on the signal's instance between pre_ and post_


@dataclass
class _Batch:
    request: HttpRequest | None
    before: dict[int, list[str]] = field(default_factory=dict)


_batch: ContextVar[_Batch | None] = ContextVar("audit_role_changes", default=None)


@contextmanager
def role_changes_recorded(*, request: HttpRequest | None = None) -> Iterator[None]:
    """Record the role changes made inside as one event per user, once the block has run
    (none if it raised: the change is most likely rolled back)."""
    batch = _Batch(request=request)
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    _record(batch.before, request=request)


def groups_changed(*, instance, action: str, reverse: bool, pk_set: set | None) -> None:
    """m2m_changed on User.groups: remember the roles before a change, record after it.
    Never raises: a role change is not undone for want of its record (logged instead)."""
    try:
        _groups_changed(instance=instance, action=action, reverse=reverse, pk_set=pk_set)
    except Exception:
        logger.exception("Could not record the role change of %r", instance)


def _groups_changed(*, instance, action: str, reverse: bool, pk_set: set | None) -> None:
    if action.startswith("pre_"):
        if reverse:  # instance is a Group; pk_set its users (None on clear: all of them)
            members = instance.user_set.values_list("pk", flat=True)
            user_ids = pk_set if pk_set is not None else list(members)
        else:
            user_ids = [instance.pk]
        before = roles_of(user_ids)
        batch = _batch.get()
        if batch is not None:
            for user_id, roles in before.items():
                batch.before.setdefault(user_id, roles)
        else:
            setattr(instance, BEFORE, before)
    elif action.startswith("post_") and _batch.get() is None:
        _record(instance.__dict__.pop(BEFORE, {}), request=None)


def roles_of(user_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each user's group names, sorted. One query."""
    roles: dict[int, list[str]] = {user_id: [] for user_id in user_ids}
    rows = get_user_model().groups.through.objects.filter(user_id__in=list(roles))
    for user_id, name in rows.values_list("user_id", "group__name"):
        roles[user_id].append(name)
    return {user_id: sorted(names) for user_id, names in roles.items()}


def _record(before: dict[int, list[str]], *, request: HttpRequest | None) -> None:
    if not before:
        return
    after = roles_of(before)
    changed = {user_id for user_id, roles in before.items() if roles != after[user_id]}
    users = get_user_model().objects.in_bulk(list(changed))
    for user_id in sorted(changed):
        old, new = before[user_id], after[user_id]
        audit_record(
            type=AuditEvent.Type.ROLE_CHANGED,
            request=request,
            obj=users.get(user_id),
            message=f"{', '.join(old) or 'no role'} → {', '.join(new) or 'no role'}",
            details={"before": old, "after": new},
        )
