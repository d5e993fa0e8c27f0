from django.urls import path  # noqa: F401

from scoring.views import analytics, scorecards, weekly  # noqa: F401

app_name = "scoring"
urlpatterns = [
    # -- scorecards
    path("scorecards/", scorecards.scorecard_list, name="scorecards"),
    path("scorecards/<int:pk>/", scorecards.scorecard_detail, name="scorecard_detail"),
    path(
        "scorecards/<int:pk>/history/",
        scorecards.scorecard_history_page,
        name="scorecard_history",
    ),
    path("scorecards/<int:pk>/drafts/", scorecards.draft_create, name="scorecard_draft_create"),
    path(
        "scorecards/<int:pk>/v<int:number>/",
        scorecards.scorecard_version,
        name="scorecard_version",
    ),
    path("scorecards/<int:pk>/v<int:number>/edit/", scorecards.draft_edit, name="scorecard_draft"),
    path(
        "scorecards/<int:pk>/v<int:number>/validate/",
        scorecards.draft_validate,
        name="scorecard_validate",
    ),
    path(
        "scorecards/<int:pk>/v<int:number>/preview/",
        scorecards.draft_preview,
        name="scorecard_preview",
    ),
    path(
        "scorecards/<int:pk>/v<int:number>/publish/",
        scorecards.draft_publish,
        name="scorecard_publish",
    ),
    path(
        "scorecards/<int:pk>/v<int:number>/discard/",
        scorecards.draft_discard,
        name="scorecard_discard",
    ),
    path(
        "scorecards/<int:pk>/v<int:number>/progress/",
        scorecards.publish_progress_page,
        name="scorecard_progress",
    ),
    path(
        "scorecards/<int:pk>/v<int:number>/recompute/",
        scorecards.recompute_today,
        name="scorecard_recompute",
    ),
    # -- weekly
    path("weekly/", weekly.weekly_review, name="weekly"),
    # -- analytics
]
