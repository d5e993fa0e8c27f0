"""The plumbing every feature relies on: database, Celery, login, deployment checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from celery.result import AsyncResult, EagerResult
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from accounts.models import Account, Note
from healthboard.celery import app as celery_app
from healthboard.lib.roles import ADMIN, CSM, MANAGER
from tests.conftest import CI, TEST_BROKER_URL, TEST_QUEUE, TEST_RESULT_URL, require_service
from tests.factories import AccountFactory, UserFactory

BASE_DIR = Path(__file__).resolve().parent.parent


# A task for the tests only, registered at import, i.e. before any worker starts.
@celery_app.task(name="tests.touch_account")
def touch_account(account_id: int, new_name: str) -> str:
    account = Account.objects.get(pk=account_id)
    account.name = new_name
    account.save(update_fields=["name"])
    Note.objects.create(account=account, body=f"Renamed to {new_name} by a Celery worker.")
    return new_name


@celery_app.task(name="tests.add")
def add(x: int, y: int) -> int:
    return x + y


# ---------------------------------------------------------------- database


@pytest.mark.django_db
def test_the_database_backend_is_postgresql_in_ci(record_property) -> None:
    record_property("database_vendor", connection.vendor)
    record_property("database_name", connection.settings_dict["NAME"])
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    if CI:
        assert connection.vendor == "postgresql"
    else:
        assert connection.vendor in {"postgresql", "sqlite"}


@pytest.mark.django_db
def test_the_data_migrations_seed_roles_and_catalogue() -> None:
    from django.contrib.auth.models import Group

    from accounts.models import JourneyStage, Metric, Segment

    assert set(Group.objects.values_list("name", flat=True)) >= {CSM, MANAGER, ADMIN}
    assert JourneyStage.objects.filter(slug="adoption").exists()
    assert Metric.objects.filter(key="logins").exists()
    assert Segment.objects.filter(slug="enterprise").exists()


# ---------------------------------------------------------------- Celery


def test_celery_uses_its_own_redis_databases_and_queue_under_pytest() -> None:
    if not TEST_BROKER_URL:
        assert celery_app.conf.broker_url == "memory://"
        require_service("Redis", "REDIS_URL is not set: Celery has no broker to isolate")
    assert celery_app.conf.broker_url == TEST_BROKER_URL
    assert celery_app.conf.broker_url.endswith("/14")
    assert celery_app.conf.result_backend == TEST_RESULT_URL
    assert celery_app.conf.result_backend.endswith("/15")
    assert celery_app.conf.task_default_queue == TEST_QUEUE
    assert settings.REDIS_URL == TEST_BROKER_URL


def test_the_cache_is_private_to_the_test_run() -> None:
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    assert isinstance(caches["default"], LocMemCache)
    assert caches["default"].add("infrastructure-probe", 1)


@pytest.mark.celery
def test_a_real_worker_on_redis_runs_a_task_that_writes_to_the_database(
    real_celery_worker,
) -> None:
    account = AccountFactory(name="Before")

    result = touch_account.delay(account.pk, "After")

    assert isinstance(result, AsyncResult)
    assert not isinstance(result, EagerResult)
    assert result.get(timeout=30) == "After"
    account.refresh_from_db()
    assert account.name == "After"
    assert Note.objects.filter(account=account, body__contains="Celery worker").count() == 1


@pytest.mark.django_db
def test_ordinary_tests_run_tasks_eagerly() -> None:
    assert celery_app.conf.task_always_eager is True
    account = AccountFactory(name="Eager before")

    result = touch_account.delay(account.pk, "Eager after")

    assert isinstance(result, EagerResult)
    account.refresh_from_db()
    assert account.name == "Eager after"


def test_the_real_worker_switch_does_not_leak_into_later_tests() -> None:
    # pytest-django runs tests without a database last, so this one runs after the
    # real-worker test above, which switched eager mode off for itself.
    assert celery_app.conf.task_always_eager is True
    assert isinstance(add.delay(2, 3), EagerResult)


@pytest.mark.django_db(transaction=True)
def test_the_catalogue_survives_a_transactional_test() -> None:
    # Transactional tests flush all tables; serialized rollback (conftest) restores the
    # data migrations' rows before each of them.
    from django.contrib.auth.models import Group

    from accounts.models import JourneyStage

    assert Group.objects.filter(name=CSM).exists()
    assert JourneyStage.objects.filter(slug="adoption").exists()


# ---------------------------------------------------------------- login


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/admin/"])
def test_anonymous_requests_are_sent_to_a_login_page(client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    login_pages = (reverse("login"), reverse("admin:login"))
    assert response["Location"].startswith(login_pages)
    assert f"next={path}" in response["Location"]


@pytest.mark.django_db
def test_the_login_page_renders_for_anonymous_visitors(client) -> None:
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("role", [CSM, MANAGER, ADMIN])
def test_each_role_logs_in_through_the_form_and_lands_on_home(client, role, password) -> None:
    user = UserFactory(username=f"login-{role.lower()}", password=password, role=role)

    response = client.post(
        reverse("login"), {"username": user.username, "password": password}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("home")
    assert response.wsgi_request.user == user
    assert response.context["role"] == role


@pytest.mark.django_db
def test_a_wrong_password_does_not_log_in(client, password) -> None:
    user = UserFactory(username="wrong-password", password=password, role=CSM)

    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_role_client_fixtures_are_logged_in_users_of_their_group(
    csm_client, manager_client, admin_role_client
) -> None:
    for client, role in [(csm_client, CSM), (manager_client, MANAGER), (admin_role_client, ADMIN)]:
        user_id = client.session["_auth_user_id"]
        user = get_user_model().objects.get(pk=user_id)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert not user.is_superuser


# ---------------------------------------------------------------- deployment


def test_the_deploy_check_passes_with_production_settings() -> None:
    env = {
        # A production environment has neither of these (async.E001 would fire).
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "CI"}},
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "healthboard.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://healthboard.example.com",
        "DJANGO_SETTINGS_MODULE": "healthboard.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def settings_in(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with exactly these variables set."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    code = (
        "import healthboard.settings as s; "
        "print(s.DEBUG, getattr(s, 'SECURE_HSTS_PRELOAD', None), s.SECRET_KEY == s.DEV_SECRET_KEY)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_is_off_unless_asked_for() -> None:
    result = settings_in({"SECRET_KEY": secrets.token_urlsafe(64)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"DEBUG": "false"},
        {"SECRET_KEY": "django-insecure-local-development-only"},
        {"DEBUG": "false", "SECRET_KEY": "django-insecure-local-development-only"},
        {"DEBUG": "false", "SECRET_KEY": "django-insecure-anything-else-0123456789"},
    ],
    ids=["nothing-set", "no-key", "dev-key", "dev-key-debug-off", "insecure-prefix"],
)
def test_the_app_refuses_to_start_without_debug_and_a_real_key(env) -> None:
    result = settings_in(env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr and "DEBUG=true" in result.stderr


def test_development_says_so_and_keeps_the_development_key() -> None:
    result = settings_in({"DEBUG": "true"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "None", "True"]


def test_hsts_preload_is_opt_in() -> None:
    key = secrets.token_urlsafe(64)

    assert settings_in({"SECRET_KEY": key}).stdout.split()[1] == "False"
    opted = settings_in({"SECRET_KEY": key, "SECURE_HSTS_PRELOAD": "true"})
    assert opted.stdout.split()[1] == "True"
