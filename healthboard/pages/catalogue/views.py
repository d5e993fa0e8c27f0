"""The catalogue (Admins): segments, journey stages and metrics, listed, created and edited
by hand, each change recorded with its old and new value (accounts.FieldChange).

Permissions: accounts.change_<model> to open a page or save, accounts.add_<model> to create;
the Admin role has them, Managers and CSMs get 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.exports import export_header, metric_rows
from accounts.models import FieldChange, JourneyStage, Metric, Segment
from healthboard.lib.csvfile import csv_response
from healthboard.lib.roles import permission_required
from healthboard.pages.audited import export_recorded
from healthboard.pages.catalogue.forms import MetricForm, SegmentForm, StageForm
from healthboard.pages.catalogue.selectors import catalogue_lists
from healthboard.pages.changes import field_changes

INDEX, EDIT = "catalogue/index.html", "catalogue/edit.html"


@dataclass(frozen=True)
class Kind:
    """One kind of catalogue entry, as its pages name and edit it."""

    model: type
    form: type[forms.ModelForm]
    noun: str
    plural: str
    url: str  # the edit page's URL name (the create page's is url + "_new")
    object_type: str
    about: str
    # Whole sentences per kind, so that each language can word them with its own grammar
    # (gender, case) instead of a noun slotted into one English frame.
    title_new: str
    title_edit: str
    create_label: str
    created: str  # the confirmation; %(name)s is the new entry's name

    @property
    def perm(self) -> str:
        return f"accounts.change_{self.model._meta.model_name}"

    @property
    def add_perm(self) -> str:
        return f"accounts.add_{self.model._meta.model_name}"


SEGMENTS = Kind(
    Segment,
    SegmentForm,
    "segment",
    "segments",
    "catalogue:segment",
    FieldChange.ObjectType.SEGMENT,
    _("Groups of accounts (Enterprise, SMB, …); each can have its own scorecard."),
    _("New segment"),
    _("Edit the segment"),
    _("Create segment"),
    _("Segment “%(name)s” created."),
)
STAGES = Kind(
    JourneyStage,
    StageForm,
    "journey stage",
    "journey stages",
    "catalogue:stage",
    FieldChange.ObjectType.STAGE,
    _("The steps of the customer journey, left to right on the journey board."),
    _("New journey stage"),
    _("Edit the journey stage"),
    _("Create journey stage"),
    _("Journey stage “%(name)s” created."),
)
METRICS = Kind(
    Metric,
    MetricForm,
    "metric",
    "metrics",
    "catalogue:metric",
    FieldChange.ObjectType.METRIC,
    _("The kinds of signal accounts send; scorecards' measures are built on them."),
    _("New metric"),
    _("Edit the metric"),
    _("Create metric"),
    _("Metric “%(name)s” created."),
)


@require_GET
@permission_required("accounts.change_segment")
def catalogue(request: HttpRequest) -> HttpResponse:
    return render(request, INDEX, catalogue_lists())


def _edit_page(request, kind: Kind, form, obj=None, *, status: int = 200) -> HttpResponse:
    context = {
        "kind": kind,
        "form": form,
        "object": obj,
        "action": reverse(kind.url, args=[obj.pk]) if obj else reverse(f"{kind.url}_new"),
    }
    if obj is not None:
        context["changes"] = field_changes(object_type=kind.object_type, object_id=obj.pk)
    return render(request, EDIT, context, status=status)


def _save(request: HttpRequest, kind: Kind, obj=None) -> HttpResponse:
    form = kind.form(request.POST, instance=obj)
    if not form.is_valid():
        return _edit_page(request, kind, form, obj, status=400)
    changes = services.catalogue_save(obj=form.instance, user=request.user)
    saved = form.instance
    if obj is None:
        messages.success(
            request,
            kind.created % {"name": saved},
        )
    elif changes:
        fields = ", ".join(c.label.lower() for c in changes)
        messages.success(
            request,
            gettext("“%(name)s” saved: %(fields)s changed.") % {"name": saved, "fields": fields},
        )
    else:
        messages.info(
            request, gettext("Nothing to save: “%(name)s” is unchanged.") % {"name": saved}
        )
    return redirect(kind.url, pk=saved.pk)


def _create(kind: Kind):
    @require_http_methods(["GET", "POST"])
    @permission_required(kind.perm)
    @permission_required(kind.add_perm)
    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            return _save(request, kind)
        initial = {"order": _next_order()} if kind is STAGES else None
        return _edit_page(request, kind, kind.form(initial=initial))

    view.__name__ = f"{kind.model._meta.model_name}_create"
    return view


def _edit(kind: Kind):
    @require_http_methods(["GET", "POST"])
    @permission_required(kind.perm)
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        obj = get_object_or_404(kind.model, pk=pk)
        if request.method == "POST":
            return _save(request, kind, obj)
        return _edit_page(request, kind, kind.form(instance=obj), obj)

    view.__name__ = f"{kind.model._meta.model_name}_edit"
    return view


def _next_order() -> int:
    last = JourneyStage.objects.order_by("-order").values_list("order", flat=True).first()
    return (last or 0) + 1


segment_create, segment_edit = _create(SEGMENTS), _edit(SEGMENTS)
stage_create, stage_edit = _create(STAGES), _edit(STAGES)
metric_create, metric_edit = _create(METRICS), _edit(METRICS)


@require_GET
@permission_required(METRICS.perm)
@export_recorded
def metrics_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The metric catalogue in the metrics import's columns: importing it into another
    Healthboard gives the same catalogue, into this one changes nothing."""
    return csv_response(
        filename="metrics.csv",
        header=export_header("metrics"),
        rows=metric_rows(Metric.objects.order_by("key")),
    )
