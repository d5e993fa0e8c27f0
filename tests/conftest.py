"""Shared test fixtures: Celery isolation, services that CI requires, browsers, role users.

Services (Redis, PostgreSQL, Chromium) are optional on a developer machine and required in
CI: a test that needs a missing one is skipped locally and fails when CI is set.
"""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in the main thread; Django's ORM would refuse to
# run next to it. Must be set before Django touches the database.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import contextlib  # noqa: E402
import shutil  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import pytest  # noqa: E402
from celery.contrib.testing.worker import start_worker  # noqa: E402
from celery.signals import task_postrun  # noqa: E402
from django.test import Client  # noqa: E402

from healthboard.celery import app as celery_app  # noqa: E402
from healthboard.lib.roles import ADMIN, CSM, MANAGER  # noqa: E402

CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}
CHROMIUM = Path("/usr/bin/chromium")

# ---------------------------------------------------------------- Celery isolation
#
# pytest-django imports the settings before this file is read, so the settings already hold
# the developer's REDIS_URL. Under pytest, Celery instead uses two databases of its own on
# the same Redis server (broker 14, results 15) and a queue named after this run, so neither
# a development worker nor another pytest run on the same machine can take the tests' tasks.

DEV_REDIS_URL = os.environ.get("REDIS_URL", "")
TEST_QUEUE = f"healthboard-tests-{uuid.uuid4().hex[:12]}"


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server, another database number (the URL path)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


TEST_BROKER_URL = redis_url_with_db(DEV_REDIS_URL, 14) if DEV_REDIS_URL else ""
TEST_RESULT_URL = redis_url_with_db(DEV_REDIS_URL, 15) if DEV_REDIS_URL else ""


# The cache as the settings make it for production (Redis when REDIS_URL is set), before the
# tests swap it for an in-process one: the fault tests (tests/faults) put it back, on a Redis
# of their own that they stop.
PRODUCTION_CACHES: dict = {}


def pytest_configure(config: pytest.Config) -> None:
    import copy

    from django.conf import settings

    PRODUCTION_CACHES.update(copy.deepcopy(settings.CACHES))
    if TEST_BROKER_URL:
        # Code that talks to Redis directly reads settings.REDIS_URL: give it the test db too.
        settings.REDIS_URL = TEST_BROKER_URL
        settings.CELERY_BROKER_URL = TEST_BROKER_URL
        settings.CELERY_RESULT_BACKEND = TEST_RESULT_URL
        celery_app.conf.update(
            broker_url=TEST_BROKER_URL,
            result_backend=TEST_RESULT_URL,
            task_default_queue=TEST_QUEUE,
        )
    # Password hashing is slow on purpose (PBKDF2: most of a second a user on a busy machine)
    # and the tests make hundreds of users: hash their passwords the cheap way.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    # Ordinary tests run tasks in-process; only `real_celery_worker` tests use the broker.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True

    # The cache (re-score debouncing) would otherwise be the developer's Redis database,
    # shared with a running dev server and other test runs. The real worker runs in a
    # thread of this process, so an in-process cache is shared with it all the same.
    from django.test.signals import clear_cache_handlers

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "healthboard-tests",
        }
    }
    clear_cache_handlers(setting="CACHES")

    # Under test Django records the context of every Template it renders, for
    # response.context. A partial rendered alone ("page.html#region", the answer to an HTMX
    # request) is not a Template: record its context the same way.
    from django.test.utils import instrumented_test_render
    from template_partials.templatetags.partials import TemplateProxy

    TemplateProxy._render = instrumented_test_render


@pytest.fixture(autouse=True)
def _celery_eager_by_default() -> Iterator[None]:
    """Celery keeps its own copy of its config: undo whatever a test switched."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _english_by_default() -> Iterator[None]:
    """Every test starts in English: LocaleMiddleware leaves the last request's language active
    in the thread, so a test calling code directly after a Polish request would read Polish."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Every test starts with an empty cache (no debounce keys left by an earlier test), and
    no scorecard versions kept for a run id that the next test's database may give again."""
    from django.core.cache import caches

    from scoring.pipeline.runs import run_versions_forget

    yield
    for cache in caches.all(initialized_only=True):
        cache.clear()
    run_versions_forget()


def require_service(what: str, why: str) -> None:
    """Fail under CI (where every service must be present), skip elsewhere."""
    message = f"{what} is not available: {why}"
    if CI:
        pytest.fail(f"{message} (CI requires it)", pytrace=False)
    pytest.skip(message)


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.exceptions.RedisError:
        return False


@pytest.fixture
def real_celery_worker(transactional_db, settings) -> Iterator[object]:
    """A real Celery worker (solo pool, in a thread of this process) on the test Redis.

    Tasks sent by the test go through Redis and run in the worker's thread against the
    test database, so the test needs committed data (transactional_db, which this fixture
    turns on). Tasks must be registered before the test starts (e.g. at import).
    """
    if not DEV_REDIS_URL:
        require_service("Redis", "REDIS_URL is not set")
    if not redis_reachable(TEST_BROKER_URL):
        require_service("Redis", f"{TEST_BROKER_URL} does not answer")

    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    try:
        with celery_worker_thread() as worker:
            yield worker
    finally:
        celery_app.control.purge()
        _forget_test_queue()


@contextlib.contextmanager
def celery_worker_thread() -> Iterator[object]:
    """A real Celery worker, solo pool, in a thread of this process, on the broker Celery is
    configured with now."""

    def close_worker_connections(**kwargs) -> None:
        # The worker thread has its own database connection; close it after every task
        # so the test database can be flushed and dropped.
        from django.db import connections

        connections.close_all()

    task_postrun.connect(close_worker_connections, weak=False)
    try:
        with start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            shutdown_timeout=30,
            loglevel="WARNING",
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_worker_connections)


def _forget_test_queue() -> None:
    """Drop kombu's bookkeeping for this run's queue so test runs leave nothing behind."""
    import redis

    client = redis.Redis.from_url(TEST_BROKER_URL)
    keys = [key for key in client.scan_iter(match=f"_kombu.binding*{TEST_QUEUE}")]
    if keys:
        client.delete(*keys)
    client.close()


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
def postgres_required(db) -> None:
    """For tests that only make sense on PostgreSQL (also: the `postgres` marker)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        require_service("PostgreSQL", f"the test database is {connection.vendor}; set DATABASE_URL")


@pytest.fixture(autouse=True)
def _postgres_marker(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres"):
        request.getfixturevalue("postgres_required")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """Outside CI, several pytest runs may share one PostgreSQL server (engineers working in
    the same tree): give each run its own test database instead of test_<name>."""
    from django.conf import settings
    from pytest_django.fixtures import _set_suffix_to_test_databases

    if not CI and settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        _set_suffix_to_test_databases(f"run{os.getpid()}")


def _is_transactional(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    marker = item.get_closest_marker("django_db")
    return (
        "transactional_db" in names
        or "live_server" in names
        or bool(marker and marker.kwargs.get("transaction"))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Transactional tests (live_server, real workers) flush every table afterwards, which
    would also delete the data migrations' rows (roles, metrics, journey stages, segments,
    default scorecards). Serialized rollback restores them before each such test."""
    for item in items:
        # A `postgres` test needs the test database even when it asks for no fixture that
        # implies one: asked for only at run time, it would run on the real database.
        if item.get_closest_marker("postgres") and not item.get_closest_marker("django_db"):
            if not {"db", "transactional_db", "live_server"} & set(item.fixturenames):
                item.add_marker(pytest.mark.django_db)
    for item in items:
        if not _is_transactional(item):
            continue
        names = item.fixturenames
        marker = item.get_closest_marker("django_db")
        if marker and "serialized_rollback" not in marker.kwargs:
            item.add_marker(
                pytest.mark.django_db(*marker.args, **marker.kwargs, serialized_rollback=True),
                append=False,
            )
        elif not marker and "django_db_serialized_rollback" not in names:
            names.append("django_db_serialized_rollback")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """...and restores them after each such test too: pytest-django runs transactional
    tests after the others, but a test that asks for `db` only at run time
    (request.getfixturevalue) counts as database-free and runs after them."""
    result = yield
    if nextitem is not None and _is_transactional(item) and _SERIALIZED_DB_CONTENTS:
        from django.db import connections
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            for alias, contents in _SERIALIZED_DB_CONTENTS.items():
                connections[alias].creation.deserialize_db_from_string(contents)
    return result


# ---------------------------------------------------------------- Browser (Playwright)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


_SERIALIZED_DB_CONTENTS: dict[str, str] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup) -> None:
    """Remember what the test databases held after migrating (see `playwright` below)."""
    from django.db import connections

    for alias in connections:
        contents = getattr(connections[alias], "_test_serialized_contents", None)
        if contents is not None:
            _SERIALIZED_DB_CONTENTS[alias] = contents


@pytest.fixture(scope="session")
def playwright(playwright):
    """Playwright's sync API leaves its event loop "running" in the main thread. From then
    on Django hands the main thread a second set of connection objects (the ones it keeps
    for async code). Give them the serialized test-database contents that serialized
    rollback restores from, and close them before Playwright stops."""
    from django.db import connections

    for alias, contents in _SERIALIZED_DB_CONTENTS.items():
        connection = connections[alias]
        if not hasattr(connection, "_test_serialized_contents"):
            connection._test_serialized_contents = contents
    yield playwright
    # Still "async" here: close those connections, or the test database cannot be dropped.
    connections.close_all()


@pytest.fixture(scope="session", autouse=True)
def _patient_expect() -> None:
    """A 2-core machine running a live server, Celery and Chromium at once can take more
    than Playwright's default 5 s for a POST, its redirect and the next page to settle."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium instead of a Playwright download (never `playwright install`)."""
    if not (CHROMIUM.exists() and shutil.which(str(CHROMIUM))):
        require_service("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


# ---------------------------------------------------------------- Users per role

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def password() -> str:
    """The password every role user below has."""
    return PASSWORD


FIRST_NAMES = {CSM: "Casey", MANAGER: "Morgan", ADMIN: "Alex"}


def _role_user(role: str, username: str):
    from tests.factories import UserFactory

    return UserFactory(
        username=username,
        first_name=FIRST_NAMES[role],
        last_name="Tester",
        password=PASSWORD,
        role=role,
    )


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def csm_user(db):
    return _role_user(CSM, "csm-tester")


@pytest.fixture
def manager_user(db):
    return _role_user(MANAGER, "manager-tester")


@pytest.fixture
def admin_role_user(db):
    """A user in the Admin group (not a superuser, unlike pytest-django's `admin_user`)."""
    return _role_user(ADMIN, "admin-tester")


@pytest.fixture
def csm_client(csm_user) -> Client:
    return _client_for(csm_user)


@pytest.fixture
def manager_client(manager_user) -> Client:
    return _client_for(manager_user)


@pytest.fixture
def admin_role_client(admin_role_user) -> Client:
    return _client_for(admin_role_user)


# ---------------------------------------------------------------- broker down

# A port where nothing listens.
BROKER_DOWN_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def take_broker_down(settings) -> Iterator[Callable[[], None]]:
    """Call it to have Celery publish to a port where nothing listens (as when Redis is
    down), e.g. after a step that needs the queue; the broker is back after the test."""
    from healthboard.celery import app as celery_app

    saved = celery_app.conf.broker_url, celery_app._pool, celery_app.amqp._producer_pool

    def down() -> None:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_url = BROKER_DOWN_URL
        # Celery keeps its connection pools: new ones for the dead URL, the old ones back after.
        celery_app._pool = celery_app.amqp._producer_pool = None

    yield down
    # The dead URL's pools are dropped, not closed: kombu keeps one producer pool per URL for
    # the whole run, and the next test that takes the broker down would acquire a closed one.
    celery_app.conf.broker_url, celery_app._pool, celery_app.amqp._producer_pool = saved
    celery_app.conf.task_always_eager = True


@pytest.fixture
def broker_down(take_broker_down) -> None:
    """Celery publishes to a port where nothing listens for the whole test."""
    take_broker_down()
