#!/usr/bin/env bash
# make loadtest: locust, headless, against gunicorn on 127.0.0.1 over the pages benchmark's
# data set; stops by itself after LOADTEST_TIME and prints per-page p50/p95/p99, the request
# rate and the error count (non-zero exit on any error).
#
# The server runs as in production (DEBUG off, a SECRET_KEY made for the run, collected
# static files, gunicorn's sync workers) except for HTTPS: plain HTTP on 127.0.0.1, so the
# HTTPS redirect and secure cookies are off. Re-score messages go to a Redis database of the
# load test's own (LOADTEST_REDIS_URL) that no worker reads, and are purged at the end: the
# load measures the web tier, not scoring.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BIN=$(dirname "$PY")
: "${DATABASE_URL:?set DATABASE_URL (make loadtest does)}"
LOADTEST_ADDR=${LOADTEST_ADDR:-127.0.0.1:8124}
LOADTEST_USERS=${LOADTEST_USERS:-50}
LOADTEST_SPAWN_RATE=${LOADTEST_SPAWN_RATE:-2}
LOADTEST_TIME=${LOADTEST_TIME:-2m}
LOADTEST_ACCOUNTS=${LOADTEST_ACCOUNTS:-100000}
LOADTEST_DAYS=${LOADTEST_DAYS:-30}
LOADTEST_WORKERS=${LOADTEST_WORKERS:-4}
LOADTEST_REDIS_URL=${LOADTEST_REDIS_URL:-redis://127.0.0.1:6379/13}
mkdir -p var
export LOADTEST_CONFIG=${LOADTEST_CONFIG:-var/loadtest.json}

export DEBUG=false
SECRET_KEY=$("$PY" -c "import secrets; print(secrets.token_urlsafe(50))")
export SECRET_KEY
export ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false \
    CSRF_COOKIE_SECURE=false
# Each load user logs in once with the right password; should one fail, the shared address
# 127.0.0.1 must not lock out the others (the failure is still counted as an error).
export LOGIN_FAILURE_LIMIT=${LOGIN_FAILURE_LIMIT:-100000}
if "$PY" scripts/services.py ping-redis "$LOADTEST_REDIS_URL"; then
    export REDIS_URL=$LOADTEST_REDIS_URL
else
    unset REDIS_URL
    echo "Redis does not answer at $LOADTEST_REDIS_URL: re-scores run in the requests."
fi

"$PY" scripts/services.py ensure-db "$DATABASE_URL"
"$PY" manage.py migrate --noinput -v0
"$PY" manage.py loadtest_prepare --accounts "$LOADTEST_ACCOUNTS" --days "$LOADTEST_DAYS" \
    --config "$LOADTEST_CONFIG"
"$PY" manage.py collectstatic --noinput -v0

server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n "${REDIS_URL:-}" ]]; then
        "$PY" manage.py shell -v0 -c "from healthboard.celery import app; app.control.purge()" \
            >/dev/null 2>&1 || true
    fi
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "gunicorn on $LOADTEST_ADDR ($LOADTEST_WORKERS workers; log: var/loadtest-gunicorn.log)"
"$BIN/gunicorn" healthboard.wsgi --bind "$LOADTEST_ADDR" --workers "$LOADTEST_WORKERS" \
    --access-logfile - >var/loadtest-gunicorn.log 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
    curl -fs -o /dev/null "http://$LOADTEST_ADDR/login/" && break
    kill -0 "$server_pid" 2>/dev/null || { cat var/loadtest-gunicorn.log; exit 1; }
    sleep 0.5
done

echo "locust: $LOADTEST_USERS users (spawn rate $LOADTEST_SPAWN_RATE/s) for $LOADTEST_TIME"
"$BIN/locust" -f healthboard/bench/locustfile.py --headless --only-summary \
    --host "http://$LOADTEST_ADDR" --users "$LOADTEST_USERS" \
    --spawn-rate "$LOADTEST_SPAWN_RATE" --run-time "$LOADTEST_TIME" --stop-timeout 10 \
    --loglevel WARNING
