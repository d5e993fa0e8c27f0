"""Django's user admin, restricted for Healthboard's Admins: they create users, deactivate
them and put them in a role (CSM, Manager, Admin), but never reach superuser status or edit
permissions — with Django's own user admin a staff Admin could tick is_superuser on
themselves. Superusers (set up with createsuperuser) keep the full admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group

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
