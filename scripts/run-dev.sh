#!/usr/bin/env bash
# Development server, plus a Celery worker with embedded beat when Redis answers.
#
# Called by `make run` after migrations and the demo data. The worker is stopped when the
# server stops (Ctrl-C). Without Redis, REDIS_URL stays unset and tasks run in-process.
# HISTORY_CMD (a manage.py command: the demo's year of scores) runs in the background and is
# stopped with the server too. Both start once the server answers: until then they would only
# take CPU from its start (tasks queued meanwhile wait in Redis).
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
history_pid=""

stop_worker() {
    if [[ -n "$history_pid" ]] && kill -0 "$history_pid" 2>/dev/null; then
        echo "Stopping the demo history (pid $history_pid); the next make run resumes it ..."
        kill -TERM "$history_pid" 2>/dev/null || true
        wait "$history_pid" 2>/dev/null || true
    fi
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

host=127.0.0.1 port=$RUN_ADDR
[[ "$RUN_ADDR" == *:* ]] && host=${RUN_ADDR%:*} port=${RUN_ADDR##*:}
# In a background job: returns once the server accepts connections (or after 5 minutes).
wait_for_server() {
    for _ in $(seq 1 600); do
        (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return
        sleep 0.5
    done
}

if "$PY" scripts/services.py ping-redis "$redis_url"; then
    export REDIS_URL=$redis_url
    mkdir -p var
    echo "Redis answers at $REDIS_URL: a Celery worker with beat starts with the server" \
        "(log: var/celery.log)."
    # exec: the TERM sent to worker_pid reaches the worker itself.
    (
        wait_for_server
        exec "$CELERY" -A healthboard worker -B --loglevel=info \
            --concurrency "$CELERY_CONCURRENCY" --schedule-filename var/celerybeat-schedule \
            --logfile var/celery.log
    ) &
    worker_pid=$!
else
    if [[ -n "${REDIS_URL:-}" ]]; then
        echo "REDIS_URL=$REDIS_URL does not answer: running tasks in-process instead."
    else
        echo "No Redis at $redis_url: running tasks in-process (no worker, no nightly beat)."
    fi
    unset REDIS_URL
fi

# SQLite in WAL mode (and PostgreSQL) lets the pages read while the history is written; they
# show each published day as it lands.
if [[ -n "${HISTORY_CMD:-}" ]]; then
    mkdir -p var
    echo "Once the server answers, the demo's history fills in the background" \
        "(log: var/demo-history.log): scores appear day by day, then the closed calls to action."
    (
        wait_for_server
        exec "$PY" manage.py $HISTORY_CMD
    ) >var/demo-history.log 2>&1 &
    history_pid=$!
fi

echo "Healthboard: http://$RUN_ADDR/  (Ctrl-C stops everything)"
"$PY" manage.py runserver "$RUN_ADDR"
