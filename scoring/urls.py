from django.urls import path  # noqa: F401

from scoring.views import analytics, scorecards, weekly  # noqa: F401

app_name = "scoring"
urlpatterns = [
    # -- scorecards
    # -- weekly
    # -- analytics
]
