"""A back-test requested as the page requests it, run by a real Celery worker on Redis."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from scoring.models import AnalysisRun
from scoring.services import analysis_request
from tests.scoring.analytics.conftest import stored_history

pytestmark = [pytest.mark.celery, pytest.mark.postgres]


def test_a_requested_backtest_runs_on_a_real_worker_and_stores_its_result(real_celery_worker, day):
    stored_history(day, [float(s) for s in range(5, 105, 5)], {5.0, 10.0, 15.0, 75.0})
    with transaction.atomic():
        run = analysis_request(
            kind=AnalysisRun.Kind.BACKTEST,
            parameters={"scorecard": "Standard", "from": str(day), "to": str(day)},
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            break
        time.sleep(0.2)
    assert run.status == AnalysisRun.Status.DONE, run.error
    assert run.progress == 100 and run.message == "Done"
    assert run.result["auc"] == pytest.approx(53 / 64)
