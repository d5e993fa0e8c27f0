from django.urls import path  # noqa: F401

from accounts.views import detail, journey, portfolio  # noqa: F401

app_name = "accounts"
urlpatterns = [
    # -- portfolio
    # -- detail
    # -- journey
]
