"""/api/v1/metrics: the metric catalogue, read and upserted by key."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from healthboard.api import selectors
from healthboard.api.auth import TokenAuth
from healthboard.api.errors import ErrorOut
from healthboard.api.schemas import MetricOut

router = Router(tags=["metrics"])


@router.get("", response={200: list[MetricOut], 401: ErrorOut}, auth=TokenAuth())
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
