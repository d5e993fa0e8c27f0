"""My actions: a CSM's inbox of calls to action, worked in place (HTMX) — checklist steps,
done with an outcome, snooze, comments — with plain POSTs when JavaScript is off; one CTA's
own page; the team's overdue CTAs per CSM for Managers and Admins; a CTA opened by hand.

Reads in healthboard/pages/actions/selectors.py, writes in scoring/actions/services.py (which
also decide who may act: a CSM on their own CTAs, Managers and Admins on any).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.i18n import builtin
from accounts.models import Account
from healthboard.lib import htmx
from healthboard.lib.dates import day_text
from healthboard.lib.roles import can_act_on_cta, can_work_on, permission_required
from healthboard.pages.actions import selectors
from healthboard.pages.actions.forms import (
    CommentForm,
    CtaCreateForm,
    DoneForm,
    SnoozeForm,
    StepForm,
    inbox_tab,
)
from healthboard.pages.filters import user_label
from healthboard.pages.owners import owner_candidates
from healthboard.pages.templatetags.healthboard import renewal_note
from scoring.actions import services
from scoring.models.actions import CallToAction, CtaStep

INBOX = "actions/inbox.html"
CARD = "actions/card.html"
CTA_PAGE = "actions/cta.html"
# The inbox's tabs: a write on a card sends "ctas-changed", and they fetch their counts again.
TABS_ID = "actions-tabs"
CHANGED = "ctas-changed"

read_permission = permission_required("scoring.view_calltoaction")
change_permission = permission_required("scoring.change_calltoaction")


# ---------------------------------------------------------------- helpers


def _decorate(ctas: list[CallToAction], *, user, today) -> None:
    """What each card shows beyond the model: overdue or not, the due date in words, the
    checklist's progress, whether this user may act on it."""
    for cta in ctas:
        cta.due_now = cta.is_due_now(today)
        cta.overdue = cta.is_overdue(today)
        cta.due_words = renewal_note((cta.due_date - today).days)
        for position, step in enumerate(cta.checklist):
            _tickable(step, cta, position)
        cta.steps_done = sum(step.done_at is not None for step in cta.checklist)
        cta.steps_total = len(cta.checklist)
        cta.can_act = can_act_on_cta(user, cta)


def _tickable(step: CtaStep, cta: CallToAction, position: int) -> CtaStep:
    """Where the step's box posts, and its element's id: a step of a pending checklist (not
    copied yet, no pk) is ticked by its position, which makes the copy."""
    if step.pk:
        step.tick_url, step.dom_id = reverse("actions:step", args=[step.pk]), f"step-{step.pk}"
    else:
        step.tick_url = reverse("actions:step_at", args=[cta.pk, position])
        step.dom_id = f"step-{cta.pk}-{position}"
    return step


def _card_context(request: HttpRequest, cta: CallToAction, **extra) -> dict:
    today = timezone.localdate()
    _decorate([cta], user=request.user, today=today)
    context = {
        "cta": cta,
        "today": today,
        "outcomes": selectors.outcomes_active() if cta.can_act and cta.is_active else [],
        "snooze_value": SnoozeForm.default_until(today).isoformat(),
        "next": _next_url(request),
    }
    context.update(extra)
    return context


def _next_url(request: HttpRequest) -> str:
    """Where a plain (no JavaScript) POST goes back to: the page it came from, if ours."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, {request.get_host()}):
        return wanted
    return ""


def _cta_for_write(request: HttpRequest, pk: int) -> CallToAction:
    """The CTA, or 404; whether the user may act on it is the service's question (403)."""
    return get_object_or_404(CallToAction.objects.select_related("account"), pk=pk)


def _answer(
    request: HttpRequest, cta: CallToAction, *, status: str, errors: dict | None = None, **extra
) -> HttpResponse:
    """After a write: the card (and the navigation count, out of band) for HTMX; for a plain
    POST a redirect back with a message, or the CTA's page with the form's errors."""
    errors = errors or {}
    if htmx.is_fragment(request):
        context = _card_context(
            request, selectors.cta_card(pk=cta.pk), status=status, errors=errors, **extra
        )
        response = htmx.render(request, CARD, context, partial="card-updated")
        if not errors:
            response["HX-Trigger"] = CHANGED
        return response
    if errors:
        context = _card_context(
            request, selectors.cta_card(pk=cta.pk), status=status, errors=errors, **extra
        )
        return htmx.render(request, CTA_PAGE, context, partial="card", status=400)
    messages.success(request, status)
    back = _next_url(request) or reverse("actions:cta", args=[cta.pk])
    return redirect(f"{back}#cta-{cta.pk}")


def _errors(error: ValidationError) -> dict:
    """Field ("all" for the whole form) → its first message, from a form's or a service's
    refusal."""
    if hasattr(error, "error_dict"):
        return {
            ("all" if name == "__all__" else name): errs[0].messages[0]
            for name, errs in error.error_dict.items()
        }
    return {"all": error.messages[0]}


# ---------------------------------------------------------------- pages


def _tabs(counts: dict[str, int], *, owner, tab: str) -> dict:
    """The tab links with their counts, and the current tab's URL (where the tabs fetch their
    counts again); `owner` None for the user's own inbox."""
    base = reverse("actions:inbox") + (f"?owner={owner.pk}&" if owner else "?")
    tabs = [
        {
            "key": key,
            "label": label,
            "n": counts[key],
            "url": f"{base}tab={key}",
            "current": key == tab,
        }
        for key, label in selectors.TABS.items()
    ]
    return {"tabs": tabs, "tabs_url": f"{base}tab={tab}"}


def _inbox_owner(request: HttpRequest):
    """Whose inbox: the user's own; Managers and Admins may open anyone's (?owner=)."""
    raw = request.GET.get("owner", "")
    if not raw or raw == str(request.user.pk):
        return request.user
    if not request.user.has_perm("accounts.view_team"):
        raise Http404(_("No such inbox."))
    if not raw.isdigit():
        raise Http404(_("No such inbox."))
    return get_object_or_404(get_user_model(), pk=int(raw))


@require_GET
@read_permission
@htmx.vary_on_htmx
def actions_inbox(request: HttpRequest) -> HttpResponse:
    """The inbox: tabs due now / snoozed / done recently (HTMX swaps the list; after a write
    on a card the tabs alone ask for their counts again: HX-Target "actions-tabs")."""
    today = timezone.localdate()
    owner = _inbox_owner(request)
    tab = inbox_tab(request.GET.get("tab"))
    own = owner.pk == request.user.pk
    if htmx.is_fragment(request) and request.htmx.target == TABS_ID:
        counts = selectors.tab_counts(owner_id=owner.pk, today=today)
        context = {"tab": tab, **_tabs(counts, owner=None if own else owner, tab=tab)}
        return htmx.render(request, INBOX, context, partial="tabs")
    inbox = selectors.inbox_ctas(owner_id=owner.pk, tab=tab, today=today)
    _decorate(inbox.ctas, user=request.user, today=today)
    team = request.user.has_perm("accounts.view_team")
    context = {
        "inbox": inbox,
        "tab": tab,
        **_tabs(inbox.counts, owner=None if own else owner, tab=tab),
        "owner": owner,
        "owner_name": user_label(owner),
        "own": own,
        "team": team,
        "owners": owner_candidates(keep=owner) if team else [],
        "today": today,
        "outcomes": selectors.outcomes_active() if inbox.ctas and tab != "done" else [],
        "snooze_value": SnoozeForm.default_until(today).isoformat(),
        "next": request.get_full_path(),
        "inbox_rows": selectors.INBOX_ROWS,
    }
    return htmx.render(request, INBOX, context, partial="inbox")


@require_GET
@read_permission
def cta_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One CTA's card on a page of its own: the link from the account page."""
    try:
        cta = selectors.cta_card(pk=pk)
    except CallToAction.DoesNotExist as missing:
        raise Http404(_("No such call to action.")) from missing
    return htmx.render(request, CTA_PAGE, _card_context(request, cta), partial="card")


@require_GET
@permission_required("accounts.view_team")
def actions_team(request: HttpRequest) -> HttpResponse:
    """Managers and Admins: each CSM's overdue CTAs, the oldest first."""
    today = timezone.localdate()
    rows = selectors.overdue_per_owner(today=today, rows=selectors.TEAM_ROWS)
    for row in rows:
        for cta in row.ctas:
            cta.days_late = (today - cta.due_date).days
    context = {
        "rows": rows,
        "today": today,
        "total": sum(row.n for row in rows),
        "team_rows": selectors.TEAM_ROWS,
    }
    return htmx.render(request, "actions/team.html", context, partial="team")


# ---------------------------------------------------------------- writes


def _form_write(
    request: HttpRequest, pk: int, form_class, *, opened: str, write, done, keep_open=False
) -> HttpResponse:
    """A card's form: checked (form, then service), written, answered. A refusal of either
    shows at its field with the form left open; `done(cta)` words the confirmation."""
    cta = _cta_for_write(request, pk)
    form = form_class(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors)
        write(cta, form.cleaned_data)
    except ValidationError as error:
        return _answer(request, cta, status="", errors=_errors(error), opened=opened)
    return _answer(request, cta, status=done(cta), opened=opened if keep_open else "")


@require_POST
@change_permission
@htmx.vary_on_htmx
def cta_done(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_write(
        request,
        pk,
        DoneForm,
        opened="done",
        write=lambda cta, data: services.cta_done(cta=cta, user=request.user, **data),
        done=lambda cta: _("Done: %(outcome)s.") % {"outcome": builtin(cta.outcome.name)},
    )


@require_POST
@change_permission
@htmx.vary_on_htmx
def cta_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_write(
        request,
        pk,
        SnoozeForm,
        opened="snooze",
        write=lambda cta, data: services.cta_snooze(cta=cta, user=request.user, **data),
        done=lambda cta: _("Snoozed until %(day)s.") % {"day": day_text(cta.snoozed_until)},
    )


@require_POST
@change_permission
@htmx.vary_on_htmx
def cta_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    cta = _cta_for_write(request, pk)
    try:
        services.cta_reopen(cta=cta, user=request.user)
    except ValidationError as error:
        return _answer(request, cta, status="", errors=_errors(error))
    return _answer(request, cta, status=_("Open again."))


@require_POST
@change_permission
@htmx.vary_on_htmx
def cta_comment(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_write(
        request,
        pk,
        CommentForm,
        opened="comments",
        write=lambda cta, data: services.cta_comment_add(cta=cta, user=request.user, **data),
        done=lambda cta: _("Comment added."),
        keep_open=True,
    )


@require_POST
@change_permission
@htmx.vary_on_htmx
def cta_step(request: HttpRequest, pk: int) -> HttpResponse:
    """Tick or untick a checklist step. HTMX gets the step and the card's progress."""
    step = get_object_or_404(CtaStep.objects.select_related("cta__account"), pk=pk)
    return _step_ticked(
        request,
        step.cta,
        lambda done: services.cta_step_toggle(step=step, user=request.user, done=done),
    )


@require_POST
@change_permission
@htmx.vary_on_htmx
def cta_step_at(request: HttpRequest, pk: int, position: int) -> HttpResponse:
    """Tick or untick a step of a checklist still pending (the rules' CTAs): by its
    position, which makes the CTA's copy of its playbook first."""
    cta = get_object_or_404(CallToAction.objects.select_related("account"), pk=pk)

    def toggle(done: bool) -> CtaStep:
        try:
            return services.cta_step_toggle_at(
                cta=cta, position=position, user=request.user, done=done
            )
        except CtaStep.DoesNotExist as missing:
            raise Http404(_("No such step.")) from missing

    return _step_ticked(request, cta, toggle)


def _step_ticked(request: HttpRequest, cta: CallToAction, toggle) -> HttpResponse:
    """The answer to a tick: HTMX gets the step and the card's progress."""
    form = StepForm(request.POST)
    form.is_valid()  # A checkbox cannot be invalid: absent is "not done".
    done = form.cleaned_data.get("done", False)
    try:
        step = toggle(done)
    except ValidationError as error:
        return _answer(request, cta, status="", errors=_errors(error))
    if not htmx.is_fragment(request):
        return _answer(request, cta, status=_("Step ticked.") if done else _("Step unticked."))
    card = selectors.cta_card(pk=cta.pk)
    context = _card_context(request, card)
    context["step"] = next(s for s in card.checklist if s.pk == step.pk)
    return htmx.render(request, CARD, context, partial="step-updated")


@require_http_methods(["GET", "POST"])
@change_permission
def cta_create(request: HttpRequest) -> HttpResponse:
    """Open a CTA by hand for an account (?account=): for its owner, with the playbook's
    checklist for the account's stage and band."""
    raw = request.GET.get("account", "")
    if not raw.isdigit():
        raise Http404(_("Open a call to action from an account's page."))
    account = get_object_or_404(Account.objects.select_related("owner"), pk=int(raw))
    if not can_work_on(request.user, account):
        raise PermissionDenied(_("Only the account's owner, a manager or an admin can do that."))
    form = CtaCreateForm(request.POST or None, initial={"due_date": _week_ahead()})
    if request.method == "POST" and form.is_valid():
        try:
            cta = services.cta_create(account=account, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            for name, message in _errors(error).items():
                form.add_error(None if name == "all" else name, message)
        else:
            messages.success(
                request,
                _("“%(cta)s” opened for %(account)s.")
                % {"cta": builtin(cta.title), "account": account.name},
            )
            return redirect("actions:cta", cta.pk)
    return htmx.render(
        request, "actions/new.html", {"form": form, "account": account}, partial="form"
    )


def _week_ahead():
    return SnoozeForm.default_until(timezone.localdate())
