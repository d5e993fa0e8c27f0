"""The account page's lists as CSV: its signals (in the signals import's columns, so the file
re-imports to the same data), its notes and its daily score history.

Each export reads the same parameters as the page (?category= for the signals, ?range= for
the history; a value the page would not apply is not applied here either), and whoever reads
the page may download them. Rows are streamed: an account with years of daily signals is a
file of any length in flat memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.exports import export_header, signal_rows
from accounts.models import Account
from healthboard.lib.csvfile import csv_response, number
from healthboard.lib.roles import permission_required
from healthboard.pages.account import selectors as drilldown
from healthboard.pages.audited import export_recorded
from healthboard.pages.filters import user_label
from scoring.bands import Band

read_permission = permission_required("accounts.view_account")


def _filename(account: Account, what: str) -> str:
    name = slugify(account.external_id) or str(account.pk)
    return f"{what}-{name}-{timezone.localdate():%Y-%m-%d}.csv"


@require_GET
@read_permission
@export_recorded
def account_signals_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The account's signals, of the page's category when one is picked, newest first."""
    account = drilldown.account_get(pk=pk)
    metrics = drilldown.metrics_all()
    category = request.GET.get("category", "")
    if category not in drilldown.signal_categories(metrics):
        category = ""
    signals = drilldown.signals_of(account=account, metrics=metrics, category=category or None)
    what = f"signals-{slugify(category)}" if category else "signals"
    return csv_response(
        filename=_filename(account, what),
        header=export_header("signals"),
        rows=signal_rows(signals.order_by("-observed_at", "-pk")),
    )


NOTES_HEADER = [_("Created at"), _("Kind"), _("Author"), _("Note")]


def _note_rows(notes) -> Iterator[list]:
    for note in notes.iterator(chunk_size=2000):
        yield [
            timezone.localtime(note.created_at),
            note.get_kind_display(),
            user_label(note.author) if note.author else "",
            note.body,
        ]


@require_GET
@read_permission
@export_recorded
def account_notes_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every note, call, meeting and stage change of the account, newest first."""
    account = drilldown.account_get(pk=pk)
    return csv_response(
        filename=_filename(account, "notes"),
        header=NOTES_HEADER,
        rows=_note_rows(drilldown.notes_all(account=account)),
    )


SCORES_HEADER = [
    _("Date"),
    _("Score"),
    _("Health"),
    _("Coverage %"),
    _("7-day change"),
    _("Scorecard"),
    _("Version"),
]


def _score_rows(history) -> Iterator[list]:
    for date, score, band, coverage, delta, scorecard, version in history.iterator():
        yield [
            date,
            number(score, 1),
            Band(band).label,
            number(None if coverage is None else 100 * coverage, 0),
            number(delta, 1),
            scorecard,
            f"v{version}",
        ]


@require_GET
@read_permission
@export_recorded
def account_scores_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The account's daily scores over the trend's range (?range=30|90|365), oldest first."""
    account = drilldown.account_get(pk=pk)
    days = drilldown.range_days(request.GET.get("range"))
    history = drilldown.score_history_rows(
        account=account, days=days, end=drilldown.history_end(account)
    )
    return csv_response(
        filename=_filename(account, f"scores-{days}d"),
        header=SCORES_HEADER,
        rows=_score_rows(history),
    )
