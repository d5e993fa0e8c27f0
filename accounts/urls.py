from django.urls import path  # noqa: F401

from accounts.views import detail, journey, portfolio  # noqa: F401

app_name = "accounts"
urlpatterns = [
    # -- portfolio
    path("", portfolio.portfolio_redirect, name="portfolio"),
    path("export.csv", portfolio.portfolio_csv, name="portfolio_csv"),
    # -- detail
    path("<int:pk>/", detail.account_detail, name="detail"),
    path("<int:pk>/trend/", detail.account_trend, name="trend"),
    path("<int:pk>/signals/", detail.account_signals, name="signals"),
    path("<int:pk>/notes/", detail.account_notes, name="notes"),
    path("<int:pk>/notes/add/", detail.account_add_note, name="add_note"),
    path("<int:pk>/stage/", detail.account_change_stage, name="change_stage"),
    # -- journey
    path("journey/", journey.journey, name="journey"),
    path("journey/<int:pk>/move/", journey.journey_move, name="journey_move"),
]
