"""Redis down during an import: the signals are committed once, the command says the
re-score comes with the nightly run, and nothing fails or rolls back."""

import io

import pytest
from django.core.management import call_command

from accounts.models import ImportJob, Signal
from tests.factories import AccountFactory, MetricFactory

# The re-score is scheduled after the commit: a real one, so no test transaction around it.
pytestmark = pytest.mark.django_db(transaction=True)


def test_with_redis_down_an_import_commits_once_and_says_the_nightly_run_rescores(
    broker_down, tmp_path
):
    AccountFactory(external_id="CRM-1")
    MetricFactory(key="csat")
    path = tmp_path / "signals.csv"
    path.write_text(
        "account,metric,observed_at,value,external_id\n"
        "CRM-1,csat,2026-11-01T10:00:00Z,4,s-1\n"
        "CRM-1,logins,2026-11-02,30,\n"
    )
    out = io.StringIO()
    call_command("import_csv", "signals", str(path), source="survey", no_progress=True, stdout=out)
    output = out.getvalue()
    assert "Imported 2 signal(s) for 1 account(s)" in output
    assert "could not be scheduled" in output and "the nightly run will score them" in output
    assert Signal.objects.count() == 2
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE and job.rows_written == 2
    assert job.result["rescore_scheduled"] is False

    # Re-run as one would after the "failure": nothing is stored twice, the row without an
    # external id included, and nothing needs announcing.
    out = io.StringIO()
    call_command("import_signals", str(path), source="survey", no_progress=True, stdout=out)
    assert "Imported 0 signal(s) for 0 account(s); 2 already stored were skipped" in out.getvalue()
    assert "could not be scheduled" not in out.getvalue()
    assert Signal.objects.count() == 2
