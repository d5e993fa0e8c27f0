# Healthboard developer commands. GNU make + bash.
#
#   make run     install, migrate, seed the demo once, serve on http://127.0.0.1:8000
#   make test    install, run the whole test suite
#   make bench   benchmarks on PostgreSQL: scoring, pages, preview, imports
#   make loadtest  locust against gunicorn on 127.0.0.1 at BENCH_ACCOUNTS accounts (2 minutes)
#   make messages  update locale/{id,da,pl}/LC_MESSAGES/django.po from the code (needs gettext)
#   make compilemessages  compile the .po files into the .mo files that are committed
#   make lint    ruff check + ruff format --check + import-linter's layers (make fmt: fix what ruff can)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PIP_FLAGS ?= --quiet --disable-pip-version-check

# Demo data: seeded once (when there are no accounts), then a year of daily scores and the
# closed calls to action drawn from them (the days without scores only: nothing a second time).
SEED_CMD ?= seed_demo --if-empty
RECOMPUTE_DAYS ?= 365
HISTORY_CMD ?= demo_history --days $(RECOMPUTE_DAYS)

# The demo, its data and the benchmarks run in development mode: DEBUG on (the settings
# default to off and then refuse the development SECRET_KEY). Production never runs make.
run demo demo-data migrate bench messages compilemessages: export DEBUG ?= true

# Where `make run` serves.
RUN_ADDR ?= 127.0.0.1:8000

# Extra pytest arguments, e.g. make test PYTEST_ARGS="-k login -x".
PYTEST_ARGS ?=

# Benchmarks run on PostgreSQL (created when missing).
BENCH_ACCOUNTS ?= 100000
BENCH_SIGNALS ?= 100
BENCH_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/healthboard_bench)

.PHONY: help install run migrate demo demo-data test bench loadtest lint fmt clean messages compilemessages

help:
	@echo "make run    serve the demo on http://$(RUN_ADDR) (Celery worker + beat when Redis answers)"
	@echo "make test   run the test suite"
	@echo "make bench  scoring benchmark on PostgreSQL ($(BENCH_ACCOUNTS) accounts x $(BENCH_SIGNALS) signals)"
	@echo "make loadtest  $(LOADTEST_USERS) users for $(LOADTEST_TIME) against gunicorn ($(BENCH_ACCOUNTS) accounts)"
	@echo "make lint   ruff check + ruff format --check + the import layers (make fmt to fix)"

# ---------------------------------------------------------------- environment

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-installs only when requirements.txt changes.
$(INSTALLED): requirements.txt | $(PY)
	@echo "Installing requirements into $(VENV) ..."
	$(PY) -m pip install $(PIP_FLAGS) -r requirements.txt 2>&1 \
		| { grep -v "^WARNING: Location 'file:.*' is ignored" || true; }
	@touch $@

install: $(INSTALLED)

# ---------------------------------------------------------------- run

migrate: $(INSTALLED)
	$(PY) manage.py migrate --noinput

# Seeds only a database without accounts.
demo-data: migrate
	$(PY) manage.py $(SEED_CMD)

# The demo with its history, in the foreground.
demo: demo-data
	$(PY) manage.py $(HISTORY_CMD)

# The history fills in the background once the server answers (log: var/demo-history.log),
# so a newcomer's first page waits only for the migrations and the seed.
run: demo-data
	PY=$(PY) RUN_ADDR=$(RUN_ADDR) HISTORY_CMD="$(HISTORY_CMD)" scripts/run-dev.sh

# ---------------------------------------------------------------- test

# Outside CI, Redis and PostgreSQL are used when they answer (see scripts/test-env.sh);
# tests needing a missing service are skipped. With CI=true they are required.
# The suite runs on every core (pytest-xdist), one test file per worker at a time, so a
# file's module-scoped fixtures (computed analyses, seeded histories) are built once.
# TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto
test: $(INSTALLED)
	PY=$(PY) scripts/test-env.sh $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# ---------------------------------------------------------------- bench

# Each benchmark owns its PostgreSQL database (created when missing) and reuses its data set
# on later runs; pass e.g. BENCH_ACCOUNTS=10000 for a quicker round.
BENCH_PG ?= postgres://postgres@127.0.0.1:5432
BENCH_PAGE_DAYS ?= 365
BENCH_PREVIEW_ACCOUNTS ?= 10000
# The million-account run: ten times BENCH_ACCOUNTS (a quick round stays quick), in its own
# database; at 1,000,000 its 100 million signals take a while to build the first time.
BENCH_MILLION_ACCOUNTS ?= $(shell echo $$(( $(BENCH_ACCOUNTS) * 10 )))
# The pages at ten times BENCH_ACCOUNTS read this many days of scores: a year at a million
# accounts is 365 million score rows, more than a round of this benchmark can build; a month
# holds every comparison the portfolio, drilldown, journey board and weekly review make but
# the churn rates' 90-day baseline.
BENCH_MILLION_PAGE_DAYS ?= 30
# The history benchmark's accounts, each with 202 signals a year (bench_scoring's density).
BENCH_HISTORY_ACCOUNTS ?= 20000
# Imports: a signals CSV of BENCH_IMPORT_ROWS rows, and BENCH_API_BATCHES API batches of
# 10,000 signals, over BENCH_IMPORT_ACCOUNTS accounts.
BENCH_IMPORT_ROWS ?= 1000000
BENCH_IMPORT_ACCOUNTS ?= 10000
BENCH_API_BATCHES ?= 10

bench: $(INSTALLED)
	@for db in "$(BENCH_DATABASE_URL)" "$(BENCH_PG)/healthboard_pagebench" \
			"$(BENCH_PG)/healthboard_reviewbench" "$(BENCH_PG)/healthboard_previewbench" \
			"$(BENCH_PG)/healthboard_importbench" "$(BENCH_PG)/healthboard_backfillbench"; do \
		$(PY) scripts/services.py ensure-db "$$db"; \
		DATABASE_URL="$$db" $(PY) manage.py migrate --noinput -v0; \
	done
	@echo "== scoring: nightly recompute vs raw aggregation vs naive loop"
	DATABASE_URL="$(BENCH_DATABASE_URL)" $(PY) manage.py bench_scoring \
		--accounts $(BENCH_ACCOUNTS) --signals-per-account $(BENCH_SIGNALS) --json
	@echo "== the nightly run at ten times the accounts (accounts_1m_recompute_s, peak_rss_mb_per_worker)"
	$(PY) scripts/services.py ensure-db "$(BENCH_PG)/healthboard_millionbench"
	DATABASE_URL="$(BENCH_PG)/healthboard_millionbench" $(PY) manage.py migrate --noinput -v0
	DATABASE_URL="$(BENCH_PG)/healthboard_millionbench" $(PY) manage.py bench_million \
		--accounts $(BENCH_MILLION_ACCOUNTS) --signals-per-account $(BENCH_SIGNALS) --json
	@echo "== pages at ten times the accounts: portfolio, HTMX table, drilldown, journey board, weekly review"
	$(PY) scripts/services.py ensure-db "$(BENCH_PG)/healthboard_pagebench10x"
	DATABASE_URL="$(BENCH_PG)/healthboard_pagebench10x" $(PY) manage.py migrate --noinput -v0
	DATABASE_URL="$(BENCH_PG)/healthboard_pagebench10x" $(PY) manage.py bench_pages \
		--accounts $(BENCH_MILLION_ACCOUNTS) --days $(BENCH_MILLION_PAGE_DAYS) --json
	DATABASE_URL="$(BENCH_PG)/healthboard_pagebench10x" $(PY) manage.py bench_review \
		--accounts $(BENCH_MILLION_ACCOUNTS) --days $(BENCH_MILLION_PAGE_DAYS) --no-build --json
	@echo "== scorecard what-if preview over ten times the accounts (a sample of PREVIEW_SAMPLE_ACCOUNTS)"
	DATABASE_URL="$(BENCH_PG)/healthboard_millionbench" $(PY) manage.py bench_preview \
		--accounts $(BENCH_MILLION_ACCOUNTS) --signals-per-account $(BENCH_SIGNALS) --repeat 1 --json
	@echo "== pages: portfolio, HTMX table, drilldown"
	DATABASE_URL="$(BENCH_PG)/healthboard_pagebench" $(PY) manage.py bench_pages \
		--accounts $(BENCH_ACCOUNTS) --days $(BENCH_PAGE_DAYS) --json
	@echo "== pages: journey board and weekly review"
	DATABASE_URL="$(BENCH_PG)/healthboard_reviewbench" $(PY) manage.py bench_review \
		--accounts $(BENCH_ACCOUNTS) --json
	@echo "== scorecard what-if preview"
	DATABASE_URL="$(BENCH_PG)/healthboard_previewbench" $(PY) manage.py bench_preview \
		--accounts $(BENCH_PREVIEW_ACCOUNTS) --json
	@echo "== the nightly run with 1 and with 3 years of signals stored (ratio_history_3y_to_1y)"
	$(PY) manage.py bench_history --accounts $(BENCH_HISTORY_ACCOUNTS) --json \
		--databases "$(BENCH_PG)/healthboard_history1y" "$(BENCH_PG)/healthboard_history3y"
	@echo "== a year of the demo's daily scores back-filled (make run's first minute): SQLite, PostgreSQL"
	@mkdir -p var
	DATABASE_URL="sqlite:///$(CURDIR)/var/bench_backfill.sqlite3" $(PY) manage.py migrate --noinput -v0
	DATABASE_URL="sqlite:///$(CURDIR)/var/bench_backfill.sqlite3" $(PY) manage.py bench_backfill --json
	DATABASE_URL="$(BENCH_PG)/healthboard_backfillbench" $(PY) manage.py bench_backfill --json
	@echo "== imports: a signals CSV (csv_signals_per_s, peak_rss_mb) and API batches (api_signals_per_s)"
	DATABASE_URL="$(BENCH_PG)/healthboard_importbench" $(PY) manage.py bench_imports \
		--rows $(BENCH_IMPORT_ROWS) --accounts $(BENCH_IMPORT_ACCOUNTS) --json
	DATABASE_URL="$(BENCH_PG)/healthboard_importbench" $(PY) manage.py bench_api \
		--batches $(BENCH_API_BATCHES) --accounts $(BENCH_IMPORT_ACCOUNTS) --json

# ---------------------------------------------------------------- load test

# locust, headless, against gunicorn on 127.0.0.1 (production settings but plain HTTP) over the
# pages benchmark's accounts with LOADTEST_DAYS days of scores, built in their own database
# when missing: CSMs browse, filter and open accounts, a manager reads the weekly review, API
# clients post signals, and today's nightly run goes through a real Celery worker meanwhile.
# Stops after LOADTEST_TIME; prints p50/p95/p99 per page, requests/s and the errors, then
# whether the nightly run completed correctly (an error or a wrong run fails the target).
# See scripts/loadtest.sh for the other knobs.
LOADTEST_USERS ?= 50
LOADTEST_TIME ?= 2m
LOADTEST_SPAWN_RATE ?= 2
LOADTEST_DAYS ?= 30
LOADTEST_DATABASE_URL ?= $(BENCH_PG)/healthboard_loadtest

loadtest: $(INSTALLED)
	DATABASE_URL="$(LOADTEST_DATABASE_URL)" PY=$(PY) LOADTEST_USERS=$(LOADTEST_USERS) \
		LOADTEST_TIME=$(LOADTEST_TIME) LOADTEST_SPAWN_RATE=$(LOADTEST_SPAWN_RATE) \
		LOADTEST_ACCOUNTS=$(BENCH_ACCOUNTS) LOADTEST_DAYS=$(LOADTEST_DAYS) scripts/loadtest.sh

# ---------------------------------------------------------------- translations

# The languages besides English (settings.LANGUAGES). The .mo files are committed, so a fresh
# machine needs no gettext; these two targets do (Debian: apt-get install gettext), and
# tests/i18n/test_catalogues.py checks the .mo files match the .po files and the code.
LOCALES ?= id da pl
MESSAGES_IGNORE := --ignore=.venv --ignore=static/vendor --ignore=staticfiles --ignore=tests \
	--ignore=var --ignore=node_modules

messages: $(INSTALLED)
	$(PY) manage.py makemessages $(addprefix -l ,$(LOCALES)) $(MESSAGES_IGNORE) --no-obsolete \
		--add-location=file

compilemessages: $(INSTALLED)
	$(PY) manage.py compilemessages $(addprefix -l ,$(LOCALES)) --ignore=.venv

# ---------------------------------------------------------------- lint

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

fmt: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf staticfiles .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print | xargs rm -rf
