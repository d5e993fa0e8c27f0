"""/api/v1/signals: batches of signals, checked whole and stored once."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from accounts.imports import ImportOptions
from healthboard.api import idempotency
from healthboard.api.auth import TokenAuth
from healthboard.api.errors import WRITE_ERRORS
from healthboard.api.schemas import SignalsIn, WriteOut
from healthboard.api.writes import batch_write

router = Router(tags=["signals"])


@router.post(
    "",
    response={200: WriteOut, **WRITE_ERRORS},
    auth=TokenAuth(write=True),
    summary="Send signals",
    openapi_extra=idempotency.OPENAPI,
)
def signals_post(request: HttpRequest, payload: SignalsIn):
    """Up to 10,000 signals. The whole batch is checked first: one bad item refuses it
    (422, every bad item's index, field and reason) and nothing is written. A signal sent
    again is stored once: by (source, external id), or without an external id by
    (account, metric, observed at, value, source). The accounts with new signals are
    re-scored shortly after."""
    return batch_write(
        request,
        kind="signals",
        items="signals",
        records=payload.signals,
        options=ImportOptions(source=(payload.source or "").strip()),
    )
