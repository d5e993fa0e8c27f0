"""The Analytics page's Plays tab: Managers read the figures and their words, Admins refresh
it through the queue, CSMs get 403; not enough data is named; bounded queries."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.urls import reverse

from scoring.analytics import plays
from scoring.analytics.services import analysis_run_now
from scoring.models import ActionRule, AnalysisRun
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    HealthScoreFactory,
    ScoreRunFactory,
)

pytestmark = pytest.mark.postgres

DAY = dt.date(2026, 1, 10)
URL = reverse("analytics:plays")
# As the other tabs (tests/pages/test_analytics.py): session, user, role, the newest done
# analysis, one running, the newest attempt, messages.
MAX_QUERIES = 10


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def scored(account, day: dt.date, band: str) -> None:
    score = {"green": 80.0, "yellow": 55.0, "red": 20.0}[band]
    HealthScoreFactory(account=account, run=ScoreRunFactory(date=day), score=score, band=band)


@pytest.fixture
def computed(db, monkeypatch) -> AnalysisRun:
    """Four closed "Turned unhealthy" CTAs (three recovered by 60 days) and four comparable
    accounts that did not, analysed."""
    monkeypatch.setattr(plays, "MIN_CASES", 3)
    ScoreRunFactory(date=DAY + dt.timedelta(days=300))
    rule = ActionRule.objects.get(name="Turned unhealthy")
    for i in range(4):
        account = AccountFactory()
        scored(account, DAY, "red")
        scored(account, DAY + dt.timedelta(days=60), "yellow" if i < 3 else "red")
        CallToActionFactory(
            account=account, rule=rule, opened_on=DAY, band_at_open="red", status="done"
        )
    for _ in range(4):
        other = AccountFactory()
        scored(other, DAY, "red")
        scored(other, DAY + dt.timedelta(days=60), "red")
    # A rule with one closed CTA only: named, not measured.
    lonely = AccountFactory()
    scored(lonely, DAY, "yellow")
    CallToActionFactory(
        account=lonely,
        rule=ActionRule.objects.get(name="Turned at risk"),
        opened_on=DAY,
        band_at_open="yellow",
        status="resolved",
    )
    run = analysis_run_now(kind=AnalysisRun.Kind.PLAYS, parameters={})
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


def test_managers_read_the_figures_and_their_words(
    manager_client, computed, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(MAX_QUERIES):
        response = manager_client.get(URL)
    assert response.status_code == 200
    text = text_of(response.content.decode())
    assert "Which plays save accounts" in text
    assert (
        "Accounts that got the “Turned unhealthy” play recovered to a better band within 60 "
        "days in 75% of cases (n=4) vs 0% for comparable accounts without it (n=" in text
    )
    assert "By rule" in text and "Better band within" in text
    assert "75% n=4" in text
    assert "Rule “Turned at risk”: 1 closed CTA" in text
    assert "5 closed calls to action: 4 done, 1 resolved by themselves" in text
    # What the baseline was matched on, and the CTA that found no comparable account.
    assert "and in the same band 7 days before as the CTA's account" in text
    assert "Matched on the band that day and 7 days before (any stage) 4 CTAs" in text
    assert "No comparable account 1 CTA" in text
    assert "Refresh" not in text


def test_csms_get_403_and_anonymous_visitors_log_in(client, csm_client, computed) -> None:
    assert csm_client.get(URL).status_code == 403
    assert csm_client.post(reverse("analytics:run", args=["plays"])).status_code == 403
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_an_admin_refreshes_it_through_the_queue(
    admin_role_client, manager_client, computed, django_capture_on_commit_callbacks
) -> None:
    assert "Refresh plays" in admin_role_client.get(URL).content.decode()
    assert manager_client.post(reverse("analytics:run", args=["plays"])).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_role_client.post(reverse("analytics:run", args=["plays"]))
    assert response.status_code == 302 and response.url == URL
    newest = AnalysisRun.objects.filter(kind="plays").order_by("-pk").first()
    assert newest.pk != computed.pk and newest.status == AnalysisRun.Status.DONE


def test_without_closed_ctas_it_says_what_is_missing(manager_client, db) -> None:
    analysis_run_now(kind=AnalysisRun.Kind.PLAYS, parameters={})
    text = text_of(manager_client.get(URL).content.decode())
    assert "Not enough data to compare plays" in text
    assert "No closed calls to action with a band at their opening yet" in text
