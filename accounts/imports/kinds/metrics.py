"""Metrics of the catalogue, upserted by key: a new metric needs a name; for a stored one an
empty cell keeps what is stored."""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.imports import rules
from accounts.imports.cells import CellError
from accounts.imports.columns import Column
from accounts.imports.errors import RowError
from accounts.imports.kinds import Batch, Counts, DuplicateKey, Kind, Target, existing_keys, upsert
from accounts.imports.staging import Staging
from accounts.models import Metric

METRIC = Metric._meta.db_table
# The rules of each field are shared with the pages' forms (accounts.imports.rules).
LENGTH = rules.METRIC_LENGTH
UP = rules.UP


class MetricsKind(Kind):
    name = "metrics"
    noun = "metric(s)"
    columns = (
        Column(
            "key",
            gettext_noop("Key"),
            required=True,
            synonyms=("metric key", "metric", "metric id", "code", "slug"),
            help=gettext_lazy(
                "Letters, digits, - and _ (logins, csat): what signals name the metric by."
            ),
        ),
        Column("name", gettext_noop("Name"), synonyms=("metric name", "label", "title")),
        Column("unit", gettext_noop("Unit"), synonyms=("units",)),
        Column("category", gettext_noop("Category"), synonyms=("group",)),
        Column(
            "direction",
            gettext_noop("Direction"),
            synonyms=("polarity", "better"),
            help=gettext_lazy("1 or 'more is better', -1 or 'more is worse'."),
        ),
        Column("description", gettext_noop("Description"), synonyms=("notes", "details")),
    )
    staging = (
        ("row_no", "integer"),
        ("key", "text"),
        ("name", "text"),
        ("unit", "text"),
        ("category", "text"),
        ("direction", "smallint"),
        ("description", "text"),
    )
    duplicate_keys = (DuplicateKey(("key",), "key"),)

    def parse(self, batch: Batch) -> tuple[list[tuple], list[RowError]]:
        m = self.mapping
        i_key = m.index("key")
        stored = existing_keys(
            Metric, "key", {cells[i_key].strip() for _row, cells in batch if len(cells) > i_key}
        )
        staged, errors = [], []
        for row, cells in batch:
            if (cells := self.fit(row, cells, errors)) is None:
                continue
            before = len(errors)
            key = self.text(row, cells, "key", errors, max_length=LENGTH["key"])
            if not key and len(errors) == before:
                self.required(row, "key", errors)
            elif key:
                try:
                    rules.metric_key(key)
                except CellError as exc:
                    errors.append(RowError(row, m.column("key"), str(exc)))
            values = {
                field: self.text(row, cells, field, errors, max_length=LENGTH[field]) or None
                for field in ("name", "unit", "category")
            }
            description = (
                self.text(row, cells, "description", errors, max_length=self.limits.max_field_chars)
                or None
            )
            direction = None
            index = m.index("direction")
            if index is not None and (raw := cells[index].strip()):
                try:
                    direction = rules.metric_direction(raw)
                except CellError as exc:
                    errors.append(RowError(row, m.column("direction"), str(exc)))
            if key and key not in stored and values["name"] is None:
                if not any(e.column == m.column("name") for e in errors[before:]):
                    errors.append(
                        RowError(row, m.column("name"), _("a value is required for a new metric"))
                    )
            if len(errors) == before:
                staged.append(
                    (
                        row,
                        key,
                        values["name"],
                        values["unit"],
                        values["category"],
                        direction,
                        description,
                    )
                )
        return staged, errors

    def display(self, staged: tuple) -> dict[str, object]:
        _row, key, name, unit, category, direction, description = staged
        return {
            "key": key,
            "name": name or "",
            "unit": unit or "",
            "category": category or "",
            "direction": str(Metric.Direction(direction).label) if direction else "",
            "description": description or "",
        }

    def duplicate_reason(self, key, values, first_row) -> str:
        return _("%(value)r appears twice in this import (first on row %(row)s)") % {
            "value": values[0],
            "row": first_row,
        }

    def write(self, stage: Staging) -> Counts:
        if connection.vendor == "postgresql":
            stage.execute("SELECT pg_advisory_xact_lock(hashtext('accounts.imports.metrics'))")
        created, updated = upsert(
            stage,
            table=METRIC,
            key="key",
            targets=(
                Target("name"),
                Target("unit", "''"),
                Target("category", "''"),
                Target("direction", str(int(UP))),
                Target("description", "''"),
            ),
        )
        return Counts(created=created, updated=updated, unchanged=stage.rows - created - updated)

    def estimate(self, stage: Staging) -> Counts:
        [(new,)] = stage.fetch(
            f"SELECT COUNT(*) FROM {{stage}} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {METRIC} a WHERE a.key = s.key)"
        )
        return Counts(created=new, updated=stage.rows - new)
