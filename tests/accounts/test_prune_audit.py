"""prune_audit: deletes audit events older than --older-than days (or AUDIT_RETENTION_DAYS),
records that it did, keeps everything when no retention is set, and refuses nonsense."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db
T = AuditEvent.Type


@pytest.fixture
def aged() -> None:
    """Events 400, 100 and 1 day(s) old."""
    now = timezone.now()
    for days in (400, 100, 1):
        AuditEvent.objects.create(
            type=T.LOGIN, actor_label=f"{days}d", at=now - dt.timedelta(days=days)
        )


def prune(*args: str) -> str:
    out = StringIO()
    call_command("prune_audit", *args, stdout=out)
    return out.getvalue()


def labels() -> list[str]:
    return sorted(AuditEvent.objects.filter(type=T.LOGIN).values_list("actor_label", flat=True))


def test_it_deletes_what_is_older_and_records_the_pruning(aged) -> None:
    output = prune("--older-than", "365")

    assert "Deleted 1 audit event(s)" in output
    assert labels() == ["100d", "1d"]
    pruned = AuditEvent.objects.get(type=T.AUDIT_PRUNED)
    assert pruned.details["deleted"] == 1 and pruned.details["older_than_days"] == 365
    assert pruned.actor_label.startswith("prune_audit (")


def test_the_retention_setting_is_the_default(aged, settings) -> None:
    settings.AUDIT_RETENTION_DAYS = 30

    prune()

    assert labels() == ["1d"]


def test_with_no_retention_set_it_keeps_everything(aged, settings) -> None:
    settings.AUDIT_RETENTION_DAYS = None

    output = prune()

    assert "Nothing pruned" in output and "kept for ever" in output
    assert labels() == ["100d", "1d", "400d"]
    assert not AuditEvent.objects.filter(type=T.AUDIT_PRUNED).exists()


def test_a_dry_run_counts_and_deletes_nothing(aged) -> None:
    output = prune("--older-than", "50", "--dry-run")

    assert "Would delete 2 audit event(s)" in output
    assert len(labels()) == 3
    assert not AuditEvent.objects.filter(type=T.AUDIT_PRUNED).exists()


@pytest.mark.parametrize("days", ["0", "-5"])
def test_less_than_a_day_is_refused(aged, days) -> None:
    with pytest.raises(CommandError, match="at least 1 day"):
        prune("--older-than", days)
    assert len(labels()) == 3


def test_it_deletes_in_batches(aged) -> None:
    from accounts.audit import audit_prune

    deleted, _cutoff = audit_prune(older_than_days=50, batch=1)

    assert deleted == 2 and labels() == ["1d"]
