"""serial_plan: no parallel workers inside, the connection's own setting back after."""

import pytest
from django.db import DataError, connection, transaction

from healthboard.lib.planner import RUN_WORK_MEM, SETTING, new_run_plan, serial_plan

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


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


def test_a_new_runs_plan_hashes_in_memory_inside_and_every_setting_comes_back_after():
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '5MB'; SET enable_indexscan = on")
    with transaction.atomic():
        with new_run_plan(enable_indexscan="off"):
            inside = [setting(n) for n in ("enable_nestloop", "enable_sort", "enable_indexscan")]
            assert inside == ["off", "off", "off"]
            assert setting("work_mem") == RUN_WORK_MEM
        # The transaction goes on with the connection's own settings.
        after = [setting(n) for n in ("enable_nestloop", "enable_sort", "enable_indexscan")]
        assert after == ["on", "on", "on"]
        assert setting("work_mem") == "5MB"
