"""The pages' URLs. Their names keep the namespaces of the URL prefixes they live under:
"accounts" for /accounts/… (portfolio, account, its form, journey), "scoring" for
/scoring/… (the scorecard editor and the weekly review), "tokens" for /tokens/ (API
tokens), "imports" for /imports/ (CSV imports), "catalogue" for /catalogue/ (segments,
journey stages, metrics), "analytics" for /analytics/ (back-test, lifecycle, suggested
scorecard, surveys, plays), "lists" for /lists/ (the action lists), "preferences" for
/preferences/ (the user's own settings: the e-mail digest, the password, the language),
"playbooks" for /playbooks/ (CTA rules, playbooks and outcomes), "actions" for /actions/ (My
actions: calls to action), "audit" for /audit/ (the audit log, sign-in lockouts)."""

from django.urls import path

from healthboard.pages.account import exports as account_exports
from healthboard.pages.account import views as account
from healthboard.pages.account_edit import views as account_edit
from healthboard.pages.actions import views as actions
from healthboard.pages.analytics import views as analytics
from healthboard.pages.audit import views as audit
from healthboard.pages.catalogue import views as catalogue
from healthboard.pages.ctarules import views as ctarules
from healthboard.pages.digest import views as digest
from healthboard.pages.imports import views as imports
from healthboard.pages.journey import views as journey
from healthboard.pages.language import views as language
from healthboard.pages.lists import views as lists
from healthboard.pages.lockouts import views as lockouts
from healthboard.pages.outcomes import views as outcomes
from healthboard.pages.playbooks import views as playbooks
from healthboard.pages.portfolio import views as portfolio
from healthboard.pages.reassign import views as reassign
from healthboard.pages.scorecards import views as scorecards
from healthboard.pages.signin import views as signin
from healthboard.pages.tokens import views as tokens
from healthboard.pages.weekly import views as weekly

home = portfolio.portfolio

accounts_urls = (
    [
        # -- portfolio
        path("", portfolio.portfolio_redirect, name="portfolio"),
        path("export.csv", portfolio.portfolio_csv, name="portfolio_csv"),
        path("accounts.csv", portfolio.portfolio_accounts_csv, name="portfolio_accounts_csv"),
        path("reassign/", reassign.accounts_reassign_many, name="reassign_many"),
        path("reassign/owners/", reassign.owner_options, name="owner_options"),
        # -- create and edit (Admins)
        path("new/", account_edit.account_create, name="create"),
        path("<int:pk>/edit/", account_edit.account_edit, name="edit"),
        path("<int:pk>/changes/", account_edit.account_changes, name="changes"),
        path("<int:pk>/owner/", reassign.account_reassign, name="reassign"),
        # -- detail
        path("<int:pk>/", account.account_detail, name="detail"),
        path("<int:pk>/trend/", account.account_trend, name="trend"),
        path("<int:pk>/signals/", account.account_signals, name="signals"),
        path("<int:pk>/notes/", account.account_notes, name="notes"),
        path("<int:pk>/notes/add/", account.account_add_note, name="add_note"),
        path("<int:pk>/stage/", account.account_change_stage, name="change_stage"),
        path("<int:pk>/sentiment/", account.account_sentiment_set, name="sentiment_set"),
        path(
            "<int:pk>/sentiment/withdraw/",
            account.account_sentiment_withdraw,
            name="sentiment_withdraw",
        ),
        path("<int:pk>/signals.csv", account_exports.account_signals_csv, name="signals_csv"),
        path("<int:pk>/notes.csv", account_exports.account_notes_csv, name="notes_csv"),
        path("<int:pk>/scores.csv", account_exports.account_scores_csv, name="scores_csv"),
        # -- journey
        path("journey/", journey.journey, name="journey"),
        path("journey/export.csv", journey.journey_csv, name="journey_csv"),
        path("journey/<int:pk>/move/", journey.journey_move, name="journey_move"),
    ],
    "accounts",
)

scoring_urls = (
    [
        # -- scorecards
        path("scorecards/", scorecards.scorecard_list, name="scorecards"),
        path("scorecards/new/", scorecards.scorecard_create, name="scorecard_create"),
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
        path(
            "scorecards/<int:pk>/v<int:number>/edit/", scorecards.draft_edit, name="scorecard_draft"
        ),
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
            "scorecards/<int:pk>/v<int:number>/preview.csv",
            scorecards.draft_preview_csv,
            name="scorecard_preview_csv",
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
    ],
    "scoring",
)

tokens_urls = (
    [
        path("", tokens.token_list, name="list"),
        path("new/", tokens.token_create, name="create"),
        path("<int:pk>/revoke/", tokens.token_revoke, name="revoke"),
    ],
    "tokens",
)

imports_urls = (
    [
        path("", imports.import_upload, name="upload"),
        path("history/", imports.import_history, name="history"),
        path("<int:pk>/", imports.import_job, name="job"),
        path("<int:pk>/preview/", imports.import_remap, name="remap"),
        path("<int:pk>/check/", imports.import_check, name="check"),
        path("<int:pk>/import/", imports.import_commit, name="commit"),
        path("<int:pk>/discard/", imports.import_discard, name="discard"),
        path("<int:pk>/rejects.csv", imports.import_rejects, name="rejects"),
    ],
    "imports",
)

catalogue_urls = (
    [
        path("", catalogue.catalogue, name="index"),
        path("segments/new/", catalogue.segment_create, name="segment_new"),
        path("segments/<int:pk>/", catalogue.segment_edit, name="segment"),
        path("stages/new/", catalogue.stage_create, name="stage_new"),
        path("stages/<int:pk>/", catalogue.stage_edit, name="stage"),
        path("metrics/new/", catalogue.metric_create, name="metric_new"),
        path("metrics/<int:pk>/", catalogue.metric_edit, name="metric"),
        path("metrics.csv", catalogue.metrics_csv, name="metrics_csv"),
    ],
    "catalogue",
)

analytics_urls = (
    [
        path("", analytics.backtest, name="backtest"),
        path("lifecycle/", analytics.lifecycle, name="lifecycle"),
        path("suggestion/", analytics.suggestion, name="suggestion"),
        path("surveys/", analytics.surveys, name="surveys"),
        path("plays/", analytics.plays, name="plays"),
        path("<slug:slug>/run/", analytics.analysis_run, name="run"),
        path("runs/<int:pk>/", analytics.analysis_progress, name="progress"),
        path("runs/<int:pk>/apply/", analytics.suggestion_apply, name="apply"),
    ],
    "analytics",
)

lists_urls = (
    [
        path("", lists.lists_index, name="index"),
        path("advocates/", lists.advocates, name="advocates"),
        path("advocates/export.csv", lists.advocates_csv, name="advocates_csv"),
        path("expansion/", lists.expansion, name="expansion"),
        path("expansion/export.csv", lists.expansion_csv, name="expansion_csv"),
        path("collections/", lists.collections, name="collections"),
        path("collections/export.csv", lists.collections_csv, name="collections_csv"),
        path("pain-points/", lists.pain_points, name="pain_points"),
        path("pain-points/export.csv", lists.pain_points_csv, name="pain_points_csv"),
    ],
    "lists",
)

preferences_urls = (
    [
        path("digest/", digest.digest_preferences, name="digest"),
        path("digest/preview/", digest.digest_preview_page, name="digest_preview"),
        path("password/", signin.password_change, name="password"),
        path("language/", language.language_choose, name="language"),
    ],
    "preferences",
)

playbooks_urls = (
    [
        # -- playbooks per journey stage and band
        path("", playbooks.playbook_list, name="index"),
        path("new/", playbooks.playbook_create, name="playbook_new"),
        path("<int:pk>/", playbooks.playbook_edit, name="playbook"),
        # -- the rules that open calls to action
        path("rules/", ctarules.rule_list, name="rules"),
        path("rules/new/", ctarules.rule_create, name="rule_new"),
        path("rules/preview/", ctarules.rule_preview, name="rule_preview"),
        path("rules/<int:pk>/", ctarules.rule_edit, name="rule"),
        path("rules/<int:pk>/toggle/", ctarules.rule_toggle, name="rule_toggle"),
        path("rules/<int:pk>/delete/", ctarules.rule_delete, name="rule_delete"),
        # -- how a call to action can end
        path("outcomes/", outcomes.outcome_list, name="outcomes"),
        path("outcomes/new/", outcomes.outcome_create, name="outcome_new"),
        path("outcomes/<int:pk>/", outcomes.outcome_edit, name="outcome"),
        path("outcomes/<int:pk>/toggle/", outcomes.outcome_toggle, name="outcome_toggle"),
        path("outcomes/<int:pk>/delete/", outcomes.outcome_delete, name="outcome_delete"),
    ],
    "playbooks",
)

actions_urls = (
    [
        path("", actions.actions_inbox, name="inbox"),
        path("team/", actions.actions_team, name="team"),
        path("new/", actions.cta_create, name="create"),
        path("<int:pk>/", actions.cta_detail, name="cta"),
        path("<int:pk>/done/", actions.cta_done, name="done"),
        path("<int:pk>/snooze/", actions.cta_snooze, name="snooze"),
        path("<int:pk>/reopen/", actions.cta_reopen, name="reopen"),
        path("<int:pk>/comments/", actions.cta_comment, name="comment"),
        path("steps/<int:pk>/", actions.cta_step, name="step"),
        path("<int:pk>/steps/<int:position>/", actions.cta_step_at, name="step_at"),
    ],
    "actions",
)

audit_urls = (
    [
        path("", audit.audit_log, name="log"),
        path("export.csv", audit.audit_log_csv, name="log_csv"),
        path("lockouts/", lockouts.lockout_list, name="lockouts"),
        path("lockouts/unlock/", lockouts.lockout_unlock, name="unlock"),
    ],
    "audit",
)
