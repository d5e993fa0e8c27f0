"""The navigation's "My actions" count for every page (a context processor, in settings)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from healthboard.pages.actions.selectors import due_now_count


def actions_nav(request: HttpRequest) -> dict:
    """`actions_due`: counted (one query) only when a template shows it, so HTMX fragments
    without the navigation cost nothing."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "actions_due": SimpleLazyObject(
            lambda: due_now_count(user=user, today=timezone.localdate())
        )
    }
