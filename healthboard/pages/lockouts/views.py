"""Sign-in lockouts (django-axes): Admins see which usernames and addresses are locked out
now and unlock one before its cool-off ends (audited). The Django admin's "Access attempts"
is for superusers; this page is the Admin role's way in.

Permissions: axes.view_accessattempt to see the list, axes.delete_accessattempt to unlock;
the Admin role has both, CSMs and Managers neither (403)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from healthboard.lib.roles import permission_required
from healthboard.pages.lockouts.forms import UnlockForm
from healthboard.pages.lockouts.selectors import lockouts_current
from healthboard.pages.lockouts.services import lockout_clear

VIEW, DELETE = "axes.view_accessattempt", "axes.delete_accessattempt"


@require_GET
@permission_required(VIEW)
def lockout_list(request: HttpRequest) -> HttpResponse:
    context = {
        "lockouts": lockouts_current(),
        "can_unlock": request.user.has_perm(DELETE),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES,
    }
    return render(request, "lockouts/list.html", context)


@require_POST
@permission_required(VIEW)
@permission_required(DELETE)
def lockout_unlock(request: HttpRequest) -> HttpResponse:
    form = UnlockForm(request.POST)
    if not form.is_valid():
        # Already unlocked (by its cool-off or another Admin) or never locked: say so.
        messages.warning(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("audit:lockouts")
    lockout = form.cleaned_data["lockout"]
    lockout_clear(lockout=lockout, request=request)
    messages.success(
        request,
        f"{lockout.kind_label} {lockout.value} is unlocked: it can sign in again, "
        f"with {settings.AXES_FAILURE_LIMIT} tries before the next lockout.",
    )
    return redirect("audit:lockouts")
