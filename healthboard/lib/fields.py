"""Model fields the framework lacks."""

from __future__ import annotations

from django.db import models


class TextJSONField(models.JSONField):
    """A JSONField kept as the text it was written (PostgreSQL's json, not jsonb).

    For values written in bulk, read whole and never searched inside, such as the per-measure
    details of every account's daily score. jsonb parses every number into a numeric when
    a row is written: about 6 µs a row of those details, the largest single cost of writing a
    day of scores (0.6 s of PostgreSQL's CPU at 100,000 accounts). Reading a key
    (`details__raw`) works on json as on jsonb; comparing values, containment and key
    existence (`=`, `@>`, `?`) need jsonb and are not used on these fields. Other databases
    store JSON as text anyway.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        # The PostgreSQL driver decodes json itself (Django asks it to leave jsonb as text).
        if value is None or not isinstance(value, str | bytes | bytearray):
            return value
        return super().from_db_value(value, expression, connection)
