"""The kinds of import: what each reads, how it checks a row, how it writes.

Each kind turns a batch of rows (row number, cells) into staged tuples and row errors
(`parse`), names the staged columns that make two rows the same record (`duplicate_keys`),
and writes the staged rows in one transaction (`write`) or counts what it would write
(`estimate`). The pipeline (accounts.imports.pipeline) drives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from django.utils.translation import gettext as _

from accounts.imports.columns import Column, ColumnMapping
from accounts.imports.errors import RowError
from accounts.imports.options import ImportOptions, Limits
from accounts.imports.staging import Staging, is_distinct

Batch = Sequence[tuple[int, list[str]]]


@dataclass
class Counts:
    """What a write did (or, for a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    accounts: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DuplicateKey:
    """Staged columns that identify a record: a second row with the same values is a
    duplicate in the file (`where` limits the rows the key applies to)."""

    columns: tuple[str, ...]
    field: str
    where: str = "TRUE"


class Kind:
    name: ClassVar[str]
    noun: ClassVar[str]  # "signal(s)"
    columns: ClassVar[tuple[Column, ...]]
    staging: ClassVar[tuple[tuple[str, str], ...]]
    duplicate_keys: ClassVar[tuple[DuplicateKey, ...]] = ()

    def __init__(self, *, options: ImportOptions, limits: Limits, user=None) -> None:
        self.options = options
        self.limits = limits
        self.user = user
        self.mapping: ColumnMapping | None = None

    def start(self, mapping: ColumnMapping, *, decimal_comma: bool) -> None:
        """Called once the columns are known, before the first batch; MappingError when
        they cannot do."""
        self.mapping = mapping
        self.decimal_comma = decimal_comma
        self.width = len(mapping.header)

    # ------------------------------------------------------------ per batch

    def parse(self, batch: Batch) -> tuple[list[tuple], list[RowError]]:
        raise NotImplementedError

    def display(self, staged: tuple) -> dict[str, object]:
        """A staged row as a preview shows it: field → value."""
        raise NotImplementedError

    # ------------------------------------------------------------ whole file

    def duplicate_reason(self, key: DuplicateKey, values: tuple, first_row: int) -> str:
        return f"the same record as row {first_row}"

    def write(self, stage: Staging) -> Counts:
        raise NotImplementedError

    def estimate(self, stage: Staging) -> Counts:
        raise NotImplementedError

    # ------------------------------------------------------------ helpers for parse

    def fit(self, row: int, cells: list[str], errors: list[RowError]) -> list[str] | None:
        """The row's cells, padded to the header's width; None (and an error) when the row
        has more non-empty cells than the header has columns: a delimiter inside an
        unquoted value would shift every cell after it, so such a row is never guessed at."""
        width = self.width
        if len(cells) < width:
            return cells + [""] * (width - len(cells))
        if any(cells[width:]):
            errors.append(
                RowError(
                    row,
                    "(row)",
                    _(
                        "%(count)s cells but the header has %(width)s columns: quote the values "
                        "that contain the delimiter"
                    )
                    % {"count": len(cells), "width": width},
                )
            )
            return None
        return cells

    def text(
        self, row: int, cells: list[str], field: str, errors: list[RowError], *, max_length: int
    ) -> str:
        """The stripped cell of `field` ("" when unmapped), or "" and a "too long" error."""
        index = self.mapping.index(field)
        if index is None:
            return ""
        value = cells[index].strip()
        if len(value) > max_length:
            errors.append(
                RowError(
                    row,
                    self.mapping.column(field),
                    _("longer than %(max_length)s characters")
                    % {"max_length": format(max_length, ",")},
                )
            )
            return ""
        return value

    def required(self, row: int, field: str, errors: list[RowError]) -> None:
        errors.append(RowError(row, self.mapping.column(field), _("a value is required")))


# ---------------------------------------------------------------- upserts by key


@dataclass(frozen=True)
class Target:
    """A column written by an upsert (the same name in the staged table). An empty cell
    (NULL when staged) keeps the stored value; a new row gets `default` (SQL) instead, or
    NULL when there is none (the parse step made sure required ones are there)."""

    column: str
    default: str | None = None


def upsert(
    stage: Staging,
    *,
    table: str,
    key: str,
    targets: Sequence[Target],
    update_extra: str = "",
    update_params: Sequence = (),
    insert_extra: dict[str, str] | None = None,
    insert_params: Sequence = (),
) -> tuple[int, int]:
    """Update the stored rows whose staged values differ, then insert the new ones: two
    statements whatever the number of rows. Returns (created, updated); rows that would
    change nothing are left alone, so a re-sent file updates nothing."""
    changed = " OR ".join(
        f"(s.{t.column} IS NOT NULL AND {is_distinct(f's.{t.column}', f'{table}.{t.column}')})"
        for t in targets
    )
    sets = ", ".join(f"{t.column} = COALESCE(s.{t.column}, {table}.{t.column})" for t in targets)
    updated = stage.execute(
        f"UPDATE {table} SET {sets}{update_extra} FROM {{stage}} s "
        f"WHERE {table}.{key} = s.{key} AND ({changed})",
        update_params,
    )
    insert_extra = insert_extra or {}
    columns = [key, *(t.column for t in targets), *insert_extra]
    values = [
        f"s.{key}",
        *(
            f"COALESCE(s.{t.column}, {t.default})" if t.default else f"s.{t.column}"
            for t in targets
        ),
        *insert_extra.values(),
    ]
    created = stage.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
        f"FROM {{stage}} s WHERE NOT EXISTS (SELECT 1 FROM {table} a WHERE a.{key} = s.{key})",
        insert_params,
    )
    return created, updated


def existing_keys(model, field: str, keys: set[str]) -> set[str]:
    """Which of these keys are stored already (in chunks: SQLite limits a query's
    parameters)."""
    ordered = sorted(k for k in keys if k)
    found: set[str] = set()
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        found.update(model.objects.filter(**{f"{field}__in": chunk}).values_list(field, flat=True))
    return found
