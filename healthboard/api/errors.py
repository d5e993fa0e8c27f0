"""JSON errors that say what is wrong and where.

Every error answer has the same shape:

    {"detail": "One sentence saying what is wrong.",
     "errors": [{"location": "signals[3].value", "index": 3, "field": "value",
                 "reason": "'abc' is not a number"}]}

`errors` lists each bad item of a batch (its index in the list and the field), or each bad
parameter; it is empty when the sentence says it all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from ninja import Schema


class ItemError(Schema):
    location: str
    index: int | None = None
    field: str | None = None
    reason: str


class ErrorOut(Schema):
    detail: str
    errors: list[ItemError] = []


class ApiError(Exception):
    """An answer other than success: status, a sentence, the bad items, extra headers."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return {"detail": self.detail, "errors": self.errors}


def item_error(*, items: str, index: int | None, field: str | None, reason: str) -> dict:
    """One bad item of the list `items` (or, with index None, a field of the request)."""
    location = items
    if index is not None:
        location += f"[{index}]"
    if field:
        location = f"{location}.{field}" if location else field
    return {"location": location, "index": index, "field": field, "reason": reason}


def _reason(error: Mapping[str, Any]) -> str:
    """pydantic's message, or plainer words for the usual mistakes."""
    kind = error.get("type", "")
    if kind == "missing":
        return _("a value is required")
    if kind == "extra_forbidden":
        return _("not a field of this item: check its spelling")
    if kind.endswith("_type") and error.get("input", "") is None:
        return _("a value is required, not null")
    return str(error.get("msg", _("is not valid")))


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict]:
    """django-ninja's (pydantic's) errors in the API's shape. Their `loc` reads like
    ("body", "payload", "signals", 3, "value") or ("query", "limit")."""
    out = []
    for error in errors:
        loc = list(error.get("loc") or ())
        if loc and loc[0] == "body":
            loc = loc[2:]  # "body" and the parameter's name
        elif loc:
            loc = loc[1:]  # "query", "path", "header"
        index = next((part for part in loc if isinstance(part, int)), None)
        names = [str(part) for part in loc if not isinstance(part, int)]
        location = "".join(
            f"[{part}]" if isinstance(part, int) else (f".{part}" if i else str(part))
            for i, part in enumerate(loc)
        )
        out.append(
            {
                "location": location or "body",
                "index": index,
                "field": names[-1] if names else None,
                "reason": _reason(error),
            }
        )
    return out


# The error answers each kind of endpoint may give (for the OpenAPI document).
READ_ERRORS = {code: ErrorOut for code in (401, 404, 422, 429)}
WRITE_ERRORS = {code: ErrorOut for code in (400, 401, 403, 413, 422, 429)}
