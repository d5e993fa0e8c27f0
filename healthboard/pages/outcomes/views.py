"""CTA outcomes (Admins): the list a CSM picks from when closing a CTA ("Renewed",
"Escalated", …), each counting as a save or not; added, edited, deactivated in place, and
deleted only while no CTA was closed with it.

Permissions: scoring.change_outcome to open a page or save, add_ to create, delete_ to
delete; the Admin role has them, Managers and CSMs get 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from healthboard.lib import htmx
from healthboard.lib.roles import permission_required
from healthboard.pages.outcomes.forms import OutcomeForm
from healthboard.pages.outcomes.selectors import outcome_row, outcome_rows
from scoring.actions import admin_services as services
from scoring.models.actions import Outcome

LIST, EDIT = "ctarules/outcomes.html", "ctarules/outcome_edit.html"
CHANGE = "scoring.change_outcome"
ADD, DELETE = "scoring.add_outcome", "scoring.delete_outcome"


@require_GET
@permission_required(CHANGE)
def outcome_list(request: HttpRequest) -> HttpResponse:
    return render(request, LIST, {"outcomes": outcome_rows(), "tab": "outcomes"})


def _edit_page(request, form: OutcomeForm, outcome=None, *, status: int = 200):
    context = {
        "form": form,
        "outcome": outcome_row(pk=outcome.pk) if outcome else None,
        "action": reverse("playbooks:outcome", args=[outcome.pk])
        if outcome
        else reverse("playbooks:outcome_new"),
        "tab": "outcomes",
    }
    return render(request, EDIT, context, status=status)


def _save(request: HttpRequest, form: OutcomeForm, outcome=None) -> HttpResponse:
    if not form.is_valid():
        return _edit_page(request, form, outcome, status=400)
    if outcome is not None and not form.has_changed():
        messages.info(request, _("Nothing to save: “%(name)s” is unchanged.") % {"name": outcome})
    else:
        saved = services.outcome_save(outcome=form.instance)
        text = _("Outcome “%(name)s” added.") if outcome is None else _("Outcome “%(name)s” saved.")
        messages.success(request, text % {"name": saved})
    return redirect("playbooks:outcomes")


@require_http_methods(["GET", "POST"])
@permission_required(CHANGE)
@permission_required(ADD)
def outcome_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, OutcomeForm(request.POST))
    last = Outcome.objects.aggregate(last=Max("order"))["last"]
    initial = {"order": 0 if last is None else last + 1}
    return _edit_page(request, OutcomeForm(initial=initial))


@require_http_methods(["GET", "POST"])
@permission_required(CHANGE)
def outcome_edit(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = get_object_or_404(Outcome, pk=pk)
    if request.method == "POST":
        return _save(request, OutcomeForm(request.POST, instance=outcome), outcome)
    return _edit_page(request, OutcomeForm(instance=outcome), outcome)


@require_POST
@permission_required(CHANGE)
def outcome_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Offer an outcome again (active=1) or no longer (active=0): the row, swapped in place."""
    outcome = get_object_or_404(Outcome, pk=pk)
    wanted = request.POST.get("active")
    if wanted not in ("0", "1"):
        messages.error(request, _("Say whether to offer the outcome or not (active=1 or 0)."))
        return redirect("playbooks:outcomes")
    outcome = services.outcome_set_active(outcome=outcome, active=wanted == "1")
    if htmx.is_fragment(request):
        return render(request, f"{LIST}#outcome-row", {"outcome": outcome_row(pk=outcome.pk)})
    if outcome.active:
        text = _("Outcome “%(name)s” is offered when closing a CTA.")
    else:
        text = _("Outcome “%(name)s” is no longer offered when closing a CTA.")
    messages.success(request, text % {"name": outcome})
    return redirect("playbooks:outcomes")


@require_POST
@permission_required(CHANGE)
@permission_required(DELETE)
def outcome_delete(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = get_object_or_404(Outcome, pk=pk)
    try:
        services.outcome_delete(outcome=outcome)
    except services.InUse as exc:
        messages.error(request, str(exc))
        return redirect("playbooks:outcome", pk=pk)
    messages.success(request, _("Outcome “%(name)s” deleted.") % {"name": outcome})
    return redirect("playbooks:outcomes")
