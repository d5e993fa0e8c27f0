"""The e-mail digest's preference page: every user with a role chooses daily, weekly (on a
weekday) or never, their time zone and the hour. A user without a role gets 403 (they have
nothing to be sent)."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from healthboard.lib.roles import role_of
from healthboard.pages.digest.forms import DigestPreferenceForm
from scoring.digest.content import digest_preview
from scoring.digest.send import digest_message
from scoring.models.digest import Digest, DigestPreference

PAGE = "digest/preferences.html"
# The last digests listed on the page, to show what went and when.
RECENT = 5


def _with_role(request: HttpRequest) -> None:
    if role_of(request.user) is None:
        raise PermissionDenied


@require_http_methods(["GET", "POST"])
def digest_preferences(request: HttpRequest) -> HttpResponse:
    _with_role(request)
    preference = DigestPreference.defaults_for(request.user)
    # Before the form is bound: binding writes the submitted (maybe invalid) values into it.
    next_at = preference.next_at(timezone.now())
    if request.method == "POST":
        form = DigestPreferenceForm(request.POST, instance=preference)
        if form.is_valid():
            saved = form.save(commit=False)
            saved.updated_at = timezone.now()
            saved.save()
            messages.success(request, _("Your digest settings are saved."))
            return redirect("preferences:digest")
    else:
        form = DigestPreferenceForm(instance=preference)
    context = {
        "form": form,
        "next_at": next_at,
        "recent": Digest.objects.filter(user=request.user)[:RECENT],
    }
    return render(request, PAGE, context, status=400 if form.errors else 200)


# The e-mail's HTML styles itself with style attributes (mail clients ignore stylesheets):
# the page's CSP allows them, and only them; scripts stay refused.
@csp_update({"style-src": [UNSAFE_INLINE]})
@require_GET
def digest_preview_page(request: HttpRequest) -> HttpResponse:
    """The HTML e-mail the user's next digest would be if it went now, exactly as sent."""
    _with_role(request)
    content = digest_preview(user=request.user, now=timezone.now())
    [(html, _mimetype)] = digest_message(user=request.user, content=content).alternatives
    return HttpResponse(html)
