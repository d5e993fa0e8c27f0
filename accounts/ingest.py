"""Bulk ingestion of signals given as rows (an API batch): all rows valid or nothing
written; a re-sent signal is stored once, by (source, external id) or, without an id, by
(account, metric, observed at, value, source). The checks and the write are the CSV
import's (accounts.imports); this keeps the batch-shaped entry point."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from accounts.imports import ImportOptions, RowError, import_records

FIELDS = ("account", "metric", "observed_at", "value", "category", "text", "external_id")

__all__ = ["FIELDS", "IngestError", "IngestResult", "RowError", "signals_ingest"]


class IngestError(ValueError):
    """Some rows are invalid; nothing was written."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"{len(errors)} problem(s), nothing imported: {shown}{more}")


@dataclass
class IngestResult:
    received: int
    created: int
    duplicates: int
    accounts: set[int] = field(default_factory=set)


def signals_ingest(
    *, rows: Iterable[Mapping[str, str]], source: str, first_row: int = 1
) -> IngestResult:
    """Validate every row, then write them all in one transaction.

    Each row names the account by its CRM external id and the metric by its key; an optional
    external_id makes a re-sent row a no-op (without one, the same account, metric, time,
    value and source does). Once committed, `signals_ingested` announces the accounts."""
    source = (source or "").strip()
    if not source or len(source) > 40:
        raise IngestError([RowError(0, "source", "a source name of 1–40 characters is required")])
    result = import_records(
        kind="signals", records=rows, options=ImportOptions(source=source), first_row=first_row
    )
    if not result.ok:
        raise IngestError(result.errors or [RowError(0, "rows", result.message)])
    return IngestResult(
        received=result.created + result.unchanged,
        created=result.created,
        duplicates=result.unchanged,
        accounts=result.accounts,
    )
