"""Every model in the Django admin opens its list for a superuser (with scored accounts)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from scoring.models import ScorecardChange, ScorecardVersion
from scoring.pipeline import runs
from tests.factories import AccountFactory

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_the_admin_lists_every_model(superuser_client, model):
    AccountFactory.create_batch(2)
    runs.run_sync(as_of=runs.timezone.localdate())
    version = ScorecardVersion.objects.filter(status="active").first()
    ScorecardChange.objects.create(
        scorecard=version.scorecard,
        version=version,
        version_number=version.number,
        action=ScorecardChange.Action.PUBLISHED,
        summary="Published",
    )
    opts = model._meta
    response = superuser_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200


# ---------------------------------------------------------------- users, as an Admin


@pytest.fixture
def staff_admin_client(client, admin_role_user):
    admin_role_user.is_staff = True
    admin_role_user.save()
    client.force_login(admin_role_user)
    return client


def _change(user) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def _posted(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
    }
    data.update(changes)
    return data


def test_an_admin_cannot_make_themselves_superuser(staff_admin_client, admin_role_user):
    page = staff_admin_client.get(_change(admin_role_user))
    assert page.status_code == 200
    assert 'name="is_superuser"' not in page.content.decode()
    assert 'name="user_permissions"' not in page.content.decode()

    response = staff_admin_client.post(
        _change(admin_role_user), _posted(admin_role_user, is_superuser="on")
    )

    assert response.status_code == 302
    admin_role_user.refresh_from_db()
    assert not admin_role_user.is_superuser and admin_role_user.is_active


def test_an_admin_puts_users_in_roles_only(staff_admin_client, csm_user):
    from django.contrib.auth.models import Group

    other = Group.objects.create(name="Everything")
    manager = Group.objects.get(name="Manager")
    form = staff_admin_client.get(_change(csm_user)).context["adminform"].form
    assert set(form.fields["groups"].queryset.values_list("name", flat=True)) == {
        "CSM",
        "Manager",
        "Admin",
    }

    refused = staff_admin_client.post(_change(csm_user), _posted(csm_user, groups=[str(other.pk)]))
    assert refused.status_code == 200 and not csm_user.groups.filter(pk=other.pk).exists()
    moved = staff_admin_client.post(_change(csm_user), _posted(csm_user, groups=[str(manager.pk)]))
    assert moved.status_code == 302
    assert list(csm_user.groups.values_list("name", flat=True)) == ["Manager"]


def test_an_admin_cannot_touch_a_superuser_or_the_groups_permissions(
    staff_admin_client, django_user_model
):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    group = reverse("admin:auth_group_change", args=[1])

    assert staff_admin_client.post(_change(root), _posted(root, is_active="")).status_code == 403
    assert staff_admin_client.post(group, {"name": "CSM", "permissions": []}).status_code == 403
    root.refresh_from_db()
    assert root.is_active


def test_a_role_change_and_a_deactivation_are_in_the_audit_log(
    staff_admin_client, admin_role_user, csm_user
):
    from django.contrib.auth.models import Group

    from accounts.models import AuditEvent

    manager = Group.objects.get(name="Manager")
    staff_admin_client.post(
        _change(csm_user),
        _posted(csm_user, groups=[str(manager.pk)], is_active=""),
        REMOTE_ADDR="10.0.0.9",
    )

    # (The role users' own first roles are recorded too, by no one: made in code.)
    role = AuditEvent.objects.get(type=AuditEvent.Type.ROLE_CHANGED, actor__isnull=False)
    assert (role.actor, role.ip, role.object_id) == (admin_role_user, "10.0.0.9", str(csm_user.pk))
    assert role.details == {"before": ["CSM"], "after": ["Manager"]}
    changed = AuditEvent.objects.get(type=AuditEvent.Type.USER_CHANGED)
    assert changed.details["is_active"] is False and "is_active" in changed.details["fields"]


def test_nobody_edits_the_audit_log_in_the_admin(superuser_client):
    from accounts.models import AuditEvent

    event = AuditEvent.objects.create(type=AuditEvent.Type.LOGIN, actor_label="casey")
    change = reverse("admin:accounts_auditevent_change", args=[event.pk])

    assert superuser_client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    assert superuser_client.post(change, {"message": "x"}).status_code == 403
    delete = reverse("admin:accounts_auditevent_delete", args=[event.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).message == ""
