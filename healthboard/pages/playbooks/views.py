"""Playbooks (Admins): the grid of journey stages × bands, each linking to its playbook;
a missing one is created from the grid; the editor renames a playbook and adds, edits,
removes and reorders its steps. CTAs keep their own copy of the steps, so an edit changes
future CTAs only.

Permissions: scoring.change_playbook (CSMs may view playbooks through their CTAs, never
these pages), add_playbook to create; the Admin role has them, Managers and CSMs get 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import JourneyStage
from healthboard.lib import htmx
from healthboard.lib.roles import permission_required
from healthboard.pages.playbooks.forms import (
    PlaybookForm,
    step_formset,
    steps_apply_op,
    steps_kept,
)
from healthboard.pages.playbooks.selectors import playbook_active_ctas, playbook_grid
from scoring.actions import admin_services as services
from scoring.models.actions import PLAYBOOK_BANDS, Playbook

GRID, EDIT = "ctarules/playbooks.html", "ctarules/playbook_edit.html"
CHANGE, ADD = "scoring.change_playbook", "scoring.add_playbook"


@require_GET
@permission_required(CHANGE)
def playbook_list(request: HttpRequest) -> HttpResponse:
    return render(request, GRID, {**playbook_grid(), "tab": "playbooks"})


@require_POST
@permission_required(CHANGE)
@permission_required(ADD)
def playbook_create(request: HttpRequest) -> HttpResponse:
    """The missing playbook of a stage and band, created empty and opened for editing."""
    stage = JourneyStage.objects.filter(pk=_int(request.POST.get("stage"))).first()
    band = request.POST.get("band")
    if stage is None or band not in dict(PLAYBOOK_BANDS):
        messages.error(
            request, _("Choose a journey stage and a band (healthy, at risk, unhealthy).")
        )
        return redirect("playbooks:index")
    playbook = services.playbook_create(stage=stage, band=band, user=request.user)
    return redirect("playbooks:playbook", pk=playbook.pk)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _editor(request, playbook: Playbook, form, steps, *, status: int = 200) -> HttpResponse:
    context = {
        "playbook": playbook,
        "form": form,
        "steps": steps,
        "active_ctas": playbook_active_ctas(playbook=playbook),
        "tab": "playbooks",
    }
    return htmx.render(request, EDIT, context, partial="playbook-form", status=status)


@require_http_methods(["GET", "POST"])
@permission_required(CHANGE)
def playbook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the editor. POST: save the name and steps (all or nothing), or, with an `op`
    (add a row, move one up or down), show the form changed but unsaved (HTMX swaps the
    form; without JavaScript the page comes back)."""
    playbook = get_object_or_404(Playbook.objects.select_related("stage"), pk=pk)
    if request.method == "GET":
        form = PlaybookForm(initial={"name": playbook.name})
        return _editor(request, playbook, form, step_formset(playbook))
    data, op = request.POST, request.POST.get("op", "")
    if op:
        data = steps_apply_op(data, op)
    form = PlaybookForm(data)
    steps = step_formset(playbook, data)
    valid = all([form.is_valid(), steps.is_valid()])
    if op or not valid:
        return _editor(request, playbook, form, steps, status=200 if op else 400)
    changed = services.playbook_save(
        playbook=playbook,
        name=form.cleaned_data["name"],
        steps=steps_kept(steps),
        user=request.user,
    )
    if changed:
        messages.success(
            request,
            _("Playbook “%(playbook)s” saved: future CTAs get these steps.")
            % {"playbook": playbook},
        )
    else:
        messages.info(request, _("Nothing to save: “%(name)s” is unchanged.") % {"name": playbook})
    return redirect("playbooks:playbook", pk=playbook.pk)
