from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from healthboard.api import urls as api
from healthboard.pages import urls as pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("accounts/", include(pages.accounts_urls)),
    path("scoring/", include(pages.scoring_urls)),
    path("tokens/", include(pages.tokens_urls)),
    path("imports/", include(pages.imports_urls)),
    path("catalogue/", include(pages.catalogue_urls)),
    path("analytics/", include(pages.analytics_urls)),
    path("lists/", include(pages.lists_urls)),
    path("preferences/", include(pages.preferences_urls)),
    path("playbooks/", include(pages.playbooks_urls)),
    path("actions/", include(pages.actions_urls)),
    path("audit/", include(pages.audit_urls)),
    path("api/v1/", api.urls),
]
