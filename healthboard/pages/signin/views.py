"""Signing in and the user's password: the lockout page (django-axes' lockout response, the
login form again with why and for how long) and the password change page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

LOGIN_PAGE = "registration/login.html"


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """What a locked-out login attempt sees (AXES_LOCKOUT_CALLABLE): the login page, 429."""
    # Unbound: a bound form would check the password again, one more failure to count.
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    context = {
        "form": form,
        "next": request.POST.get(REDIRECT_FIELD_NAME, ""),
        "locked_out": True,
        "lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    return render(request, LOGIN_PAGE, context, status=429)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's own (old password, two new ones, the validators; keeps this session and, by
    the session auth hash, ends the user's other sessions), in the app's layout."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        messages.success(
            self.request,
            _(
                "Your password is changed. You stay logged in here; other browsers and devices "
                "were logged out."
            ),
        )
        return super().form_valid(form)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


password_change = PasswordChangeView.as_view()
