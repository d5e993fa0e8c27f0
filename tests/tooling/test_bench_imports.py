"""The import benchmark on a small file: it runs the real import and reports its figures."""

import json

import pytest
from django.core.management import call_command

from accounts.models import Signal

pytestmark = pytest.mark.postgres


def test_bench_imports_imports_every_row_once_and_prints_its_figures(capsys, db):
    call_command("bench_imports", rows=200, accounts=20, json=True)
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["rows"] == 200 and figures["csv_signals_per_s"] > 0
    assert figures["resent_signals_per_s"] > 0 and figures["peak_rss_mb"] > 0
    # A clean new file goes straight into the signals table: one step, writing as it reads.
    assert set(figures["csv_steps_s"]) == {"write"}
    assert Signal.objects.filter(source="importbench").count() == 200
