"""The CSM's sentiment region of the account page: the current one (who set it, when, why,
until when), its history, and the form to set or withdraw it (views.account_sentiment_*).

Every role reads it; the account's CSM, Managers and Admins set it (can_work_on). The region
is the "sentiment" partial of templates/account/sentiment.html.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, Sentiment
from healthboard.lib.dates import short_day_text
from healthboard.lib.roles import can_work_on
from healthboard.pages.account import selectors as drilldown
from healthboard.pages.account.forms import SentimentForm

# The history shown on the page: older ones are rarely read, and the region stays one query.
HISTORY = 10


def sentiment_region(
    request: HttpRequest,
    account: Account,
    *,
    form: SentimentForm | None = None,
    status: str = "",
    can_set: bool | None = None,
) -> dict:
    """The region's context. One query (the recent sentiments with their people)."""
    rows = drilldown.sentiments_recent(account=account, limit=HISTORY + 1)
    today = timezone.localdate()
    for row in rows:
        row.status_text = _status_text(row, today)
    latest = rows[0] if rows else None
    can_set = can_work_on(request.user, account) if can_set is None else can_set
    context = {
        "account": account,
        "sentiment": latest if latest is not None and latest.is_current(today) else None,
        "sentiment_latest": latest,
        "sentiment_history": rows[:HISTORY],
        "sentiment_more": len(rows) > HISTORY,
        "sentiment_status": status,
        "can_set_sentiment": can_set,
        "today": today,
    }
    if can_set:
        context["sentiment_form"] = form or SentimentForm()
    return context


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else _("someone")


def _status_text(sentiment: Sentiment, today) -> str:
    """How it ended, or until when it counts, in words."""
    status = sentiment.status(today)
    if status == "current":
        return _("counts until %(day)s") % {"day": short_day_text(sentiment.last_day)}
    if status == "expired":
        return _("expired on %(day)s") % {"day": short_day_text(sentiment.expires_on)}
    ended = {
        "day": short_day_text(timezone.localtime(sentiment.ended_at)),
        "person": _person(sentiment.ended_by),
    }
    if status == Sentiment.End.REPLACED:
        return _("replaced on %(day)s by %(person)s") % ended
    return _("withdrawn on %(day)s by %(person)s") % ended
