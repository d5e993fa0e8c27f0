#!/usr/bin/env bash
# A newcomer's first minute, timed: `make run` on an empty database (packages installed) until
# the login page answers 200, then everything it started is stopped. Prints the seconds.
#
#   scripts/first-page.sh                         a fresh SQLite file in a temporary folder
#   FIRST_PAGE_DATABASE_URL=postgres://…/db scripts/first-page.sh   an EMPTY database of yours
#
# The installed packages are taken as they are (make -o), as after `make install`.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${FIRST_PAGE_PORT:-8765}
limit=${FIRST_PAGE_LIMIT:-600}
scratch=$(mktemp -d)
log=${FIRST_PAGE_LOG:-$scratch/make-run.log}
export DATABASE_URL=${FIRST_PAGE_DATABASE_URL:-sqlite:///$scratch/db.sqlite3}

start=$(date +%s.%N)
# Its own process group, so that the server, its reloader and a Celery worker stop together.
setsid make -o .venv/.installed run RUN_ADDR="127.0.0.1:$port" >"$log" 2>&1 &
group=$!
stop() {
    kill -TERM -- "-$group" 2>/dev/null || true
    wait "$group" 2>/dev/null || true
    rm -rf "$scratch"
}
trap stop EXIT

while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/login/" || true)
    now=$(date +%s.%N)
    if [[ "$code" == 200 ]]; then
        printf 'first_page_s %.1f\n' "$(echo "$now - $start" | bc)"
        exit 0
    fi
    if ! kill -0 "$group" 2>/dev/null; then
        echo "make run stopped before the first page; its output:" >&2
        cat "$log" >&2
        exit 1
    fi
    if (($(echo "$now - $start > $limit" | bc))); then
        echo "No first page after $limit s; make run's output so far:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    sleep 0.5
done
