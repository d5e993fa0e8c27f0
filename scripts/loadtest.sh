#!/usr/bin/env bash
# make loadtest: locust, headless, against gunicorn on 127.0.0.1 over the pages benchmark's
# data set; stops by itself after LOADTEST_TIME and prints per-page p50/p95/p99, the request
# rate and the error count (non-zero exit on any error).
#
# The server runs as in production (DEBUG off, a SECRET_KEY made for the run, collected
# static files, gunicorn's sync workers) except for HTTPS: plain HTTP on 127.0.0.1, so the
# HTTPS redirect and secure cookies are off. A real Celery worker serves a Redis database of
# the load test's own (LOADTEST_REDIS_URL): the API's re-scores and, LOADTEST_NIGHTLY_AFTER
# seconds into the load, today's nightly run (as the beat sends it), whose outcome is
# printed after locust's figures: status done, one run for the day, every active account
# scored (non-zero exit otherwise). LOADTEST_NIGHTLY=false leaves the nightly run out.
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
LOADTEST_NIGHTLY=${LOADTEST_NIGHTLY:-true}
LOADTEST_NIGHTLY_AFTER=${LOADTEST_NIGHTLY_AFTER:-20}
LOADTEST_CELERY_CONCURRENCY=${LOADTEST_CELERY_CONCURRENCY:-2}
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
    LOADTEST_NIGHTLY=false
fi

"$PY" scripts/services.py ensure-db "$DATABASE_URL"
"$PY" manage.py migrate --noinput -v0
"$PY" manage.py loadtest_prepare --accounts "$LOADTEST_ACCOUNTS" --days "$LOADTEST_DAYS" \
    --config "$LOADTEST_CONFIG"
"$PY" manage.py collectstatic --noinput -v0

server_pid=""
worker_pid=""
nightly_pid=""
stop_server() {
    for pid in "$nightly_pid" "$server_pid" "$worker_pid"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ -n "${REDIS_URL:-}" ]]; then
        "$PY" manage.py shell -v0 -c "from healthboard.celery import app; app.control.purge()" \
            >/dev/null 2>&1 || true
    fi
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "gunicorn on $LOADTEST_ADDR ($LOADTEST_WORKERS workers; log: var/loadtest-gunicorn.log)"
# --preload: the app is imported once, before the workers fork. Each worker importing it on
# its first request took longer than gunicorn's 30 s timeout on a busy machine (the
# analytics import scikit-learn and SciPy), and the workers were killed and rebooted in turn.
"$BIN/gunicorn" healthboard.wsgi --bind "$LOADTEST_ADDR" --workers "$LOADTEST_WORKERS" \
    --preload --access-logfile - >var/loadtest-gunicorn.log 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
    curl -fs -o /dev/null "http://$LOADTEST_ADDR/login/" && break
    kill -0 "$server_pid" 2>/dev/null || { cat var/loadtest-gunicorn.log; exit 1; }
    sleep 0.5
done

if [[ "$LOADTEST_NIGHTLY" == true ]]; then
    echo "celery worker ($LOADTEST_CELERY_CONCURRENCY processes; log: var/loadtest-celery.log)"
    "$BIN/celery" -A healthboard worker --concurrency "$LOADTEST_CELERY_CONCURRENCY" \
        --without-mingle --without-gossip --loglevel INFO >var/loadtest-celery.log 2>&1 &
    worker_pid=$!
    echo "the nightly run starts ${LOADTEST_NIGHTLY_AFTER} s into the load (log: var/loadtest-nightly.log)"
    "$PY" manage.py loadtest_nightly --after "$LOADTEST_NIGHTLY_AFTER" \
        >var/loadtest-nightly.log 2>&1 &
    nightly_pid=$!
fi

echo "locust: $LOADTEST_USERS users (spawn rate $LOADTEST_SPAWN_RATE/s) for $LOADTEST_TIME"
status=0
"$BIN/locust" -f healthboard/bench/locustfile.py --headless --only-summary \
    --host "http://$LOADTEST_ADDR" --users "$LOADTEST_USERS" \
    --spawn-rate "$LOADTEST_SPAWN_RATE" --run-time "$LOADTEST_TIME" --stop-timeout 10 \
    --loglevel WARNING || status=$?

if [[ -n "$nightly_pid" ]]; then
    # After the load: the run's outcome (it may still be finishing; the command waits).
    wait "$nightly_pid" || status=$((status ? status : 1))
    nightly_pid=""
    grep -v "^AXES" var/loadtest-nightly.log || true
fi
exit "$status"
