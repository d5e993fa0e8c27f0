"""A batch written through the imports (accounts.imports.import_records): the same checks,
de-duplication and all-or-nothing write as a CSV file, answered in JSON. Safe to retry with
an Idempotency-Key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.http import HttpRequest, HttpResponse

from accounts.imports import ImportOptions, ImportResult, import_records
from healthboard.api.errors import ApiError, item_error
from healthboard.api.idempotency import idempotent_write
from healthboard.lib.queue import QUEUE_DOWN_TEXT


def _refused(result: ImportResult, *, items: str) -> ApiError:
    # Rows count from 1 (first_row below): item i of the list is row i + 1.
    errors = [
        item_error(
            items=items,
            index=e.row - 1 if e.row > 0 else None,
            field=e.column or None,
            reason=e.reason,
        )
        for e in result.errors
    ]
    bad = len({e["index"] for e in errors if e["index"] is not None})
    if bad:
        detail = (
            f"{len(errors):,} problem(s) in {bad:,} of the {items} (by index in the list): "
            "nothing was written."
        )
    else:
        detail = f"{result.message} Nothing was written."
    return ApiError(422, detail, errors=errors)


def batch_write(
    request: HttpRequest,
    *,
    kind: str,
    items: str,
    records: Sequence[Mapping[str, object]],
    options: ImportOptions,
) -> HttpResponse:
    """Write `records` (the items of the list named `items`) as an import of `kind`, or
    refuse them all with each bad item's index, field and reason."""
    request.api_note["items"] = len(records)

    def write() -> tuple[int, dict]:
        result = import_records(
            kind=kind, records=records, options=options, user=request.api_token.owner, first_row=1
        )
        if not result.ok:
            raise _refused(result, items=items)
        request.api_note["written"] = result.written
        detail = result.summary()
        if result.rescore_scheduled is False:
            # Stored all the same; known here when the batch committed on its own (inside an
            # Idempotency-Key's transaction the re-score is asked for after this answer).
            detail += (
                f" Their accounts are not re-scored yet: {QUEUE_DOWN_TEXT}; the nightly run "
                "scores them."
            )
        return 200, {
            "received": len(records),
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "detail": detail,
        }

    return idempotent_write(request, write)
