"""After an import or an API batch, the touched accounts are re-scored in batches: one Celery
message per chunk of SCORING_CHUNK_SIZE accounts, received by a real worker through Redis,
never one per account."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from celery.signals import task_received
from django.utils import timezone

from accounts.imports import ImportOptions, import_records
from accounts.models import Signal
from scoring import tasks
from tests.factories import AccountFactory, MetricFactory


@pytest.fixture
def received() -> list[tuple[str, tuple]]:
    """The tasks the worker received, with their arguments."""
    got: list[tuple[str, tuple]] = []
    lock = threading.Lock()

    def note(request, **kwargs) -> None:
        with lock:
            got.append((request.name, tuple(request.args)))

    task_received.connect(note, weak=False)
    yield got
    task_received.disconnect(note)


def test_an_import_hands_its_accounts_to_scoring_one_message_per_chunk(
    real_celery_worker, received, settings
):
    settings.SCORING_CHUNK_SIZE = 2
    settings.RESCORE_DEBOUNCE_SECONDS = 0
    accounts = AccountFactory.create_batch(5)
    MetricFactory(key="logins")
    at = (timezone.now() - dt.timedelta(days=1)).isoformat()
    records = [
        {"account": a.external_id, "metric": "logins", "observed_at": at, "value": v}
        for a in accounts
        for v in range(4)
    ]
    result = import_records(
        kind="signals", records=records, options=ImportOptions(source="product")
    )
    assert result.created == 20 and result.rescore_scheduled is True
    assert Signal.objects.count() == 20

    deadline = timezone.now() + dt.timedelta(seconds=30)
    while len(received) < 3 and timezone.now() < deadline:
        threading.Event().wait(0.1)
    ids = sorted(a.pk for a in accounts)
    assert sorted(received) == sorted(
        (tasks.rescore_accounts.name, (chunk,)) for chunk in (ids[0:2], ids[2:4], ids[4:5])
    )
    # Nothing per account, and nothing more.
    threading.Event().wait(1)
    assert len(received) == 3
