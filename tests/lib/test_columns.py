"""float_rows: a raw query's rows as a float matrix, packed on PostgreSQL, fetched elsewhere."""

import numpy as np
import pytest
from django.db import connection

from healthboard.lib.columns import float_rows

pytestmark = pytest.mark.django_db

ROWS = (
    "SELECT * FROM (SELECT 1 AS a, 2.5 AS b, NULL AS c UNION ALL SELECT 3, -4.25, 7) v "
    "WHERE a >= %s ORDER BY a"
)


def test_the_rows_come_back_in_order_with_null_as_nan():
    with connection.cursor() as cursor:
        data = float_rows(cursor, ROWS, [0], width=3)
    np.testing.assert_array_equal(data, [[1.0, 2.5, np.nan], [3.0, -4.25, 7.0]])
    assert data.dtype == np.float64


def test_no_rows_is_an_empty_matrix_of_the_width():
    with connection.cursor() as cursor:
        data = float_rows(cursor, ROWS, [10], width=3)
    assert data.shape == (0, 3)
