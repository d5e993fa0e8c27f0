"""API tokens: Admins make them (the secret is shown once), list and revoke them.

Permissions: tokens.view_apitoken to see the list, add_ to make one, change_ to revoke one;
the Admin role has all three, CSMs and Managers none (403).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from healthboard.lib.roles import permission_required
from healthboard.pages.tokens.forms import TokenForm
from healthboard.tokens import services
from healthboard.tokens.models import ApiToken

PAGE = "tokens/list.html"
VIEW, ADD, CHANGE = "tokens.view_apitoken", "tokens.add_apitoken", "tokens.change_apitoken"


def _page(request: HttpRequest, *, form: TokenForm, created=None, status: int = 200):
    context = {
        "form": form,
        "tokens": services.token_rows(),
        "created": created,
        "can_add": request.user.has_perm(ADD),
        "can_revoke": request.user.has_perm(CHANGE),
    }
    return render(request, PAGE, context, status=status)


@require_GET
@permission_required(VIEW)
def token_list(request: HttpRequest) -> HttpResponse:
    return _page(request, form=TokenForm())


@require_POST
@permission_required(VIEW)
@permission_required(ADD)
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    token, secret = services.token_create(
        name=form.cleaned_data["name"],
        owner=request.user,
        scope=form.cleaned_data["scope"],
        request=request,
    )
    # Rendered, not redirected: the secret must not travel through the session or a URL,
    # and this answer is the only time it is shown.
    return _page(request, form=TokenForm(), created={"token": token, "secret": secret})


@require_POST
@permission_required(VIEW)
@permission_required(CHANGE)
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    if services.token_revoke(token=token, user=request.user, request=request):
        messages.success(
            request,
            _("Token “%(token)s” (%(prefix)s…) is revoked.")
            % {"token": token.name, "prefix": token.prefix},
        )
    else:
        messages.info(request, _("Token “%(token)s” was already revoked.") % {"token": token.name})
    return redirect("tokens:list")
