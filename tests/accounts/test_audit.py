"""The audit log records each security-relevant event once, with who, from where and what:
sign-ins, refused ones, lockouts, sign-outs, account edits, imports' ends, exports and API
token use (at most once an hour a token). Recording never breaks the action; events are
never edited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from accounts.audit import audit_record
from accounts.imports.jobs import import_job_run
from accounts.models import AuditEvent, ImportJob
from healthboard.lib.roles import CSM
from healthboard.tokens.services import token_authenticate, token_create, token_revoke
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

HERE = "10.0.0.7"
T = AuditEvent.Type


def log_in(client, username: str, password: str):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=HERE
    )


def events(type: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(type=type))


@pytest.fixture
def casey(password):
    return UserFactory(username="casey", password=password, role=CSM)


def test_a_sign_in_and_a_sign_out_are_recorded_with_who_and_where(client, casey, password):
    assert log_in(client, "casey", password).status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR=HERE)

    (login,) = events(T.LOGIN)
    assert (login.actor, login.actor_label, login.ip) == (casey, "casey", HERE)
    (logout,) = events(T.LOGOUT)
    assert (logout.actor, logout.ip) == (casey, HERE)


def test_a_refused_sign_in_names_the_username_typed_never_the_password(client, casey):
    log_in(client, "casey", "wrong-password")

    (failed,) = events(T.LOGIN_FAILED)
    assert (failed.actor, failed.actor_label, failed.ip) == (None, "casey", HERE)
    assert "wrong-password" not in str(failed.details) + failed.message
    assert events(T.LOGIN) == []


def test_a_lockout_is_recorded_once(client, casey, password):
    for _ in range(5):
        log_in(client, "casey", "wrong-password")
    log_in(client, "casey", password)  # refused: locked out

    (locked,) = events(T.LOCKED_OUT)
    assert (locked.actor_label, locked.ip) == ("casey", HERE)
    assert events(T.LOGIN) == []


def test_an_account_edit_points_at_its_field_changes(admin_role_client, admin_role_user):
    account = AccountFactory(name="Acme", plan="Basic")
    url = reverse("accounts:edit", args=[account.pk])
    form = admin_role_client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["plan"] = "Premium"

    assert admin_role_client.post(url, data, REMOTE_ADDR=HERE).status_code == 302

    (edit,) = events(T.ACCOUNT_CHANGED)
    assert (edit.actor, edit.ip, edit.object_type, edit.object_id) == (
        admin_role_user,
        HERE,
        "accounts.account",
        str(account.pk),
    )
    assert edit.details == {"fields": ["plan"]}
    # One home for old and new values: FieldChange, not the audit log.
    assert "Basic" not in str(edit.details) + edit.message


def test_an_import_records_its_end_with_the_counts(admin_role_user, settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path
    job = ImportJob.objects.create(kind="signals", user=admin_role_user, file_name="gone.csv")

    import_job_run(job_id=job.pk)  # the file is not there: the job fails, and says why
    import_job_run(job_id=job.pk)  # a repeated task leaves a finished job alone

    (done,) = events(T.IMPORT_FINISHED)
    assert (done.actor, done.object_id, done.details["status"]) == (
        admin_role_user,
        str(job.pk),
        "failed",
    )


def test_an_export_is_recorded_with_its_filters(admin_role_client, admin_role_user):
    response = admin_role_client.get(reverse("catalogue:metrics_csv") + "?x=1", REMOTE_ADDR=HERE)
    b"".join(response.streaming_content)

    (export,) = events(T.EXPORT)
    assert (export.actor, export.ip) == (admin_role_user, HERE)
    assert export.message.endswith(".csv")
    assert export.details["view"] == "catalogue:metrics_csv"
    assert export.details["query"] == "x=1"


def test_a_refused_export_is_not_recorded(csm_client):
    assert csm_client.get(reverse("catalogue:metrics_csv")).status_code == 403
    assert events(T.EXPORT) == []


def test_token_use_is_recorded_once_an_hour(admin_role_user, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False)
    token, secret = token_create(name="CRM", owner=admin_role_user, scope="read")
    for minutes in (0, 1, 2, 30, 59):
        time_machine.move_to(dt.datetime(2026, 11, 23, 9, minutes, tzinfo=dt.UTC), tick=False)
        assert token_authenticate(secret=secret) is not None
    time_machine.move_to(dt.datetime(2026, 11, 23, 10, 5, tzinfo=dt.UTC), tick=False)
    token_authenticate(secret=secret)
    token_revoke(token=token, user=admin_role_user)
    token_authenticate(secret=secret)  # revoked: not a use

    used = events(T.TOKEN_USED)
    assert [e.at.hour for e in reversed(used)] == [9, 10]
    assert {e.actor for e in used} == {admin_role_user}
    assert [e.object_id for e in events(T.TOKEN_CREATED)] == [str(token.pk)]
    assert [e.object_id for e in events(T.TOKEN_REVOKED)] == [str(token.pk)]


def test_token_use_through_the_api_keeps_the_address(admin_role_user, client):
    _, secret = token_create(name="CRM", owner=admin_role_user, scope="read")
    client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {secret}"}, REMOTE_ADDR=HERE)

    (used,) = events(T.TOKEN_USED)
    assert used.ip == HERE


def test_recording_never_breaks_the_action(client, casey, password, monkeypatch, caplog):
    def broken(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(AuditEvent, "save", broken)

    assert log_in(client, "casey", password).status_code == 302
    assert "_auth_user_id" in client.session
    assert "Could not record the audit event" in caplog.text


def test_events_are_kept_as_recorded(casey):
    event = audit_record(type=T.LOGIN, actor=casey)
    event.message = "edited"

    with pytest.raises(ValueError, match="cannot be changed"):
        event.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        event.delete()
    assert AuditEvent.objects.get(type=T.LOGIN).message == ""


def test_tokens_made_and_revoked_on_the_page_keep_who_and_where(admin_role_client, admin_role_user):
    admin_role_client.post(
        reverse("tokens:create"), {"name": "CRM", "scope": "read"}, REMOTE_ADDR=HERE
    )
    (created,) = events(T.TOKEN_CREATED)
    admin_role_client.post(reverse("tokens:revoke", args=[created.object_id]), REMOTE_ADDR=HERE)

    (revoked,) = events(T.TOKEN_REVOKED)
    assert (created.actor, created.ip) == (admin_role_user, HERE)
    assert (revoked.actor, revoked.ip, revoked.object_id) == (
        admin_role_user,
        HERE,
        created.object_id,
    )
