"""The CTA rules (Admins): listed with their conditions in words, turned on and off in place,
created (condition first, then its parameters) and edited, deleted while no CTA points at
them.

Permissions: scoring.change_actionrule to open a page or save, add_ to create, delete_ to
delete; the Admin role has them, Managers and CSMs get 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from healthboard.lib import htmx
from healthboard.lib.roles import permission_required
from healthboard.pages.ctarules.forms import (
    KindForm,
    ParametersForm,
    RuleForm,
    kind_summaries,
)
from healthboard.pages.ctarules.selectors import rule_preview_count, rule_row, rule_rows
from scoring.actions import admin_services as services
from scoring.actions.kinds import KINDS
from scoring.models.actions import ActionRule

LIST, EDIT = "ctarules/rules.html", "ctarules/rule_edit.html"
CHANGE = "scoring.change_actionrule"
ADD, DELETE = "scoring.add_actionrule", "scoring.delete_actionrule"


@require_GET
@permission_required(CHANGE)
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(request, LIST, {"rows": rule_rows(), "tab": "rules"})


def _edit_page(request, form: RuleForm | None, *, chooser=None, status: int = 200):
    rule = form.instance if form is not None and form.instance.pk else None
    context = {
        "form": form,
        "chooser": chooser,
        "rule": rule,
        "kinds": kind_summaries(),
        "tab": "rules",
    }
    if rule is not None:
        context["action"] = reverse("playbooks:rule", args=[rule.pk])
        context["row"] = rule_row(pk=rule.pk)
    else:
        context["action"] = reverse("playbooks:rule_new")
    return htmx.render(request, EDIT, context, partial="rule-form", status=status)


def _save(request: HttpRequest, form: RuleForm) -> HttpResponse:
    if not form.is_valid():
        return _edit_page(request, form, chooser=_chooser(form), status=400)
    created = form.instance.pk is None
    if not created and not form.has_changed() and not form.params.has_changed():
        messages.info(
            request,
            _("Nothing to save: “%(name)s” is unchanged.") % {"name": form.instance},
        )
        return redirect("playbooks:rules")
    try:
        rule = services.rule_save(rule=form.rule(), user=request.user)
    except ValueError as exc:  # a metric deleted since the page was shown
        form.add_error(None, str(exc))
        return _edit_page(request, form, chooser=_chooser(form), status=400)
    text = _("Rule “%(rule)s” created.") if created else _("Rule “%(rule)s” saved.")
    text %= {"rule": rule}
    if not rule.enabled:
        text += " " + _("It is off: it opens no CTAs until turned on.")
    messages.success(request, text)
    return redirect(reverse("playbooks:rules") + f"#rule-{rule.pk}")


def _chooser(form: RuleForm) -> KindForm | None:
    return KindForm(initial={"kind": form.kind.key}) if form.instance.pk is None else None


@require_http_methods(["GET", "POST"])
@permission_required(CHANGE)
@permission_required(ADD)
def rule_create(request: HttpRequest) -> HttpResponse:
    """A new rule: GET ?kind=… shows that condition's fields (the chooser's HTMX swap, or its
    Next button without JavaScript); POST saves."""
    data = request.POST if request.method == "POST" else request.GET
    chooser = KindForm(data if "kind" in data else None)
    if not chooser.is_valid():
        status = 400 if request.method == "POST" or "kind" in data else 200
        return _edit_page(request, None, chooser=chooser, status=status)
    kind = KINDS[chooser.cleaned_data["kind"]]
    if request.method == "GET":
        form = RuleForm(kind=kind)
        return _edit_page(request, form, chooser=_chooser(form))
    return _save(request, RuleForm(request.POST, kind=kind))


@require_http_methods(["GET", "POST"])
@permission_required(CHANGE)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    # The side note names who changed it last.
    rule = get_object_or_404(ActionRule.objects.select_related("updated_by"), pk=pk)
    kind = KINDS.get(rule.kind)
    if kind is None:
        raise Http404(
            _("The rule's kind %(kind)r is not one this version knows.") % {"kind": rule.kind}
        )
    if request.method == "POST":
        return _save(request, RuleForm(request.POST, kind=kind, instance=rule))
    return _edit_page(request, RuleForm(kind=kind, instance=rule))


@require_POST
@permission_required(CHANGE)
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn a rule on (enabled=1) or off (enabled=0): the list's row, swapped in place."""
    rule = get_object_or_404(ActionRule, pk=pk)
    wanted = request.POST.get("enabled")
    if wanted not in ("0", "1"):
        messages.error(request, _("Say whether to turn the rule on or off (enabled=1 or 0)."))
        return redirect("playbooks:rules")
    rule = services.rule_enable(rule=rule, enabled=wanted == "1", user=request.user)
    if htmx.is_fragment(request):
        return render(request, f"{LIST}#rule-row", {"row": rule_row(pk=rule.pk)})
    messages.success(
        request,
        (_("Rule “%(rule)s” is on.") if rule.enabled else _("Rule “%(rule)s” is off."))
        % {"rule": rule},
    )
    return redirect(reverse("playbooks:rules") + f"#rule-{rule.pk}")


@require_POST
@permission_required(CHANGE)
@permission_required(DELETE)
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(ActionRule, pk=pk)
    try:
        services.rule_delete(rule=rule)
    except services.InUse as exc:
        messages.error(request, str(exc))
        return redirect("playbooks:rule", pk=pk)
    messages.success(request, _("Rule “%(rule)s” deleted.") % {"rule": rule})
    return redirect("playbooks:rules")


@require_GET
@permission_required(CHANGE)
def rule_preview(request: HttpRequest) -> HttpResponse:
    """HTMX, as the Admin edits a rule's parameters: how many accounts it would fire for on
    the newest published run. Only the preview region, whoever asks: it has no page."""
    chooser = KindForm(request.GET)
    context: dict = {"preview": None, "preview_errors": []}
    if not chooser.is_valid():
        context["preview_errors"] = [_("Choose a condition first.")]
    else:
        form = ParametersForm(request.GET, kind=KINDS[chooser.cleaned_data["kind"]])
        if form.is_valid():
            context["preview"] = rule_preview_count(kind=form.kind.key, parameters=form.parameters)
            context["condition"] = form.describe()
        else:
            context["preview_errors"] = [
                f"{form.fields[name].label}: {error}" if name in form.fields else error
                for name, errors in form.errors.items()
                for error in errors
            ]
    return render(request, f"{EDIT}#rule-preview", context)
