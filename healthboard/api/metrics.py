"""/api/v1/metrics: the metric catalogue, read and upserted by key."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from accounts.imports import ImportOptions
from healthboard.api import idempotency, selectors
from healthboard.api.auth import TokenAuth
from healthboard.api.errors import READ_ERRORS, WRITE_ERRORS
from healthboard.api.schemas import MetricOut, MetricsIn, WriteOut
from healthboard.api.writes import batch_write

router = Router(tags=["metrics"])


@router.get(
    "",
    response={200: list[MetricOut], **READ_ERRORS},
    auth=TokenAuth(),
    summary="The metric catalogue",
)
def metrics_list(request: HttpRequest):
    """The metric catalogue: what signals can name, with units and direction."""
    return [
        {
            "key": m.key,
            "name": m.name,
            "unit": m.unit,
            "category": m.category,
            "direction": m.direction,
            "direction_label": m.get_direction_display(),
            "description": m.description,
        }
        for m in selectors.metrics_all()
    ]


@router.post(
    "",
    response={200: WriteOut, **WRITE_ERRORS},
    auth=TokenAuth(write=True),
    summary="Create or update metrics",
    openapi_extra=idempotency.OPENAPI,
)
def metrics_post(request: HttpRequest, payload: MetricsIn):
    """Up to 1,000 metrics, created or updated by key, checked as the CSV import checks
    them: one bad item refuses the batch and nothing is written."""
    return batch_write(
        request,
        kind="metrics",
        items="metrics",
        records=payload.metrics,
        options=ImportOptions(),
    )
