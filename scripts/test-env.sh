#!/usr/bin/env bash
# Runs a command (the test suite) with local services when they answer.
#
# Outside CI, REDIS_URL and DATABASE_URL are filled in when unset and the default local
# Redis / PostgreSQL answer, so `make test` runs everything this machine can run. Set
# TEST_SERVICES=none to test on SQLite with eager tasks only. Under CI the caller sets both
# (see .ci/run) and the tests fail, not skip, when a service is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

if [[ "${CI:-}" != "true" && "${TEST_SERVICES:-auto}" != "none" ]]; then
    if [[ -z "${REDIS_URL:-}" ]]; then
        url=redis://127.0.0.1:6379/0
        if "$PY" scripts/services.py ping-redis "$url"; then export REDIS_URL=$url; fi
    fi
    if [[ -z "${DATABASE_URL:-}" ]]; then
        url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/healthboard}
        if "$PY" scripts/services.py ping-postgres "$url"; then export DATABASE_URL=$url; fi
    fi
fi

echo "tests: database ${DATABASE_URL:-SQLite (default)}; Redis ${REDIS_URL:-none (eager tasks; real-worker tests skipped)}"
exec "$@"
