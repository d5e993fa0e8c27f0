"""Reassigning owners (accounts.reassign_owner: Managers and Admins; CSMs get 403): one
account from its page, or the accounts ticked on the portfolio. Each account's old and new
owner is recorded (accounts.FieldChange) by accounts.services.accounts_reassign."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.models import Account
from healthboard.lib import htmx
from healthboard.lib.numbers import number_text
from healthboard.lib.roles import permission_required
from healthboard.pages.filters import user_label
from healthboard.pages.reassign.forms import BulkReassignForm, ReassignForm

PAGE = "account/reassign.html"
REASSIGN = permission_required("accounts.reassign_owner")


def _who(owner) -> str:
    return user_label(owner) if owner is not None else _("nobody (unassigned)")


@require_http_methods(["GET", "POST"])
@REASSIGN
@htmx.vary_on_htmx
def account_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the form (the account page loads it into "Reassign the owner"). POST: give the
    account to the chosen owner; HTMX gets the form with its status and the header's owner
    out of band, a plain POST a redirect to the account."""
    account = get_object_or_404(Account.objects.select_related("owner"), pk=pk)
    form = ReassignForm(request.POST or None, current=account.owner)
    context = {"account": account, "form": form}
    if request.method == "POST":
        if not form.is_valid():
            return htmx.render(request, PAGE, context, partial="owner-form", status=400)
        owner = form.new_owner()
        changed = services.accounts_reassign(account_ids=[pk], owner=owner, user=request.user)
        names = {"account": account.name, "owner": _who(owner)}
        status = (
            _("%(account)s now belongs to %(owner)s.") % names
            if changed
            else _("%(account)s already belongs to %(owner)s; nothing changed.") % names
        )
        if not htmx.is_fragment(request):
            (messages.success if changed else messages.info)(request, status)
            return redirect("accounts:detail", pk=pk)
        account.owner = owner
        context.update(
            form=ReassignForm(current=owner), status=status, changed=bool(changed), oob=True
        )
        return render(request, f"{PAGE}#owner-changed", context)
    return htmx.render(request, PAGE, context, partial="owner-form")


def _back(request: HttpRequest, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}):
        return url
    return reverse("home")


@require_POST
@REASSIGN
def accounts_reassign_many(request: HttpRequest) -> HttpResponse:
    """The portfolio's bulk bar: give the ticked accounts to one owner, then show the
    portfolio as it was (its filters ride in `next`), with a message saying what happened:
    HTMX swaps the portfolio's table in place (HX-Location); a plain POST is redirected."""
    form = BulkReassignForm(request.POST)
    back = _back(request, request.POST.get("next", ""))
    if form.is_valid():
        owner, ids = form.new_owner(), form.cleaned_data["account"]
        changed = services.accounts_reassign(account_ids=ids, owner=owner, user=request.user)
        unchanged = len(ids) - changed
        text = ngettext(
            "%(count)s account reassigned to %(owner)s.",
            "%(count)s accounts reassigned to %(owner)s.",
            changed,
        ) % {"count": number_text(changed), "owner": _who(owner)}
        if unchanged:
            text += " " + _("%(count)s already belonged to them (or no longer exist).") % {
                "count": number_text(unchanged)
            }
        (messages.success if changed else messages.info)(request, text)
    else:
        errors = [e for field in form.errors.values() for e in field]
        messages.error(request, _("Nothing reassigned: %(why)s") % {"why": " ".join(errors)})
    if htmx.is_fragment(request):
        response = HttpResponse()
        response["HX-Location"] = json.dumps(
            {"path": back, "target": "#portfolio-table", "swap": "outerHTML"}
        )
        return response
    return redirect(back)


@require_GET
@REASSIGN
def owner_options(request: HttpRequest) -> HttpResponse:
    """The owners as <option>s, for the portfolio's bulk bar (loaded once a row is ticked, so
    the portfolio itself does not read them)."""
    form = ReassignForm()
    return render(request, f"{PAGE}#owner-options", {"form": form})
