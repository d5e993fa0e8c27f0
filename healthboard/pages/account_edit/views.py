"""Create and edit an account by hand (Admins: accounts.add_account, change_account). Every
field is checked as an accounts import checks it; every change is recorded with its old and
new value (accounts.FieldChange), shown on the account's page and here."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.audit import audit_record
from accounts.models import Account, AuditEvent, FieldChange
from healthboard.lib import htmx
from healthboard.lib.roles import permission_required
from healthboard.pages.account_edit.forms import AccountForm
from healthboard.pages.changes import field_changes

PAGE = "account/form.html"
# Managers hold change_account (to reassign owners); editing an account is add_ + change_.
ADD, CHANGE = "accounts.add_account", "accounts.change_account"
REASSIGN = "accounts.reassign_owner"


def _page(request, form: AccountForm, account: Account | None, *, status: int = 200):
    context = {
        "form": form,
        "account": account,
        "action": reverse("accounts:edit", args=[account.pk])
        if account
        else reverse("accounts:create"),
    }
    if account is not None:
        context["changes"] = field_changes(
            object_type=FieldChange.ObjectType.ACCOUNT, object_id=account.pk
        )
    return render(request, PAGE, context, status=status)


def _save(request: HttpRequest, account: Account | None) -> HttpResponse:
    form = AccountForm(request.POST, instance=account, can_reassign=request.user.has_perm(REASSIGN))
    if not form.is_valid():
        return _page(request, form, account, status=400)
    changes = services.account_save(account=form.instance, user=request.user)
    saved = form.instance
    if changes:
        # A pointer in the audit log: the old and new values live in FieldChange.
        audit_record(
            type=AuditEvent.Type.ACCOUNT_CREATED
            if account is None
            else AuditEvent.Type.ACCOUNT_CHANGED,
            request=request,
            obj=saved,
            message=", ".join(c.label for c in changes)[:300],
            details={"fields": [c.field for c in changes]},
        )
    if account is None:
        messages.success(request, _("Account “%(name)s” created.") % {"name": saved.name})
    elif changes:
        fields = ", ".join(c.label.lower() for c in changes)
        messages.success(
            request,
            _("“%(name)s” saved: %(fields)s changed.") % {"name": saved.name, "fields": fields},
        )
    else:
        messages.info(
            request, _("Nothing to save: “%(name)s” is unchanged.") % {"name": saved.name}
        )
    return redirect("accounts:detail", pk=saved.pk)


@require_http_methods(["GET", "POST"])
@permission_required(ADD)
def account_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, None)
    return _page(request, AccountForm(can_reassign=request.user.has_perm(REASSIGN)), None)


@require_http_methods(["GET", "POST"])
@permission_required(ADD)
@permission_required(CHANGE)
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("owner"), pk=pk)
    if request.method == "POST":
        return _save(request, account)
    form = AccountForm(instance=account, can_reassign=request.user.has_perm(REASSIGN))
    return _page(request, form, account)


@require_GET
@permission_required("accounts.view_account")
@htmx.vary_on_htmx
def account_changes(request: HttpRequest, pk: int) -> HttpResponse:
    """The account's history of changes made by hand: loaded into the account page when its
    "Changes" section opens (HTMX), or a page of its own."""
    account = get_object_or_404(Account.objects.only("id", "name"), pk=pk)
    context = {
        "account": account,
        "changes": field_changes(object_type=FieldChange.ObjectType.ACCOUNT, object_id=pk),
    }
    return htmx.render(request, "account/changes.html", context, partial="changes")
