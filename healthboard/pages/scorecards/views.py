"""Scorecard pages: the list, a version (read-only), its history, and the draft editor with
its live validation, what-if preview, publishing and the recompute's progress.

Admins (scoring.change_scorecard) edit; Managers (scoring.view_scorecard) read the active
version; everybody else gets 403. Business logic lives in scoring.services (writes),
scoring.scorecard_selectors (reads), scoring.forms and scoring.preview.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from healthboard.lib import htmx
from healthboard.lib.csvfile import csv_response
from healthboard.lib.csvfile import number as rounded
from healthboard.lib.queue import QUEUE_DOWN
from healthboard.lib.roles import permission_required
from healthboard.pages.audited import export_recorded
from healthboard.pages.scorecards import charts as preview_charts
from healthboard.pages.scorecards.forms import PREFIX, DraftForms, ScorecardNewForm, apply_op
from healthboard.pages.scorecards.selectors import (
    accounts_named,
    publish_progress,
    scorecard_get,
    scorecard_history,
    scorecard_rows,
    scorecards_for_new,
    version_breakdown,
    version_get,
)
from scoring import bands, services
from scoring.editor.preview import PreviewChange, preview_changes, preview_draft
from scoring.models import Scorecard, ScorecardVersion

VIEW, CHANGE = "scoring.view_scorecard", "scoring.change_scorecard"
LIST, DETAIL, HISTORY = "scorecards/list.html", "scorecards/detail.html", "scorecards/history.html"
NEW = "scorecards/new.html"
ADD = "scoring.add_scorecard"
EDITOR, PROGRESS = "scorecards/editor.html", "scorecards/progress.html"
MAX_BACKFILL_DAYS = 90


class BackfillForm(django_forms.Form):
    backfill = django_forms.BooleanField(
        required=False, label=_("Also back-fill the last days with the new version")
    )
    backfill_days = django_forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_BACKFILL_DAYS,
        initial=7,
        label=_("Days to back-fill"),
        error_messages={
            "min_value": _("Back-fill at least 1 day."),
            # Django fills in limit_value (MAX_BACKFILL_DAYS) when it shows the error.
            "max_value": _("Back-fill at most %(limit_value)s days at a time."),
        },
    )

    def clean(self):
        data = super().clean()
        if data.get("backfill") and not data.get("backfill_days"):
            self.add_error("backfill_days", gettext("How many days should be back-filled?"))
        return data

    @property
    def days(self) -> int:
        data = getattr(self, "cleaned_data", {})
        return (data.get("backfill_days") or 0) if data.get("backfill") else 0


def _draft(pk: int, number: int) -> tuple[Scorecard, ScorecardVersion]:
    scorecard = get_object_or_404(Scorecard, pk=pk)
    try:
        version = version_get(scorecard=scorecard, number=number)
    except ScorecardVersion.DoesNotExist:
        raise Http404(gettext("No such version.")) from None
    return scorecard, version


def _editable(request: HttpRequest, version: ScorecardVersion) -> HttpResponse | None:
    """Published versions are frozen: send the admin to the read-only page instead."""
    if version.is_draft:
        return None
    messages.info(
        request,
        (
            gettext(
                "v%(number)s is active and cannot change; create a draft to edit the scorecard."
            )
            if version.status == ScorecardVersion.Status.ACTIVE
            else gettext(
                "v%(number)s is retired and cannot change; create a draft to edit the scorecard."
            )
        )
        % {"number": version.number},
    )
    return redirect("scoring:scorecard_version", pk=version.scorecard_id, number=version.number)


# ---------------------------------------------------------------- reading


@permission_required(VIEW)
@require_GET
def scorecard_list(request: HttpRequest) -> HttpResponse:
    rows, default_segments, run = scorecard_rows()
    context = {
        "rows": rows,
        "default_segments": default_segments,
        "run": run,
        "can_edit": request.user.has_perm(CHANGE),
        "can_add": request.user.has_perm(CHANGE) and request.user.has_perm(ADD),
    }
    return htmx.render(request, LIST, context, partial="table")


def _version_page(request: HttpRequest, scorecard: Scorecard, version: ScorecardVersion):
    context = {
        "scorecard": scorecard,
        "version": version,
        "groups": version_breakdown(version),
        "versions": list(scorecard.versions.all()),
        "can_edit": request.user.has_perm(CHANGE),
    }
    return htmx.render(request, DETAIL, context, partial="version")


@permission_required(VIEW)
@require_GET
def scorecard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The active version, read-only (what Managers may see)."""
    try:
        scorecard = scorecard_get(pk=pk)
    except Scorecard.DoesNotExist:
        raise Http404(gettext("No such scorecard.")) from None
    active = next((v for v in scorecard.versions.all() if v.status == "active"), None)
    if active is None:
        if not request.user.has_perm(CHANGE):
            raise Http404(gettext("This scorecard has no active version."))
        latest = next(iter(scorecard.versions.all()), None)
        if latest is None:
            raise Http404(gettext("This scorecard has no versions."))
        active = latest
    version = version_get(scorecard=scorecard, number=active.number)
    return _version_page(request, scorecard, version)


@permission_required(VIEW)
@require_GET
def scorecard_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """Any version, read-only; Managers only the active one."""
    try:
        scorecard = scorecard_get(pk=pk)
        version = version_get(scorecard=scorecard, number=number)
    except (Scorecard.DoesNotExist, ScorecardVersion.DoesNotExist):
        raise Http404(gettext("No such version.")) from None
    if version.status != ScorecardVersion.Status.ACTIVE and not request.user.has_perm(CHANGE):
        raise PermissionDenied
    return _version_page(request, scorecard, version)


@permission_required(CHANGE)
@require_GET
def scorecard_history_page(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = get_object_or_404(Scorecard, pk=pk)
    page, problem = scorecard_history(scorecard=scorecard, page=request.GET.get("page"))
    context = {"scorecard": scorecard, "page": page, "problem": problem}
    return htmx.render(request, HISTORY, context, partial="history")


# ---------------------------------------------------------------- the draft editor


@permission_required(CHANGE)
@require_POST
def draft_create(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = get_object_or_404(Scorecard, pk=pk)
    draft = services.scorecard_draft_create(scorecard=scorecard, user=request.user)
    messages.success(
        request,
        gettext("Draft v%(number)s created. Nothing changes until you publish.")
        % {"number": draft.number},
    )
    return redirect("scoring:scorecard_draft", pk=pk, number=draft.number)


@permission_required(CHANGE)
@permission_required(ADD)
@require_http_methods(["GET", "POST"])
def scorecard_create(request: HttpRequest) -> HttpResponse:
    """A new scorecard for some segments, empty or a copy of another's active version
    (?from=<pk> picks it); its first draft opens in the editor."""
    cards, segments = scorecards_for_new()
    initial = {"start": request.GET.get("from")} if request.GET.get("from") else None
    form = ScorecardNewForm(request.POST or None, initial=initial, cards=cards, segments=segments)
    if request.method == "POST" and form.is_valid():
        draft = services.scorecard_create(
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            segments=form.chosen_segments(),
            copy_from=form.copy_from(),
            user=request.user,
        )
        messages.success(
            request,
            gettext(
                "Scorecard “%(name)s” created with draft v%(number)s. Its segments keep their "
                "scorecard until you publish it."
            )
            % {"name": draft.scorecard.name, "number": draft.number},
        )
        return redirect("scoring:scorecard_draft", pk=draft.scorecard_id, number=draft.number)
    status = 400 if request.method == "POST" else 200
    return render(request, NEW, {"form": form}, status=status)


def _editor_context(scorecard, draft, forms, backfill, preview=None) -> dict:
    active = next((v for v in scorecard.versions.all() if v.status == "active"), None)
    context = {
        "scorecard": scorecard,
        "draft": draft,
        "active": active,
        "forms": forms,
        "categories": forms.categories(),
        "backfill": backfill,
        "running": services.scorecard_run_running(),
    }
    if preview is not None:
        context.update(_preview_context(preview))
    return context


def _editor(request, scorecard, draft, forms, backfill, *, preview=None):
    context = _editor_context(scorecard, draft, forms, backfill, preview)
    return render(request, EDITOR, context)


def _bound(request: HttpRequest, draft: ScorecardVersion) -> tuple[DraftForms, BackfillForm]:
    """The editor's forms bound to the POST, after any add / move operation it asks for."""
    data = request.POST
    op = data.get("op", "")
    if op:
        data = apply_op(data, op)
    return DraftForms(draft, data), BackfillForm(data)


@permission_required(CHANGE)
@require_http_methods(["GET", "POST"])
def draft_edit(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """GET: the editor. POST: save the draft (all or nothing), or, with an `op` (add or move
    a measure; the no-JavaScript path), re-show the form changed but unsaved."""
    scorecard, draft = _draft(pk, number)
    if (frozen := _editable(request, draft)) is not None:
        return frozen
    if request.method == "GET":
        context = _editor_context(scorecard, draft, DraftForms(draft), BackfillForm())
        return htmx.render(request, EDITOR, context, partial="draft-form")
    forms, backfill = _bound(request, draft)
    if request.POST.get("op"):
        forms.is_valid()
        return _editor(request, scorecard, draft, forms, backfill)
    if not forms.is_valid():
        messages.error(
            request, gettext("Not saved: fix the fields marked below. Nothing was changed.")
        )
        return _editor(request, scorecard, draft, forms, backfill)
    try:
        lines = services.scorecard_draft_save(draft=draft, forms=forms, user=request.user)
    except services.DraftNotEditable as exc:
        messages.error(request, str(exc))
        return redirect("scoring:scorecard_detail", pk=pk)
    if lines:
        messages.success(
            request,
            ngettext(
                "Draft v%(number)s saved: %(count)s change(s).",
                "Draft v%(number)s saved: %(count)s change(s).",
                len(lines),
            )
            % {"number": number, "count": len(lines)},
        )
    else:
        messages.info(request, gettext("Nothing to save: the draft is unchanged."))
    return redirect("scoring:scorecard_draft", pk=pk, number=number)


@permission_required(CHANGE)
@require_POST
def draft_validate(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """HTMX: the form region re-rendered with errors at the fields and the weight shares;
    then the preview is asked to follow (draft-changed)."""
    scorecard, draft = _draft(pk, number)
    if not draft.is_draft:
        raise Http404(gettext("Not a draft."))
    forms, backfill = _bound(request, draft)
    forms.is_valid()
    backfill.is_valid()
    context = _editor_context(scorecard, draft, forms, backfill)
    response = render(request, f"{EDITOR}#draft-form", context)
    response["HX-Trigger-After-Settle"] = "draft-changed"
    return response


def _preview_context(preview) -> dict:
    matrix = [
        {
            "band": before,
            "cells": [
                {"n": cell.n, "arr": cell.arr, "same": after == before}
                for after, cell in row.items()
            ],
        }
        for before, row in preview.matrix.items()
    ]
    return {
        "preview": preview,
        "bands": bands.ORDER,
        "matrix": matrix,
        "histogram": preview_charts.histogram_json(preview),
    }


@permission_required(CHANGE)
@require_POST
@htmx.vary_on_htmx
def draft_preview(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """What-if of the unsaved form: nothing is stored."""
    scorecard, draft = _draft(pk, number)
    if not draft.is_draft:
        raise Http404(gettext("Not a draft."))
    forms, backfill = _bound(request, draft)
    preview = None
    if forms.is_valid():
        preview = preview_draft(draft=forms.config())
    if not htmx.is_fragment(request):
        return _editor(request, scorecard, draft, forms, backfill, preview=preview)
    context = {"scorecard": scorecard, "draft": draft, "forms": forms}
    if preview is not None:
        context.update(_preview_context(preview))
    return render(request, f"{EDITOR}#preview-body", context)


PREVIEW_CSV_HEADER = [
    _("Account"),
    _("External id"),
    _("Segment"),
    _("ARR"),
    _("Active score"),
    _("Active health"),
    _("Draft score"),
    _("Draft health"),
    _("Change"),
]
PREVIEW_CSV_CHUNK = 2000


def _preview_csv_rows(changes) -> Iterator[list]:
    changes = iter(changes)
    while chunk := list(islice(changes, PREVIEW_CSV_CHUNK)):
        accounts = accounts_named(ids=[c.account_id for c in chunk])
        for change in chunk:
            yield _preview_csv_row(change, accounts.get(change.account_id))


def _preview_csv_row(change: PreviewChange, account) -> list:
    return [
        account.name if account else f"Account {change.account_id}",
        account.external_id if account else "",
        account.segment.name if account else "",
        rounded(change.arr, 2),
        rounded(change.before_score, 1),
        bands.Band(change.before_band).label,
        rounded(change.after_score, 1),
        bands.Band(change.after_band).label,
        rounded(change.delta, 1),
    ]


@permission_required(CHANGE)
@require_POST
@export_recorded
def draft_preview_csv(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The what-if preview's movers as CSV, every one of them (the page lists the top ten),
    for the unsaved form as posted: the preview's own parameters. Nothing is stored."""
    scorecard, draft = _draft(pk, number)
    if not draft.is_draft:
        raise Http404(gettext("Not a draft."))
    forms, backfill = _bound(request, draft)
    if not forms.is_valid():
        messages.error(request, gettext("Nothing exported: fix the fields marked below first."))
        return _editor(request, scorecard, draft, forms, backfill)
    preview = preview_draft(draft=forms.config())
    if preview.error:
        messages.error(request, gettext("Nothing exported. %(error)s") % {"error": preview.error})
        return _editor(request, scorecard, draft, forms, backfill, preview=preview)
    name = slugify(scorecard.name) or f"scorecard-{scorecard.pk}"
    # A large scorecard's preview is a sample's (scoring.editor.preview): its file says so.
    sample = "-sample" if preview.sampled else ""
    return csv_response(
        filename=f"preview-movers-{name}-v{number}{sample}-{preview.as_of:%Y-%m-%d}.csv",
        header=PREVIEW_CSV_HEADER,
        rows=_preview_csv_rows(preview_changes(preview)),
    )


@permission_required(CHANGE)
@require_POST
def draft_publish(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    scorecard, draft = _draft(pk, number)
    if (frozen := _editable(request, draft)) is not None:
        return frozen
    with_form = f"{PREFIX}-TOTAL_FORMS" in request.POST
    forms, backfill = (
        _bound(request, draft) if with_form else (DraftForms(draft), BackfillForm(request.POST))
    )
    forms_ok = forms.is_valid() if with_form else True
    if not (forms_ok and backfill.is_valid()):
        messages.error(
            request, gettext("Not published: fix the fields marked below. Nothing was changed.")
        )
        return _editor(request, scorecard, draft, forms, backfill)
    running = services.scorecard_run_running()
    try:
        version, lines = services.scorecard_publish(
            draft=draft,
            user=request.user,
            forms=forms if with_form else None,
            backfill_days=backfill.days,
        )
    except services.PublishRefused as exc:
        forms.problems = exc.problems
        messages.error(
            request, gettext("Not published: the draft cannot score yet. Nothing was changed.")
        )
        return _editor(request, scorecard, draft, forms, backfill)
    except services.DraftNotEditable as exc:
        messages.error(request, str(exc))
        return redirect("scoring:scorecard_detail", pk=pk)
    messages.success(
        request,
        # The English says "change(s)" in both forms (as it always has); ngettext lets the
        # other languages use their plural forms.
        ngettext(
            "v%(number)s is now the active version of %(scorecard)s "
            "(%(count)s change(s) from the previous one).",
            "v%(number)s is now the active version of %(scorecard)s "
            "(%(count)s change(s) from the previous one).",
            len(lines),
        )
        % {"number": version.number, "scorecard": scorecard.name, "count": len(lines)},
    )
    if version.recompute_queued is False:
        messages.warning(
            request,
            gettext(
                "Today's scores were not recomputed: the task queue (Redis) does not answer. "
                "The nightly run scores with the new version; or use Recompute today once the "
                "queue is back."
            ),
        )
    elif running is not None:
        messages.warning(
            request,
            gettext(
                "A score run for today was already running (started %(time)s) with the previous "
                "version, so today's scores were not recomputed yet. Recompute today once it has "
                "finished."
            )
            % {"time": date_format(timezone.localtime(running.started_at), "H:i")},
        )
    url = reverse("scoring:scorecard_progress", args=[pk, version.number])
    if backfill.days:
        url += f"?backfill={backfill.days}"
    return redirect(url)


@permission_required(CHANGE)
@require_POST
def draft_discard(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    scorecard, draft = _draft(pk, number)
    try:
        services.scorecard_draft_discard(draft=draft, user=request.user)
    except services.DraftNotEditable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, gettext("Draft v%(number)s discarded.") % {"number": number})
    return redirect("scoring:scorecard_detail", pk=pk)


# ---------------------------------------------------------------- after publishing


def _backfill_days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("backfill") or 0)
    except ValueError:
        return 0
    return days if 0 < days <= MAX_BACKFILL_DAYS else 0


@permission_required(CHANGE)
@require_GET
def publish_progress_page(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """Today's recompute after publishing; the partial polls itself only while it runs."""
    scorecard, version = _draft(pk, number)
    if version.is_draft:
        return redirect("scoring:scorecard_draft", pk=pk, number=number)
    progress = publish_progress(version=version, backfill_days=_backfill_days(request))
    context = {"scorecard": scorecard, "version": version, "progress": progress}
    return htmx.render(request, PROGRESS, context, partial="progress")


@permission_required(CHANGE)
@require_POST
def recompute_today(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    scorecard, version = _draft(pk, number)
    running = services.scorecard_run_running()
    if running is not None:
        messages.warning(
            request, gettext("A score run for today is still running; try again when it ends.")
        )
    else:
        try:
            services.scorecard_recompute()
        except QUEUE_DOWN:
            messages.error(
                request,
                gettext(
                    "Not recomputed: the task queue (Redis) does not answer; try again shortly."
                ),
            )
        else:
            messages.success(request, gettext("Recomputing today's scores."))
    return redirect("scoring:scorecard_progress", pk=pk, number=number)
