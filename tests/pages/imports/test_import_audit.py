"""An import through the pages is in the audit log twice: when it was committed (by whom,
from where) and how it ended, in that order even when it ran at once (no Redis)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.factories import AccountFactory, MetricFactory
from tests.pages.imports.test_imports import job_of
from tests.pages.imports.uploads import upload

pytestmark = pytest.mark.django_db


def test_a_committed_import_is_recorded_when_committed_and_when_done(
    admin_role_client, admin_role_user
):
    MetricFactory(key="logins")
    AccountFactory(external_id="CRM-1")
    text = "account,metric,observed_at,value,external_id\nCRM-1,logins,2026-11-01,12,a\n"
    job = job_of(upload(admin_role_client, "signals", text, name="crm.csv"))

    admin_role_client.post(reverse("imports:commit", args=[job.pk]), REMOTE_ADDR="10.0.0.5")
    admin_role_client.post(reverse("imports:commit", args=[job.pk]))  # a double click

    events = list(AuditEvent.objects.filter(object_type="accounts.importjob").order_by("at"))
    assert [e.type for e in events] == [
        AuditEvent.Type.IMPORT_COMMITTED,
        AuditEvent.Type.IMPORT_FINISHED,
    ]
    committed, finished = events
    assert (committed.actor, committed.ip, committed.message) == (
        admin_role_user,
        "10.0.0.5",
        "crm.csv",
    )
    assert finished.details["status"] == "done" and finished.details["rows_written"] == 1
