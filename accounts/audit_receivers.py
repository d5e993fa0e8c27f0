"""Sign-ins, refused sign-ins, sign-outs, lockouts and role changes, recorded in the audit
log. Each receiver is a one-line hand-off to audit_record or audit_roles (which never
raise)."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone

from accounts import audit_roles
from accounts.audit import audit_record
from accounts.models import AuditEvent


@receiver(user_logged_in, dispatch_uid="accounts.audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    audit_record(type=AuditEvent.Type.LOGIN, request=request, actor=user)


@receiver(user_logged_out, dispatch_uid="accounts.audit_logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    audit_record(type=AuditEvent.Type.LOGOUT, request=request, actor=user)


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # The name typed, never the password (Django has already masked it; it is not kept).
    username = str(credentials.get("username", ""))
    audit_record(type=AuditEvent.Type.LOGIN_FAILED, request=request, actor_label=username)


@receiver(user_locked_out, dispatch_uid="accounts.audit_locked_out")
def audit_locked_out(sender, request, username, ip_address, **kwargs) -> None:
    # axes signals again at every attempt while locked: those are refused sign-ins already,
    # so the lockout itself is recorded once per cool-off (one read, at lockout time only).
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    if AuditEvent.objects.filter(
        type=AuditEvent.Type.LOCKED_OUT, actor_label=str(username or ""), at__gte=since
    ).exists():
        return
    audit_record(
        type=AuditEvent.Type.LOCKED_OUT,
        request=request,
        actor_label=str(username or ""),
        details={"ip_address": ip_address},
    )


@receiver(m2m_changed, sender=get_user_model().groups.through, dispatch_uid="accounts.audit_roles")
def audit_role_change(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    audit_roles.groups_changed(instance=instance, action=action, reverse=reverse, pk_set=pk_set)
