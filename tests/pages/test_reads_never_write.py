"""Reads never write: every page a GET can reach, as each role, in full, as an HTMX fragment
and as a CSV export, runs no INSERT, UPDATE or DELETE — with published runs present,
yesterday's not yet settled (the case that used to write), a day published before
snapshots were kept, and tonight's run under way."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse

from accounts.models import Account, ImportJob, JourneyStage, Metric
from healthboard.pages import urls as pages
from scoring import services
from scoring.analytics.services import analysis_create, analysis_run_now
from scoring.models import AnalysisRun, HealthScore, RunSnapshot, Scorecard, ScoreRun
from scoring.models.actions import ActionRule, Outcome, Playbook
from scoring.rollups.snapshots import run_rollup
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    CtaStepFactory,
    HealthScoreFactory,
    NoteFactory,
    ScoreRunFactory,
    SignalFactory,
)

pytestmark = pytest.mark.postgres

TODAY = dt.date(2026, 11, 23)  # a Monday
YESTERDAY = TODAY - dt.timedelta(days=1)
NIGHT = dt.time(2, 0)
DAYS = 15  # of published runs, up to yesterday: the weekly review's two weeks and more
HTMX = {"HTTP_HX_REQUEST": "true"}
WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)
# The one write a GET may make: a CSV export records itself in the audit log
# (healthboard/pages/audited.py). Pages never do.
EXPORT_AUDIT = 'INSERT INTO "accounts_auditevent"'

# Every page's URL name, and the GETs to make of it ({pk}: an account, {card}/{number}: a
# scorecard and its draft): the page, its HTMX fragments and its exports.
GETS: dict[str, list[tuple[str, dict]]] = {
    "home": [
        ("", {}),
        ("?owner=all", {}),
        ("?owner=all&band=red&sort=-arr", {**HTMX, "HTTP_HX_TRIGGER": "portfolio-filters"}),
        ("?owner=all&moved=5&prev_band=green", {}),
        (f"?date={YESTERDAY - dt.timedelta(days=1)}&owner=all", {}),
        ("?owner=all&page=2", HTMX),
    ],
    "accounts:portfolio": [("", {})],
    "accounts:portfolio_csv": [("", {}), ("?owner=all&band=red", {})],
    "accounts:portfolio_accounts_csv": [("", {}), ("?owner=all&band=red", {})],
    "accounts:signals_csv": [("", {}), ("?category=Usage", {})],
    "accounts:notes_csv": [("", {})],
    "accounts:scores_csv": [("?range=365", {})],
    "accounts:detail": [("", {}), ("?range=90", {}), ("?category=usage", HTMX)],
    "accounts:trend": [("", HTMX), ("?range=30", HTMX)],
    "accounts:signals": [("", HTMX)],
    "accounts:notes": [("", HTMX)],
    "accounts:create": [("", {})],
    "accounts:edit": [("", {})],
    "accounts:changes": [("", {}), ("", HTMX)],
    "accounts:reassign": [("", {}), ("", HTMX)],
    "accounts:owner_options": [("", HTMX)],
    "catalogue:index": [("", {})],
    "catalogue:segment_new": [("", {})],
    "catalogue:segment": [("", {})],
    "catalogue:stage_new": [("", {})],
    "catalogue:stage": [("", {})],
    "catalogue:metric_new": [("", {})],
    "catalogue:metric": [("", {})],
    "catalogue:metrics_csv": [("", {})],
    "accounts:journey": [
        ("", {}),
        ("?owner=all&band=red", {**HTMX, "HTTP_HX_TRIGGER": "journey-filters"}),
    ],
    "accounts:journey_csv": [("", {}), ("?owner=all&band=red", {})],
    "scoring:scorecards": [("", {})],
    "scoring:scorecard_create": [("", {})],
    "scoring:scorecard_detail": [("", {})],
    "scoring:scorecard_history": [("", {})],
    "scoring:scorecard_version": [("", {})],
    "scoring:scorecard_draft": [("", {}), ("", HTMX)],
    "scoring:scorecard_progress": [("", {}), ("", HTMX)],
    "imports:upload": [("", {})],
    "imports:history": [("", {}), ("?page=2", {})],
    "imports:job": [("", {}), ("", HTMX), ("?page=2", HTMX)],
    "imports:rejects": [("", {})],
    "tokens:list": [("", {})],
    "scoring:weekly": [
        ("", {}),
        (f"?week={YESTERDAY - dt.timedelta(days=8)}", {**HTMX, "HTTP_HX_TRIGGER": "weekly-picker"}),
        ("?measure=arr", {**HTMX, "HTTP_HX_TARGET": "weekly-distribution"}),
        ("", {**HTMX, "HTTP_HX_TARGET": "weekly-distribution"}),
        ("?export=movers", {}),
        ("?export=csms", {}),
    ],
    "analytics:backtest": [("", {}), ("", HTMX)],
    "analytics:lifecycle": [("", {})],
    "analytics:suggestion": [("", {})],
    "analytics:surveys": [("", {})],
    "analytics:plays": [("", {})],
    "analytics:progress": [("", {}), ("", HTMX)],
    "lists:index": [("", {})],
    "lists:advocates": [("", {}), ("?owner=all&sort=-nps", HTMX)],
    "lists:advocates_csv": [("?owner=all", {})],
    "lists:expansion": [("", {}), ("?owner=all&sort=-talks", HTMX)],
    "lists:expansion_csv": [("?owner=all", {})],
    "lists:collections": [("", {}), ("?owner=all&band=red&page=2", HTMX)],
    "lists:collections_csv": [("?owner=all", {})],
    "lists:pain_points": [("", {}), ("?owner=all&category=(none)", HTMX)],
    "lists:pain_points_csv": [("?owner=all", {}), ("?owner=all&category=(none)", {})],
    "preferences:digest": [("", {})],
    "preferences:digest_preview": [("", {})],
    "preferences:password": [("", {})],
    "playbooks:rules": [("", {})],
    "playbooks:rule_new": [("", {}), ("?kind=no_login", {}), ("?kind=band_worse", HTMX)],
    "playbooks:rule": [("", {})],
    "playbooks:rule_preview": [
        ("?kind=renewal_at_risk&p_days=60", HTMX),
        ("?kind=band_worse&p_band=red", HTMX),
        ("?kind=no_login&p_days=0", HTMX),
    ],
    "playbooks:index": [("", {})],
    "playbooks:playbook": [("", {}), ("", HTMX)],
    "playbooks:outcomes": [("", {})],
    "playbooks:outcome_new": [("", {})],
    "playbooks:outcome": [("", {})],
    "actions:inbox": [("", {}), ("?tab=snoozed", HTMX), ("?tab=done", {})],
    "actions:team": [("", {})],
    "actions:cta": [("", {})],
    "actions:create": [("", {})],
    "audit:log": [
        ("", {}),
        ("?type=login&since=2026-11-01&until=2026-11-30", HTMX),
        ("?page=2", {}),
    ],
    "audit:log_csv": [("", {}), ("?type=export", {})],
    "audit:lockouts": [("", {})],
}
# Pages that only answer a POST (their GET is refused, and asked all the same).
POST_ONLY = {
    "accounts:add_note",
    "accounts:reassign_many",
    "accounts:change_stage",
    "accounts:sentiment_set",
    "accounts:sentiment_withdraw",
    "accounts:journey_move",
    "scoring:scorecard_draft_create",
    "scoring:scorecard_validate",
    "scoring:scorecard_preview",
    "scoring:scorecard_preview_csv",
    "scoring:scorecard_publish",
    "scoring:scorecard_discard",
    "scoring:scorecard_recompute",
    "imports:remap",
    "imports:check",
    "imports:commit",
    "imports:discard",
    "tokens:create",
    "tokens:revoke",
    "analytics:run",
    "analytics:apply",
    "playbooks:playbook_new",
    "playbooks:rule_toggle",
    "playbooks:rule_delete",
    "playbooks:outcome_toggle",
    "playbooks:outcome_delete",
    "actions:done",
    "actions:snooze",
    "actions:reopen",
    "actions:comment",
    "actions:step",
    "actions:step_at",
    "preferences:language",
    "audit:unlock",
}


def at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=dt.UTC)


@pytest.fixture
def history(db, time_machine, csm_user, manager_user, admin_role_user) -> dict:
    """Runs published night after night (each settling the day before); a day published
    before snapshots were kept; yesterday's run re-scored during the day and not settled
    yet, because tonight's run is still under way; a draft of the standard scorecard."""
    stages = list(JourneyStage.objects.all())
    accounts = [
        AccountFactory(
            owner=[csm_user, manager_user, None][i % 3],
            stage=stages[i % len(stages)],
            renewal_date=TODAY + dt.timedelta(days=10 * i),
        )
        for i in range(9)
    ]
    Account.objects.filter(pk=accounts[-1].pk).update(status=Account.Status.CHURNED)
    legacy = ScoreRunFactory(date=TODAY - dt.timedelta(days=DAYS + 3))
    for account in accounts:
        HealthScoreFactory(account=account, run=legacy, score=50)
    for back in range(DAYS, 0, -1):
        day = TODAY - dt.timedelta(days=back)
        time_machine.move_to(at(day, NIGHT), tick=False)
        run = ScoreRunFactory(date=day, started_at=at(day, NIGHT))
        for i, account in enumerate(accounts):
            score = None if i == 4 else (i * 13 + back * 7) % 100
            HealthScoreFactory(account=account, run=run, score=score, delta_7d=back - 7.0)
        run_rollup(run=run)
    time_machine.move_to(at(YESTERDAY, dt.time(15, 0)), tick=False)
    HealthScore.objects.filter(run__date=YESTERDAY, account=accounts[0]).delete()
    HealthScoreFactory(account=accounts[0], run=ScoreRun.objects.get(date=YESTERDAY), score=5)
    time_machine.move_to(at(TODAY, dt.time(9, 0)), tick=False)
    running = ScoreRunFactory(
        date=TODAY, status=ScoreRun.Status.RUNNING, started_at=at(TODAY, NIGHT)
    )
    for account in accounts[:5]:
        HealthScoreFactory(account=account, run=running, score=70)
    for account in accounts[:3]:
        SignalFactory(account=account)
        NoteFactory(account=account, author=csm_user)
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=admin_role_user)
    # Stored analyses: each tab's newest (done), and a back-test still waiting for a worker.
    for kind in (AnalysisRun.Kind.RETENTION, AnalysisRun.Kind.SURVEYS):
        analysis_run_now(kind=kind, parameters={})
    analysis_run_now(kind=AnalysisRun.Kind.BACKTEST, parameters={"scorecard": "Standard"})
    queued = analysis_create(kind=AnalysisRun.Kind.BACKTEST, parameters={"scorecard": "Standard"})
    suggested = AnalysisRun.objects.create(
        kind=AnalysisRun.Kind.SUGGESTION,
        status=AnalysisRun.Status.DONE,
        scorecard=card,
        result={"status": "not_enough_data", "missing": ["Too few churned accounts"]},
    )

    cta = CallToActionFactory(account=accounts[0], due_date=TODAY - dt.timedelta(days=2))
    step = CtaStepFactory(cta=cta)
    # One the rules opened, its checklist still pending: shown from the playbook, never
    # copied by a read (scoring.actions.playbooks).
    playbook = Playbook.objects.filter(steps__isnull=False).first()
    pending = CallToActionFactory(
        account=accounts[0], rule=None, playbook=playbook, steps_pending=True, due_date=TODAY
    )

    assert not RunSnapshot.objects.get(run__date=YESTERDAY).settled
    assert not RunSnapshot.objects.filter(run=legacy).exists()
    ImportJob.objects.create(
        kind=ImportJob.Kind.SIGNALS,
        status=ImportJob.Status.REFUSED,
        user=admin_role_user,
        file_name="signals.csv",
        result={"errors": [{"row": 3, "column": "value", "message": "Not a number."}]},
    )
    waiting = ImportJob.objects.create(
        kind=ImportJob.Kind.ACCOUNTS,
        user=admin_role_user,
        file_name="accounts.csv",
        result={"preview": {"header": ["external_id", "name"], "mapping": {}, "errors": []}},
    )
    return {
        "pk": accounts[0].pk,
        "imports": waiting.pk,
        "card": card.pk,
        "number": draft.number,
        "catalogue:segment": accounts[0].segment_id,
        "catalogue:stage": accounts[0].stage_id,
        "catalogue:metric": Metric.objects.order_by("pk").first().pk,
        "analytics:progress": queued.pk,
        "analytics:apply": suggested.pk,
        "playbooks": Playbook.objects.order_by("pk").first().pk,
        "playbooks:rule": ActionRule.objects.order_by("pk").first().pk,
        "playbooks:outcome": Outcome.objects.order_by("pk").first().pk,
        "actions": pending.pk,  # its page shows the pending checklist
        "actions:step": step.pk,
    }


def url_of(name: str, history: dict) -> str:
    kwargs = {}
    found = [p.pattern.regex.pattern for p in all_patterns() if _name(p) == name]
    route = found[0] if found else ""
    if "?P<pk>" in route:
        namespace = name.split(":")[0]
        kwargs["pk"] = (
            history.get(name)
            or history.get(namespace)
            or (history["card"] if namespace == "scoring" else history["pk"])
        )
    if "?P<slug>" in route:
        kwargs["slug"] = "backtest"
    if "?P<number>" in route:
        kwargs["number"] = history["number"]
    if "?P<position>" in route:
        kwargs["position"] = 0
    return reverse(name, kwargs=kwargs)


def namespaces() -> dict[str, list[URLPattern]]:
    """Every page's URL group (healthboard.pages.urls' `<name>_urls` tuples): a page added to
    any of them must be listed above."""
    return {
        namespace: patterns
        for attribute, value in vars(pages).items()
        if attribute.endswith("_urls") and isinstance(value, tuple)
        for patterns, namespace in [value]
    }


def all_patterns() -> list[URLPattern]:
    return [pattern for patterns in namespaces().values() for pattern in patterns]


def _name(pattern: URLPattern) -> str:
    for namespace, patterns in namespaces().items():
        if pattern in patterns:
            return f"{namespace}:{pattern.name}"
    return pattern.name


def test_every_page_is_asked() -> None:
    names = {_name(p) for p in all_patterns()} | {"home"}

    assert names == set(GETS) | POST_ONLY


@pytest.mark.parametrize("role", ["csm", "manager", "admin_role"])
def test_no_get_writes_to_the_database(request, history, role: str) -> None:
    client = request.getfixturevalue(f"{role}_client")
    asked = [
        (url_of(name, history) + query, headers)
        for name, gets in GETS.items()
        for query, headers in gets
    ] + [(url_of(name, history), {}) for name in sorted(POST_ONLY)]
    answers, writes = {}, []
    for url, headers in asked:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
            if response.streaming:
                b"".join(response.streaming_content)
        answers[url] = response.status_code
        exported = response.get("Content-Type", "").startswith("text/csv")
        writes += [
            (url, q["sql"][:200])
            for q in queries
            if WRITE.search(q["sql"]) and not (exported and q["sql"].startswith(EXPORT_AUDIT))
        ]

    assert writes == []
    assert all(status < 500 for status in answers.values()), answers
    # The pages were really shown (not all refused): the role's own pages answer 200.
    assert answers[url_of("home", history)] == 200
    assert answers[url_of("accounts:journey", history)] == 200
    assert answers[url_of("preferences:digest", history)] == 200
    if role != "csm":
        assert answers[url_of("scoring:weekly", history)] == 200
        assert answers[url_of("analytics:backtest", history)] == 200
    if role == "admin_role":
        for name in (
            "imports:upload",
            "imports:history",
            "imports:job",
            "tokens:list",
            "playbooks:rules",
            "playbooks:rule",
            "playbooks:index",
            "playbooks:playbook",
            "playbooks:outcomes",
        ):
            assert answers[url_of(name, history)] == 200, name
    assert not RunSnapshot.objects.get(run__date=YESTERDAY).settled
