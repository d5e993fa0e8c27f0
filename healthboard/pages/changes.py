"""The history of changes made by hand (accounts.FieldChange), as the edited object's page
shows it."""

from __future__ import annotations

from accounts.models import FieldChange

HISTORY_ROWS = 50


def field_changes(*, object_type: str, object_id: int, limit: int = HISTORY_ROWS) -> dict:
    """The object's newest changes (at most `limit`), and whether there are older ones. One
    query, on the (object type, object id, time) index."""
    rows = list(
        FieldChange.objects.filter(object_type=object_type, object_id=object_id)
        .select_related("user")
        .order_by("-at", "-id")[: limit + 1]
    )
    return {"rows": rows[:limit], "more": len(rows) > limit, "limit": limit}
