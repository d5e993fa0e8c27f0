"""Django's user admin, restricted for Healthboard's Admins: they create users, deactivate
them and put them in a role (CSM, Manager, Admin), but never reach superuser status or edit
permissions — with Django's own user admin a staff Admin could tick is_superuser on
themselves. Superusers (set up with createsuperuser) keep the full admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group

from accounts.audit import audit_record
from accounts.audit_roles import role_changes_recorded
from accounts.models import AuditEvent
from healthboard.lib.roles import ROLES

User = get_user_model()
# Fields only a superuser may set: they grant rights beyond the roles.
SUPERUSER_FIELDS = {"is_superuser", "user_permissions"}

admin.site.unregister(User)


@admin.register(User)
class RoleUserAdmin(UserAdmin):
    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # The form is built from these fields, so a posted is_superuser is ignored too.
        return [
            (
                name,
                {**options, "fields": [f for f in options["fields"] if f not in SUPERUSER_FIELDS]},
            )
            for name, options in fieldsets
        ]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=ROLES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        return [f for f in filters if f not in SUPERUSER_FIELDS]

    def has_change_permission(self, request, obj=None) -> bool:
        # A superuser's password or e-mail is a way to their rights.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    # -- the audit log: who created or changed a user, and whose role changed. Recorded
    # here, where the request (who, from where) is known.

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        fields = sorted(name for name in form.changed_data if "password" not in name)
        audit_record(
            type=AuditEvent.Type.USER_CHANGED if change else AuditEvent.Type.USER_CREATED,
            request=request,
            obj=obj,
            message=", ".join(fields) if change else "",
            details={"fields": fields, **_flags(obj, fields)},
        )

    def save_related(self, request, form, formsets, change) -> None:
        # The groups are saved here: one role change per user, with who and from where
        # (accounts/audit_roles.py records it, as it does for changes made anywhere).
        with role_changes_recorded(request=request):
            super().save_related(request, form, formsets, change)


def _flags(user, fields: list[str]) -> dict[str, bool]:
    """The access flags that changed, with their new value (is_active: False is a
    deactivation)."""
    return {
        name: getattr(user, name)
        for name in ("is_active", "is_staff", "is_superuser")
        if name in fields
    }
