"""GET /api/v1/accounts/{external_id} (the score explained, as the account page has it),
…/scores (daily history, paged) and /metrics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import Metric
from scoring.models import HealthScore, ScorecardVersion, ScoreRun
from scoring.specs import version_config, versions_queryset
from tests.factories import AccountFactory, HealthScoreFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC), tick=False)


def enterprise() -> ScorecardVersion:
    return ScorecardVersion.objects.get(scorecard__name="Enterprise", number=1)


def snapshot(account, version: ScorecardVersion, day: dt.date, subs: list) -> HealthScore:
    """A published score whose measures have these sub-scores (None: no data)."""
    raw = [None if s is None else s / 10 for s in subs]
    return HealthScoreFactory(
        account=account,
        run=ScoreRun.objects.create(date=day, status="done"),
        version=version,
        score=55.0,
        band="yellow",
        coverage=0.8,
        details={"raw": raw, "sub": subs},
    )


def test_the_accounts_contributions_are_the_pages_why_this_score(reader, csm_client) -> None:
    account = AccountFactory(external_id="ACME-1")
    version = enterprise()
    n = len(version_config(versions_queryset().get(pk=version.pk)).measures)
    subs = [None] + [20.0 + 60 * i / n for i in range(1, n)]
    snapshot(account, version, TODAY - dt.timedelta(days=1), [50.0] * n)
    snapshot(account, version, TODAY, subs)

    body = reader.get("/api/v1/accounts/ACME-1").json()
    page = csm_client.get(reverse("accounts:detail", args=[account.pk]))

    lines = page.context["breakdown"].lines
    assert [m["name"] for m in body["measures"]] == [line.name for line in lines]
    assert [m["points"] for m in body["measures"]] == [line.shown for line in lines]
    assert [m["sub_score"] for m in body["measures"]] == [line.sub for line in lines]
    assert [m["weight_pct"] for m in body["measures"]] == pytest.approx(
        [line.weight_pct for line in lines]
    )
    assert [m["value_text"] for m in body["measures"]] == [line.value_text for line in lines]
    assert body["measures"][0]["sub_score"] is None and body["measures"][0]["points"] == 0
    assert body["score"] == {
        "date": "2026-11-22",
        "score": 55.0,
        "band": "yellow",
        "band_label": "At risk",
        "coverage": 0.8,
        "scorecard": "Enterprise",
        "version": 1,
    }
    assert body["external_id"] == "ACME-1"
    assert body["segment"] == account.segment.name
    assert body["owner"] == account.owner.email


def test_an_account_without_a_score_says_so(reader) -> None:
    AccountFactory(external_id="NEW-1")

    body = reader.get("/api/v1/accounts/NEW-1").json()

    assert body["score"] is None
    assert body["measures"] == []


def test_an_unknown_account_is_a_404_naming_the_id(reader) -> None:
    response = reader.get("/api/v1/accounts/NOPE-9")

    assert response.status_code == 404
    assert "'NOPE-9'" in response.json()["detail"]


def test_the_score_history_is_paged_newest_first(reader) -> None:
    account = AccountFactory(external_id="ACME-2")
    version = enterprise()
    for i in range(5):
        HealthScoreFactory(
            account=account,
            run=ScoreRun.objects.create(date=TODAY - dt.timedelta(days=i), status="done"),
            version=version,
            score=60.0 + i,
        )
    # An unfinished run's score is not published yet.
    HealthScoreFactory(
        account=account,
        run=ScoreRun.objects.create(date=TODAY + dt.timedelta(days=1), status="scoring"),
        version=version,
    )

    first = reader.get("/api/v1/accounts/ACME-2/scores", {"limit": 2}).json()
    second = reader.get("/api/v1/accounts/ACME-2/scores", {"limit": 2, "offset": 2}).json()
    since = reader.get("/api/v1/accounts/ACME-2/scores", {"since": "2026-11-21"}).json()

    assert first["count"] == 5
    assert [row["date"] for row in first["items"]] == ["2026-11-22", "2026-11-21"]
    assert [row["score"] for row in second["items"]] == [62.0, 63.0]
    assert first["items"][0]["scorecard"] == "Enterprise"
    assert first["items"][0]["version"] == 1
    assert since["count"] == 2


def test_bad_query_parameters_are_named(reader) -> None:
    AccountFactory(external_id="ACME-3")

    response = reader.get("/api/v1/accounts/ACME-3/scores", {"since": "2026-02-30", "limit": 0})

    assert response.status_code == 422
    locations = {e["location"] for e in response.json()["errors"]}
    assert locations == {"since", "limit"}


def test_the_metric_catalogue(reader) -> None:
    body = reader.get("/api/v1/metrics").json()

    assert [m["key"] for m in body] == sorted(Metric.objects.values_list("key", flat=True))
    logins = next(m for m in body if m["key"] == "logins")
    assert logins["direction"] == 1
    assert logins["direction_label"] == "More is better"
