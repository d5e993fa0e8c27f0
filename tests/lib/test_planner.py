"""serial_plan: no parallel workers inside, the connection's own setting back after."""

import pytest
from django.db import DataError, connection, transaction

from healthboard.lib.planner import SETTING, serial_plan

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def workers() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT current_setting('{SETTING}')")
        return cursor.fetchone()[0]


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")


def test_no_parallel_workers_inside_and_the_setting_back_after():
    with connection.cursor() as cursor:
        cursor.execute(f"SET {SETTING} = 3")
    with serial_plan():
        assert workers() == "0"
    assert workers() == "3"


def test_the_setting_comes_back_when_a_query_fails_outside_a_transaction():
    with connection.cursor() as cursor:
        cursor.execute(f"SET {SETTING} = 3")
    with pytest.raises(DataError), serial_plan(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    assert workers() == "3"


def test_inside_a_failed_transaction_the_rollback_puts_it_back():
    with connection.cursor() as cursor:
        cursor.execute(f"SET {SETTING} = 3")
    with pytest.raises(DataError), transaction.atomic():
        with serial_plan(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    assert workers() == "3"
