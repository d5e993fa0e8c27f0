"""The journey board: columns per stage, cards by risk, KPIs, playbooks, filters, moving an
account to another stage, roles, HTMX fragments, bad input and bounded queries."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import Account, JourneyStage, Note, StageChange
from healthboard.lib.roles import CSM
from healthboard.pages.journey import selectors as journey
from healthboard.pages.journey import stored
from scoring.models import RunTotal, ScoreRun
from scoring.rollups import snapshots as rollups
from scoring.rollups.totals import run_totals_publish
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    ScoreRunFactory,
    SegmentFactory,
    UserFactory,
)

TODAY = dt.date(2026, 11, 23)
BOARD = reverse("accounts:journey")
# Session, user, role, owners, segments, run, stages, the run's snapshot, the re-scores
# since it (or, without one, the run's scores), the accounts' columns, the cards, the
# permissions can_work_on reads (two) — measured 13; the point: the same at 4 and at 60
# accounts.
# +1: the navigation's count of the user's calls to action due now (every page).
# +3: summed from the run's stored totals, the cells, the days in stage, the cards' accounts
# (read without parallel workers: two more) and the cards take three more than the live
# path's reads.
MAX_QUERIES = 17


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture(autouse=True, params=["live", "stored"])
def board_path(request, monkeypatch) -> str:
    """Every test on both of the board's paths: read live, and summed from the run's stored
    totals (PostgreSQL only), published when the board first reads the run, as the nightly
    run publishes them; the triggers keep them exact through the test's later writes."""
    read = stored.stored_cells
    if request.param == "live":
        monkeypatch.setattr(stored, "stored_cells", lambda **kwargs: None)
    elif connection.vendor != "postgresql":
        pytest.skip("stored totals are kept on PostgreSQL only")
    else:

        def published(*, run, **kwargs):
            if not RunTotal.objects.filter(run=run).exists():
                run_totals_publish(run=run)
            return read(run=run, **kwargs)

        monkeypatch.setattr(stored, "stored_cells", published)
    return request.param


def stage(slug: str) -> JourneyStage:
    return JourneyStage.objects.get(slug=slug)


def scored(score: float | None, *, run=None, band: str | None = None, **fields) -> Account:
    """An active account in a stage with a score in today's done run."""
    fields.setdefault("stage", stage("adoption"))
    account = AccountFactory(**fields)
    extra = {"band": band} if band else {}
    HealthScoreFactory(
        account=account, run=run or ScoreRunFactory(date=TODAY), score=score, **extra
    )
    return account


def column(response, slug: str) -> journey.StageColumn:
    return next(c for c in response.context["columns"] if c.stage.slug == slug)


def card_names(response, slug: str) -> list[str]:
    return [card.account.name for card in column(response, slug).cards]


def notices(response) -> str:
    return " ".join(response.context["notices"])


# ---------------------------------------------------------------- roles and the page


def test_it_sends_anonymous_visitors_to_log_in(client, db) -> None:
    response = client.get(BOARD)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_user_without_a_role_is_refused(client, db) -> None:
    client.force_login(UserFactory())

    assert client.get(BOARD).status_code == 403


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client", "admin_role_client"])
def test_every_role_reads_the_board(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)
    scored(30, name="Acme", stage=stage("renewal"))

    response = client.get(BOARD)

    assert response.status_code == 200
    assert [c.stage.slug for c in response.context["columns"]] == [
        s.slug for s in JourneyStage.objects.order_by("order")
    ]
    assert card_names(response, "renewal") == ["Acme"]
    assert "<h1>Customer journey</h1>" in response.content.decode()


def test_it_waits_for_the_first_run(manager_client) -> None:
    AccountFactory(name="Unscored")

    response = manager_client.get(BOARD)

    assert response.status_code == 200
    assert "Waiting for the first score run" in response.content.decode()
    assert "columns" not in response.context


def test_cards_come_most_at_risk_first_then_lowest_score(manager_client) -> None:
    for name, score, band in [
        ("Green 90", 90, None),
        ("Yellow 60", 60, None),
        ("Red 35", 35, None),
        ("No data", None, "none"),
        ("Red 10", 10, None),
        ("Yellow 45", 45, None),
    ]:
        scored(score, name=name, band=band)

    response = manager_client.get(BOARD)

    assert card_names(response, "adoption") == [
        "Red 10",
        "Red 35",
        "Yellow 45",
        "Yellow 60",
        "No data",
        "Green 90",
    ]


def test_a_card_says_its_band_in_words_and_links_to_the_drilldown(manager_client) -> None:
    late = scored(
        22,
        name="Late Ltd",
        arr=Decimal("120000"),
        stage=stage("onboarding"),  # target 45 days
        stage_since=TODAY - dt.timedelta(days=50),
    )
    scored(80, name="On Time", stage=stage("onboarding"), stage_since=TODAY - dt.timedelta(days=3))

    html = manager_client.get(BOARD).content.decode()

    card = re.search(r'<li class="jb-card jb-card--red">.*?</li>', html, re.S).group(0)
    assert f'href="/accounts/{late.pk}/"' in card
    assert "Late Ltd" in card
    assert 'aria-label="Health: Unhealthy, score 22"' in card
    assert "$120k ARR" in card
    assert "50 days in stage · past target" in card
    assert "3 days in stage</span>" in html


def test_each_stage_has_its_kpis(manager_client) -> None:
    renewal = stage("renewal")  # target 90 days
    for score, days in [(20, 100), (30, 95), (60, 10), (90, 40), (None, 5)]:
        scored(
            score,
            band=None if score is not None else "none",
            stage=renewal,
            stage_since=TODAY - dt.timedelta(days=days),
            arr=Decimal("1000"),
        )

    kpis = column(manager_client.get(BOARD), "renewal")

    assert kpis.n == 5
    assert kpis.arr == Decimal("5000")
    assert kpis.average_score == pytest.approx(50.0)  # (20 + 30 + 60 + 90) / 4 scored
    assert kpis.unhealthy_share == pytest.approx(40.0)  # 2 red of 5
    assert kpis.median_days == 40
    assert kpis.past_target == 2
    assert {b: c.n for b, c in kpis.bands.items()} == {"red": 2, "yellow": 1, "none": 1, "green": 1}


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert journey._weighted_median([(10, 1), (20, 1), (30, 1), (40, 1)]) == 25
    assert journey._weighted_median([(5, 3), (9, 1)]) == 5
    assert journey._weighted_median([]) is None


def test_only_active_accounts_scored_in_the_latest_run_are_on_the_board(manager_client) -> None:
    scored(50, name="Today")
    ScoreRunFactory(date=TODAY)
    old = ScoreRunFactory(date=TODAY - dt.timedelta(days=1))
    scored(50, name="Yesterday only", run=old)
    scored(50, name="Churned", status=Account.Status.CHURNED, churn_date=TODAY)

    response = manager_client.get(BOARD)

    assert card_names(response, "adoption") == ["Today"]
    assert response.context["total"] == 1


def test_a_stage_shows_its_playbook(manager_client) -> None:
    scored(50)
    html = manager_client.get(BOARD).content.decode()

    playbook = re.search(
        r'aria-labelledby="stage-adoption".*?<details class="jb-playbook">(.*?)</details>',
        html,
        re.S,
    ).group(1)
    for practice in stage("adoption").practices():
        assert f"<li>{practice}</li>" in playbook


def test_a_long_column_shows_the_top_cards_and_links_to_the_rest(
    manager_client, monkeypatch
) -> None:
    monkeypatch.setattr(journey, "CARDS_PER_STAGE", 3)
    segment = SegmentFactory(slug="smb")
    for score in (10, 20, 30, 40, 50):
        scored(score, name=f"Score {score}", segment=segment)

    response = manager_client.get(BOARD + "?segment=smb&band=red&band=yellow")

    assert card_names(response, "adoption") == ["Score 10", "Score 20", "Score 30"]
    html = response.content.decode()
    assert "Showing 3 of 5." in html
    link = column(response, "adoption").portfolio_url
    assert link.startswith("/?")
    assert "stage=adoption" in link and "segment=smb" in link and "owner=all" in link
    assert "band=red" in link and "band=yellow" in link
    # The portfolio lists all five.
    portfolio = manager_client.get(link)
    assert portfolio.context["paginator"].count == 5


def test_the_chart_counts_accounts_or_arr_per_band_and_stage(manager_client) -> None:
    scored(20, arr=Decimal("1000"))
    scored(25, arr=Decimal("3000"))
    scored(80, arr=Decimal("5000"), stage=stage("advocacy"))

    accounts = json.loads(manager_client.get(BOARD).context["figure_json"])
    arr = json.loads(manager_client.get(BOARD + "?measure=arr").context["figure_json"])

    red = next(t for t in accounts["data"] if t["name"] == "Unhealthy")
    stages = red["x"]
    assert red["y"][stages.index("Adoption")] == 2
    assert (
        next(t for t in arr["data"] if t["name"] == "Unhealthy")["y"][stages.index("Adoption")]
        == 4000
    )
    assert (
        next(t for t in arr["data"] if t["name"] == "Healthy")["y"][stages.index("Advocacy")]
        == 5000
    )
    assert accounts["layout"]["barmode"] == "stack"


# ---------------------------------------------------------------- filters


def test_a_csm_starts_on_their_book(csm_client, csm_user) -> None:
    scored(30, name="Mine", owner=csm_user)
    scored(30, name="Theirs")

    mine = csm_client.get(BOARD)
    everyone = csm_client.get(BOARD + "?owner=all")

    assert card_names(mine, "adoption") == ["Mine"]
    assert "<strong>Your book</strong>" in mine.content.decode()
    assert sorted(card_names(everyone, "adoption")) == ["Mine", "Theirs"]


def test_filters_by_owner_segment_and_band(manager_client) -> None:
    priya = UserFactory(first_name="Priya", last_name="Raman", role=CSM)
    smb = SegmentFactory(slug="smb")
    scored(30, name="Priya red smb", owner=priya, segment=smb)
    scored(60, name="Priya yellow smb", owner=priya, segment=smb)
    scored(30, name="Priya red enterprise", owner=priya)
    scored(30, name="Other red smb", segment=smb)
    unassigned = scored(30, name="Nobody's", owner=None)

    response = manager_client.get(f"{BOARD}?owner={priya.pk}&segment=smb&band=red")

    assert card_names(response, "adoption") == ["Priya red smb"]
    assert "<strong>Priya Raman’s book</strong>" in response.content.decode()
    none = manager_client.get(f"{BOARD}?owner=none")
    assert card_names(none, "adoption") == [unassigned.name]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("segment=999", "segment “999” (no such segment)"),
        ("band=blue", "band “blue”"),
        ("owner=123456", "owner “123456” (no such owner)"),
        ("measure=pie", "measure “pie”"),
    ],
)
def test_unknown_filter_values_are_ignored_with_a_message(manager_client, query, named) -> None:
    scored(30, name="Still here")

    response = manager_client.get(f"{BOARD}?{query}")

    assert response.status_code == 200
    assert named in notices(response)
    assert card_names(response, "adoption") == ["Still here"]


def test_filters_that_match_nothing_say_so(manager_client) -> None:
    scored(80, name="Green")

    response = manager_client.get(f"{BOARD}?band=red")

    assert "No accounts match these filters" in response.content.decode()
    assert response.context["total"] == 0


def test_the_form_works_without_javascript(manager_client) -> None:
    scored(30)
    html = manager_client.get(f"{BOARD}?segment=enterprise&band=red").content.decode()

    form = re.search(r'<form id="journey-filters".*?</form>', html, re.S).group(0)
    assert 'method="get"' in form and f'action="{BOARD}"' in form
    assert f'hx-get="{BOARD}"' in form
    assert re.search(r'<option value="enterprise" selected>', form)
    assert re.search(r'value="red"[^>]*checked', form)


# ---------------------------------------------------------------- HTMX


def test_htmx_gets_only_the_board(manager_client) -> None:
    scored(30, name="Acme")

    response = manager_client.get(
        f"{BOARD}?band=red", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="journey-filters"
    )

    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="journey-board"')
    assert "Acme" in html
    # The form changed the filters itself: it is not swapped (it would eat the user's input).
    assert 'id="journey-filters"' not in html
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    "headers", [{"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}, {"HTTP_HX_BOOSTED": "true"}]
)
def test_history_restores_and_boosted_requests_get_the_whole_page(manager_client, headers) -> None:
    scored(30)

    response = manager_client.get(f"{BOARD}?band=red", HTTP_HX_REQUEST="true", **headers)

    assert "<html" in response.content.decode()
    # The page and the board share a URL: a cache must tell them apart.
    assert "HX-Request" in response["Vary"]
    assert "HX-Request" in manager_client.get(BOARD)["Vary"]


def test_a_link_that_changes_the_filters_refreshes_the_form_out_of_band(manager_client) -> None:
    scored(30)

    html = manager_client.get(f"{BOARD}?measure=arr", HTTP_HX_REQUEST="true").content.decode()

    assert re.search(r'<form id="journey-filters"[^>]*hx-swap-oob="true"', html, re.S)
    assert 'name="measure" value="arr"' in html


# ---------------------------------------------------------------- moving an account


def move_url(account: Account, query: str = "") -> str:
    url = reverse("accounts:journey_move", args=[account.pk])
    return f"{url}?{query}" if query else url


def test_a_csm_sees_the_move_control_on_their_own_cards_only(csm_client, csm_user) -> None:
    mine = scored(30, name="Mine", owner=csm_user)
    theirs = scored(30, name="Theirs")

    html = csm_client.get(f"{BOARD}?owner=all").content.decode()

    assert f'action="{move_url(mine)}' in html
    assert f'action="{move_url(theirs)}' not in html


def test_a_csm_moves_their_account_and_the_board_refreshes(csm_client, csm_user) -> None:
    account = scored(30, name="Moving Ltd", owner=csm_user, stage=stage("adoption"))

    response = csm_client.post(
        move_url(account, "owner=me"),
        {"stage": stage("value").pk},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Moved Moving Ltd from Adoption to Value realisation." in html
    account.refresh_from_db()
    assert account.stage.slug == "value"
    assert account.stage_since == TODAY
    change = StageChange.objects.get(account=account)
    assert (change.from_stage.slug, change.to_stage.slug, change.changed_by) == (
        "adoption",
        "value",
        csm_user,
    )
    assert Note.objects.filter(account=account, kind=Note.Kind.STAGE_CHANGE).count() == 1
    assert card_names(response, "value") == ["Moving Ltd"]
    assert card_names(response, "adoption") == []


def test_a_csm_cannot_move_someone_elses_account(csm_client) -> None:
    account = scored(30, name="Not Mine")

    response = csm_client.post(move_url(account), {"stage": stage("value").pk})

    assert response.status_code == 403
    assert not StageChange.objects.exists()
    account.refresh_from_db()
    assert account.stage.slug == "adoption"


@pytest.mark.parametrize("client_fixture", ["manager_client", "admin_role_client"])
def test_managers_and_admins_move_any_account(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)
    account = scored(30)

    response = client.post(move_url(account, "owner=all&band=red"), {"stage": stage("renewal").pk})

    # Without JavaScript: back to the same board, with a message.
    assert response.status_code == 302
    assert response.url == f"{BOARD}?owner=all&band=red"
    followed = client.get(response.url)
    assert "Moved" in " ".join(str(m) for m in followed.context["messages"])
    assert StageChange.objects.get(account=account).to_stage.slug == "renewal"


def test_moving_to_the_same_stage_or_an_unknown_one_changes_nothing(manager_client) -> None:
    account = scored(30, name="Stays")

    same = manager_client.post(
        move_url(account), {"stage": stage("adoption").pk}, HTTP_HX_REQUEST="true"
    )
    unknown = manager_client.post(move_url(account), {"stage": 999}, HTTP_HX_REQUEST="true")

    assert "Stays is already in Adoption; nothing changed." in same.content.decode()
    assert "Stays was not moved: Pick one of the listed stages." in unknown.content.decode()
    assert not StageChange.objects.exists()


def test_a_move_from_anywhere_shows_at_once(manager_client) -> None:
    account = scored(30, name="Elsewhere")
    rollups.run_rollup(run=ScoreRun.objects.get(date=TODAY))  # the night's publication
    manager_client.get(BOARD)

    # Moved from the drilldown, not the board: the board still shows it at once.
    services.stage_change(account=account, to_stage=stage("renewal"), user=UserFactory())
    moved = manager_client.get(BOARD)

    assert card_names(moved, "renewal") == ["Elsewhere"]
    assert column(moved, "renewal").n == 1 and column(moved, "adoption").n == 0


def test_moving_needs_a_post(manager_client) -> None:
    account = scored(30)

    assert manager_client.get(move_url(account)).status_code == 405


# ---------------------------------------------------------------- queries


def _board_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{BOARD}?owner=all").status_code == 200
    return len(queries)


def test_the_board_costs_the_same_queries_whatever_the_number_of_accounts(
    csm_client, csm_user, django_assert_max_num_queries
) -> None:
    run = ScoreRunFactory(date=TODAY)
    stages = list(JourneyStage.objects.all())
    for i in range(4):
        scored(10 + i, run=run, owner=csm_user, stage=stages[i % len(stages)])
    _board_queries(csm_client)  # the stored path publishes the run's totals on its first read
    few = _board_queries(csm_client)

    owners = [UserFactory(role=CSM) for _ in range(5)]
    for i in range(60):
        scored(i, run=run, owner=owners[i % 5], stage=stages[i % len(stages)])
    with django_assert_max_num_queries(MAX_QUERIES):
        many = _board_queries(csm_client)

    assert many == few
