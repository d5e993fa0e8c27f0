"""What the benchmark commands' tests share: they run the commands in processes of their own
(as `make bench` does) on the test's database."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.workers import database_url

ROOT = Path(__file__).resolve().parents[2]


def bench_figures(*args: str, **env: str) -> dict:
    """Run `manage.py <args> --json` in a process of its own on the test database (tasks
    in-process, as make bench runs them; `env` added) and return its JSON figures."""
    environ = {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "true", **env}
    environ.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", *args, "--json"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
