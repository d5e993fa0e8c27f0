#!/usr/bin/env bash
# Development server, plus a Celery worker with embedded beat when Redis answers.
#
# Called by `make run` after migrations and the demo data. The worker is stopped when the
# server stops (Ctrl-C). Without Redis, REDIS_URL stays unset and tasks run in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CELERY="$(dirname "$PY")/celery"
RUN_ADDR=${RUN_ADDR:-127.0.0.1:8000}
CELERY_CONCURRENCY=${CELERY_CONCURRENCY:-2}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}
# Development mode, said explicitly: the settings default to DEBUG off, which refuses the
# development SECRET_KEY (used when none is set).
export DEBUG=${DEBUG:-true}
worker_pid=""

stop_worker() {
    if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
        echo "Stopping the Celery worker (pid $worker_pid) ..."
        kill -TERM "$worker_pid" 2>/dev/null || true
        for _ in $(seq 1 40); do
            kill -0 "$worker_pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$worker_pid" 2>/dev/null || true
    fi
}
trap stop_worker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if "$PY" scripts/services.py ping-redis "$redis_url"; then
    export REDIS_URL=$redis_url
    mkdir -p var
    echo "Redis answers at $REDIS_URL: starting a Celery worker with beat (log: var/celery.log)."
    "$CELERY" -A healthboard worker -B --loglevel=info --concurrency "$CELERY_CONCURRENCY" \
        --schedule-filename var/celerybeat-schedule --logfile var/celery.log &
    worker_pid=$!
else
    if [[ -n "${REDIS_URL:-}" ]]; then
        echo "REDIS_URL=$REDIS_URL does not answer: running tasks in-process instead."
    else
        echo "No Redis at $redis_url: running tasks in-process (no worker, no nightly beat)."
    fi
    unset REDIS_URL
fi

echo "Healthboard: http://$RUN_ADDR/  (Ctrl-C stops everything)"
"$PY" manage.py runserver "$RUN_ADDR"
