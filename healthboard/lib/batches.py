"""Deleting many rows without holding up the writers of the same table."""

from __future__ import annotations

from django.db.models import QuerySet


def delete_in_batches(queryset: QuerySet, batch: int = 10_000) -> int:
    """Delete the queryset's rows `batch` at a time, each batch its own short transaction
    (unordered: the rows as the database finds them, no sort of all of them per batch).
    Returns how many were deleted."""
    deleted = 0
    manager = queryset.model._default_manager
    while ids := list(queryset.order_by().values_list("pk", flat=True)[:batch]):
        # A queryset delete: some models (the audit log) refuse to delete one row at a time.
        deleted += manager.filter(pk__in=ids).delete()[0]
    return deleted
