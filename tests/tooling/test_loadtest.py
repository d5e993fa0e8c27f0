"""The load test at a tiny size: its data step gives the bench users a password and the API a
token, and the locustfile, run for a few seconds by locust against a live server, logs in
every kind of user, browses, posts signals and prints a summary that parses, with no error.

Locust runs in a subprocess: it patches the standard library with gevent on import."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Signal

pytestmark = pytest.mark.postgres

LOCUSTFILE = Path(__file__).resolve().parents[2] / "healthboard" / "bench" / "locustfile.py"


def test_the_locustfile_loads_a_live_server_and_prints_a_summary(live_server, tmp_path):
    config = tmp_path / "loadtest.json"
    call_command("loadtest_prepare", accounts=40, days=8, config=config, stdout=io.StringIO())
    env = {
        **os.environ,
        "LOADTEST_CONFIG": str(config),
        "LOADTEST_WAIT_MIN": "0.1",
        "LOADTEST_WAIT_MAX": "0.3",
        "LOADTEST_API_BATCH": "5",
    }
    # Ten users: by the weights, eight CSMs, a manager and an API client.
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
         "--host", live_server.url, "--users", "10", "--spawn-rate", "10", "--run-time", "6s",
         "--stop-timeout", "2", "--loglevel", "WARNING"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    line = next((x for x in done.stdout.splitlines() if x.startswith("LOADTEST ")), None)
    assert line, done.stdout + done.stderr
    figures = json.loads(line.removeprefix("LOADTEST "))
    assert done.returncode == 0 and figures["errors"] == 0, done.stdout
    pages = {row["page"]: row for row in figures["pages"]}
    assert {"login", "portfolio", "weekly review", "API signals"} <= set(pages), pages
    assert figures["users"] == 10 and figures["rps"] > 0
    assert all(row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] for row in pages.values())
    assert "requests/s" in done.stdout
    assert Signal.objects.filter(source="loadtest").exists()
