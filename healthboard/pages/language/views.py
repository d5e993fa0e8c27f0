"""The language chooser in the header (and on the login page): a plain POST form, so it works
without JavaScript. A signed-in user's choice is saved on their preferences and wins over the
browser's language from then on, on every computer they log in from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from healthboard.lib.language import SESSION_KEY, language_codes, remember_language
from scoring.models.digest import DigestPreference


def _back(request: HttpRequest) -> str:
    """Where the chooser was used (the form's `next`), when it is a page of this site."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url("home")


@login_not_required
@require_POST
def language_choose(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("language", "")
    response = redirect(_back(request))
    if code not in language_codes():
        messages.error(
            request,
            _("“%(code)s” is not one of the languages offered (%(choices)s).")
            % {"code": code, "choices": ", ".join(language_codes())},
        )
        return response
    if request.user.is_authenticated:
        preference = DigestPreference.defaults_for(request.user)
        preference.language = code
        if preference._state.adding:
            preference.save()
        else:
            preference.save(update_fields=["language"])
    remember_language(request, response, code)
    return response


def language_on_login(sender, request: HttpRequest | None = None, user=None, **kwargs) -> None:
    """A user_logged_in receiver: the language the user saved wins from their first page."""
    if request is None or user is None or not hasattr(request, "session"):
        return
    language = DigestPreference.objects.filter(user=user).values_list("language", flat=True).first()
    if language:
        remember_language(request, None, language)
    else:
        # A session reused across users (login without logout) keeps no one else's choice.
        request.session.pop(SESSION_KEY, None)
