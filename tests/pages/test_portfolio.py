"""The portfolio (the home page): roles, filters, sorting, pages, bad input, CSV, queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from healthboard.lib.dates import day_text
from healthboard.lib.roles import CSM
from healthboard.pages.portfolio.selectors import (
    PortfolioFilters,
    portfolio_summary,
    score_runs_for,
    score_sparklines,
)
from healthboard.pages.sparklines import sparkline_svg
from scoring.models import ScoreRun
from scoring.rollups.totals import RunTotal, run_totals_publish
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    JourneyStageFactory,
    ScoreRunFactory,
    SegmentFactory,
    UserFactory,
)

TODAY = dt.date(2026, 11, 22)
WEEK_AGO = TODAY - dt.timedelta(days=7)
HOME = reverse("home")
# Session, user, role, owners, segments, stages, a back-fill under way, runs, the summary and
# the week before's counts, the page's rows, their sparklines (measured: 12), and on
# PostgreSQL two more around the rows in the default order (healthboard.lib.planner). The
# point: the same at 5 and at 60 accounts.
MAX_QUERIES = 15


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC), tick=False)


def scored(score: float | None, *, run=None, band: str | None = None, **account_fields):
    """An account with a score in `run` (today's done run by default)."""
    account = AccountFactory(**account_fields)
    extra = {"band": band} if band else {}
    HealthScoreFactory(
        account=account, run=run or ScoreRunFactory(date=TODAY), score=score, **extra
    )
    return account


def names(response) -> list[str]:
    return [row.name for row in response.context["rows"]]


def get(client, query: str = "", **headers):
    return client.get(f"{HOME}?{query}" if query else HOME, **headers)


def notices(response) -> str:
    return " ".join(response.context["notices"])


# ---------------------------------------------------------------- roles and the page


def test_it_sends_anonymous_visitors_to_log_in(client, db) -> None:
    response = client.get(HOME)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_user_without_a_role_is_refused(client, db) -> None:
    client.force_login(UserFactory())

    assert client.get(HOME).status_code == 403
    assert client.get(reverse("accounts:portfolio_csv")).status_code == 403


def test_a_csm_starts_on_their_book_and_all_accounts_is_one_click_away(
    csm_client, csm_user
) -> None:
    mine = scored(30, owner=csm_user, name="Mine Ltd")
    scored(30, name="Someone Else's Ltd")

    response = get(csm_client)

    assert response.status_code == 200
    assert names(response) == [mine.name]
    html = response.content.decode()
    assert "<strong>Your book</strong>" in html
    toggle = re.search(r'<nav class="pf-toggle".*?</nav>', html, re.S).group(0)
    assert 'href="/?owner=all"' in toggle
    assert 'aria-current="true">My book</a>' in toggle

    everyone = get(csm_client, "owner=all")
    assert sorted(names(everyone)) == ["Mine Ltd", "Someone Else's Ltd"]


def test_a_csm_without_accounts_sees_everyone(csm_client) -> None:
    scored(30, name="Team Account")

    response = get(csm_client)

    assert names(response) == ["Team Account"]
    assert 'class="pf-toggle"' not in response.content.decode()


@pytest.mark.parametrize("client_fixture", ["manager_client", "admin_role_client"])
def test_managers_and_admins_start_on_all_accounts(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)
    scored(30, name="A")
    scored(80, name="B")

    response = get(client)

    assert response.status_code == 200
    assert sorted(names(response)) == ["A", "B"]
    assert "<strong>All accounts</strong>" in response.content.decode()


def test_a_row_shows_everything_a_csm_needs(manager_client) -> None:
    run = ScoreRunFactory(date=TODAY)
    owner = UserFactory(first_name="Priya", last_name="Raman", role=CSM)
    account = AccountFactory(
        name="Globex Corporation",
        external_id="CRM-42",
        owner=owner,
        segment=SegmentFactory(slug="smb"),
        stage=JourneyStageFactory(slug="renewal"),
        arr=Decimal("120000"),
        renewal_date=TODAY + dt.timedelta(days=41),
    )
    HealthScoreFactory(account=account, run=run, score=34.6, coverage=0.8, delta_7d=-6.25)
    for days in range(1, 30):
        day = ScoreRunFactory(date=TODAY - dt.timedelta(days=days))
        HealthScoreFactory(account=account, run=day, score=60 - days)

    html = get(manager_client).content.decode()

    row = re.search(r"<tbody>.*?</tbody>", html, re.S).group(0)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
    for expected in (
        "Globex Corporation",
        "CRM-42",
        "Priya Raman",
        "SMB",
        "Renewal",
        "$120k",
        "2 Jan 2027",
        "in 41 days",
        "Unhealthy",
        "35",
        "▼ −6.2",
        "80%",
    ):
        assert expected in text, expected
    assert f'href="/accounts/{account.pk}/"' in row
    assert 'aria-label="Health: Unhealthy, score 35"' in row
    # The sparkline: one line over the month, drawn on the server.
    assert re.search(r'<svg class="spark spark-red".*?<polyline points="[\d., ]+"', row)
    assert 'aria-label="Score over 30 days: from 31 to 35"' in row


# ---------------------------------------------------------------- HTMX


def test_an_htmx_request_gets_the_table_and_the_summary_out_of_band(manager_client) -> None:
    scored(30)

    response = get(manager_client, "band=red", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="portfolio-table"')
    assert re.search(r'<section id="portfolio-summary"[^>]*hx-swap-oob="true"', html)
    # A link changed the filters: the form follows, so it says what the table shows.
    assert re.search(r'<form id="portfolio-filters"[^>]*hx-swap-oob="true"', html)
    assert "HX-Request" in response["Vary"]


def test_the_form_is_left_alone_when_it_sent_the_request(manager_client) -> None:
    scored(30)

    response = get(
        manager_client, "q=acc", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="portfolio-filters"
    )

    html = response.content.decode()
    assert 'id="portfolio-table"' in html
    assert "<form" not in html


@pytest.mark.parametrize(
    "headers", [{"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}, {"HTTP_HX_BOOSTED": "true"}]
)
def test_history_restores_and_boosted_requests_get_the_whole_page(manager_client, headers) -> None:
    scored(30)

    response = get(manager_client, "band=red", HTTP_HX_REQUEST="true", **headers)

    assert "<html" in response.content.decode()
    # The page and the fragment share a URL: a cache must tell them apart.
    assert "HX-Request" in response["Vary"]


def test_the_whole_page_says_it_varies_with_hx_request(manager_client) -> None:
    scored(30)

    assert "HX-Request" in get(manager_client)["Vary"]


def test_the_filter_form_is_a_real_get_form_that_htmx_enhances(manager_client) -> None:
    scored(30)

    html = get(manager_client).content.decode()

    form = re.search(r"<form id=\"portfolio-filters\"[^>]*>", html).group(0)
    assert 'method="get"' in form
    assert 'action="/"' in form
    assert 'hx-get="/"' in form
    assert "keyup changed delay:300ms from:input[type=search]" in form
    container = re.search(r'<div class="portfolio"[^>]*>', html).group(0)
    assert 'hx-target="#portfolio-table"' in container
    assert 'hx-push-url="true"' in container
    assert 'hx-history="false"' in container
    # Links work without JavaScript too.
    for link in re.findall(r"<a [^>]*hx-get=[^>]*>", html):
        assert " href=" in link, link


# ---------------------------------------------------------------- filters


@pytest.fixture
def book(csm_user):
    """A small portfolio: the CSM's accounts and a colleague's, in every band."""
    colleague = UserFactory(username="colleague", role=CSM)
    smb, enterprise = SegmentFactory(slug="smb"), SegmentFactory(slug="enterprise")
    adoption, renewal = JourneyStageFactory(slug="adoption"), JourneyStageFactory(slug="renewal")
    soon, later = TODAY + dt.timedelta(days=20), TODAY + dt.timedelta(days=200)
    rows = [
        # name, owner, segment, stage, score, delta, renewal, external id
        ("Red Mine", csm_user, smb, adoption, 20, -12.0, soon, "CRM-R1"),
        ("Red Theirs", colleague, enterprise, renewal, 25, -3.0, later, "CRM-R2"),
        ("Yellow Mine", csm_user, enterprise, renewal, 55, 10.0, later, "CRM-Y1"),
        ("Green Mine", csm_user, smb, adoption, 85, 1.0, soon, "CRM-G1"),
        ("Green Theirs", colleague, smb, renewal, 90, None, None, "ACME-77"),
        ("Grey Unassigned", None, smb, adoption, None, None, later, "CRM-N1"),
    ]
    run = ScoreRunFactory(date=TODAY)
    for name, owner, segment, stage, score, delta, renewal_date, external_id in rows:
        account = AccountFactory(
            name=name,
            owner=owner,
            segment=segment,
            stage=stage,
            renewal_date=renewal_date,
            external_id=external_id,
        )
        HealthScoreFactory(account=account, run=run, score=score, delta_7d=delta)
    return {"colleague": colleague}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("owner=all&band=red", {"Red Mine", "Red Theirs"}),
        ("owner=all&band=red&band=none", {"Red Mine", "Red Theirs", "Grey Unassigned"}),
        ("band=red", {"Red Mine"}),
        ("owner=me", {"Red Mine", "Yellow Mine", "Green Mine"}),
        ("owner=none", {"Grey Unassigned"}),
        ("owner=all&segment=enterprise", {"Red Theirs", "Yellow Mine"}),
        ("owner=all&stage=renewal", {"Red Theirs", "Yellow Mine", "Green Theirs"}),
        ("owner=all&renewal=30", {"Red Mine", "Green Mine"}),
        ("owner=all&moved=10", {"Red Mine", "Yellow Mine"}),
        ("owner=all&moved=3", {"Red Mine", "Red Theirs", "Yellow Mine"}),
        ("owner=all&q=mine", {"Red Mine", "Yellow Mine", "Green Mine"}),
        ("owner=all&q=acme-7", {"Green Theirs"}),
        ("owner=all&q=RED", {"Red Mine", "Red Theirs"}),
        ("owner=all&band=green&segment=smb&stage=adoption&renewal=30", {"Green Mine"}),
    ],
)
def test_each_filter(csm_client, book, query: str, expected: set[str]) -> None:
    response = get(csm_client, query)

    assert response.status_code == 200
    assert set(names(response)) == expected
    assert response.context["paginator"].count == len(expected)
    assert notices(response) == ""


def test_the_owner_filter_takes_a_user_id(csm_client, book) -> None:
    colleague = book["colleague"]

    response = get(csm_client, f"owner={colleague.pk}")

    assert set(names(response)) == {"Red Theirs", "Green Theirs"}
    assert f"<strong>{colleague.get_full_name()}’s book</strong>" in response.content.decode()


def test_the_form_shows_what_is_applied(csm_client, book) -> None:
    html = get(csm_client, "owner=all&band=red&band=yellow&segment=smb&q=mine").content.decode()

    assert re.search(r'<input type="checkbox" name="band" value="red"[^>]* checked', html)
    assert re.search(r'<input type="checkbox" name="band" value="yellow"[^>]* checked', html)
    assert not re.search(r'<input type="checkbox" name="band" value="green"[^>]* checked', html)
    assert re.search(r'<option value="smb" selected>', html)
    assert re.search(r'<option value="all" selected>', html)
    assert 'name="q" value="mine"' in html


def test_the_weekly_reviews_transition_link_lists_exactly_those_accounts(manager_client) -> None:
    """`?date=D&prev_band=red&band=yellow&owner=all`: yellow on D, red on D−7."""
    day, week_before = TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=9)
    then, now = ScoreRunFactory(date=week_before), ScoreRunFactory(date=day)
    ScoreRunFactory(date=TODAY)  # a later run: the link asks for D, not the latest
    transitions = {"Recovering": (20, 55), "Still red": (20, 25), "Slipping": (80, 55)}
    for name, (before, after) in transitions.items():
        account = AccountFactory(name=name)
        HealthScoreFactory(account=account, run=then, score=before)
        HealthScoreFactory(account=account, run=now, score=after)
    # Yellow on D but not scored on D−7 (a new account): not a transition from red.
    HealthScoreFactory(account=AccountFactory(name="New"), run=now, score=50)

    response = get(manager_client, f"date={day}&prev_band=red&band=yellow&owner=all")

    assert names(response) == ["Recovering"]
    assert response.context["runs"].run == now
    assert response.context["runs"].week_before == then
    html = response.content.decode()
    assert "Only accounts that were <strong>Unhealthy</strong>" in html
    assert "on 13 Nov 2026" in html
    # The links of the page keep the contract's parameters.
    assert f"date={day}" in response.context["export_url"]
    assert "prev_band=red" in response.context["export_url"]


def test_a_date_shows_that_days_run(manager_client) -> None:
    old = ScoreRunFactory(date=TODAY - dt.timedelta(days=3))
    account = AccountFactory(name="Dated")
    HealthScoreFactory(account=account, run=old, score=20)
    HealthScoreFactory(account=account, run=ScoreRunFactory(date=TODAY), score=80)

    response = get(manager_client, f"date={old.date}")

    assert response.context["rows"][0].band == "red"
    assert "scores of Thursday 19 November 2026" in response.content.decode()
    assert notices(response) == ""


# ---------------------------------------------------------------- summary strip


def test_the_summary_counts_accounts_arr_and_change_since_last_week(manager_client) -> None:
    before, now = ScoreRunFactory(date=WEEK_AGO), ScoreRunFactory(date=TODAY)
    # (score a week ago, score now, ARR)
    for then_score, now_score, arr in [
        (80, 80, "100000"),
        (80, 20, "50000"),
        (50, 20, "25000"),
        (None, 55, "10000"),
    ]:
        account = AccountFactory(arr=Decimal(arr))
        HealthScoreFactory(account=account, run=before, score=then_score)
        HealthScoreFactory(account=account, run=now, score=now_score)

    response = get(manager_client)

    summary = {row["band"]: row for row in response.context["summary"]["rows"]}
    assert {band: (row["n"], row["arr"]) for band, row in summary.items()} == {
        "green": (1, Decimal("100000")),
        "yellow": (1, Decimal("10000")),
        "red": (2, Decimal("75000")),
        "none": (0, Decimal("0")),
    }
    assert {band: row["change"] for band, row in summary.items()} == {
        "green": -1,
        "yellow": 0,
        "red": 2,
        "none": -1,
    }
    html = response.content.decode()
    assert "▲</span> +2 this week" in html
    assert "change since 15 Nov" in html


def test_last_weeks_counts_follow_the_same_filters(manager_client, csm_user) -> None:
    before, now = ScoreRunFactory(date=WEEK_AGO), ScoreRunFactory(date=TODAY)
    for then_score, now_score in [(80, 20), (80, 80), (20, 20)]:
        account = AccountFactory(owner=csm_user)
        HealthScoreFactory(account=account, run=before, score=then_score)
        HealthScoreFactory(
            account=account, run=now, score=now_score, delta_7d=now_score - then_score
        )
    # Churned during the week: in last week's portfolio, not in this week's.
    gone = AccountFactory(owner=csm_user, status=Account.Status.CHURNED)
    HealthScoreFactory(account=gone, run=before, score=20)
    # Someone else's account does not count in this book, either week.
    HealthScoreFactory(account=AccountFactory(), run=before, score=20)

    book = get(manager_client, f"owner={csm_user.pk}").context["summary"]["rows"]
    movers = get(manager_client, f"owner={csm_user.pk}&moved=10").context["summary"]["rows"]

    assert {r["band"]: (r["n"], r["week_before"]) for r in book if r["band"] != "none"} == {
        "green": (1, 2),
        "yellow": (0, 0),
        "red": (2, 2),
    }
    # Picked by this week's scores (moved 60 points): the same account a week before.
    assert {
        r["band"]: (r["n"], r["week_before"]) for r in movers if r["n"] or r["week_before"]
    } == {
        "green": (0, 1),
        "red": (1, 0),
    }


def test_the_summary_follows_the_filters_but_lists_every_band(manager_client, book) -> None:
    response = get(manager_client, "owner=all&band=red&segment=smb")

    summary = {row["band"]: row["n"] for row in response.context["summary"]["rows"]}
    assert summary == {"green": 2, "yellow": 0, "red": 1, "none": 1}
    red = next(row for row in response.context["summary"]["rows"] if row["band"] == "red")
    assert red["selected"]
    # Picking a band in the strip is a filter; picking it again drops it.
    assert "band=" not in red["url"]
    green = next(row for row in response.context["summary"]["rows"] if row["band"] == "green")
    assert "band=green" in green["url"] and "segment=smb" in green["url"]
    assert response.context["paginator"].count == 1


def test_without_a_run_a_week_before_the_change_is_left_out(manager_client) -> None:
    scored(30)

    response = get(manager_client)

    assert response.context["summary"]["compared"] is False
    assert "no scores a week earlier to compare with" in response.content.decode()


# ---------------------------------------------------------------- sorting and pages


@pytest.fixture
def sortable(db):
    run = ScoreRunFactory(date=TODAY)
    people = {n: UserFactory(first_name=n, last_name="X", role=CSM) for n in ("Ann", "Bob")}
    rows = [
        # name, owner, segment, stage, ARR, renewal in days, score, delta, coverage
        ("Bravo", "Bob", "smb", "adoption", 30, 50, 50.0, -5.0, 0.9),
        ("Alpha", "Ann", "enterprise", "renewal", 10, 10, 80.0, 2.0, 0.6),
        ("Charlie", "Ann", "mid-market", "onboarding", 20, None, None, None, 0.3),
        ("Delta", "Bob", "smb", "adoption", 40, 90, 20.0, -9.0, 1.0),
    ]
    for name, owner, segment, stage, arr, renewal, score, delta, coverage in rows:
        account = AccountFactory(
            name=name,
            owner=people[owner],
            segment=SegmentFactory(slug=segment),
            stage=JourneyStageFactory(slug=stage),
            arr=Decimal(arr * 1000),
            renewal_date=TODAY + dt.timedelta(days=renewal) if renewal is not None else None,
        )
        HealthScoreFactory(account=account, run=run, score=score, delta_7d=delta, coverage=coverage)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["Delta", "Bravo", "Alpha", "Charlie"]),  # lowest score first, no score last
        ("score", ["Delta", "Bravo", "Alpha", "Charlie"]),
        ("-score", ["Alpha", "Bravo", "Delta", "Charlie"]),
        ("name", ["Alpha", "Bravo", "Charlie", "Delta"]),
        ("-name", ["Delta", "Charlie", "Bravo", "Alpha"]),
        ("-arr", ["Delta", "Bravo", "Charlie", "Alpha"]),
        ("arr", ["Alpha", "Charlie", "Bravo", "Delta"]),
        ("renewal", ["Alpha", "Bravo", "Delta", "Charlie"]),
        ("delta", ["Delta", "Bravo", "Alpha", "Charlie"]),
        ("-delta", ["Alpha", "Bravo", "Delta", "Charlie"]),
        ("coverage", ["Charlie", "Alpha", "Bravo", "Delta"]),
        ("owner", ["Alpha", "Charlie", "Bravo", "Delta"]),
        ("segment", ["Alpha", "Charlie", "Bravo", "Delta"]),
        ("stage", ["Charlie", "Bravo", "Delta", "Alpha"]),
    ],
)
def test_sorting_by_each_column(manager_client, sortable, sort: str, expected) -> None:
    response = get(manager_client, f"sort={sort}" if sort else "")

    assert names(response) == expected


def test_a_column_heading_sorts_and_then_reverses(manager_client, sortable) -> None:
    columns = {c["key"]: c for c in get(manager_client, "sort=name").context["columns"]}

    assert columns["name"]["aria_sort"] == "ascending"
    assert "sort=-name" in columns["name"]["url"]
    # First clicks put what needs attention first.
    assert "sort=-arr" in columns["arr"]["url"]
    assert "sort=renewal" in columns["renewal"]["url"]


@pytest.fixture
def many(db):
    run = ScoreRunFactory(date=TODAY)
    for i in range(120):
        HealthScoreFactory(account=AccountFactory(name=f"Account {i:03d}"), run=run, score=i / 2)


def test_pages_of_fifty(manager_client, many) -> None:
    first, third = get(manager_client), get(manager_client, "page=3")

    assert len(first.context["rows"]) == 50
    assert names(third) == [f"Account {i:03d}" for i in range(100, 120)]
    assert "Page 3 of 3" in third.content.decode()
    assert third.context["previous_url"] == "/?owner=all&page=2"


def test_a_page_past_the_end_shows_the_last_page(manager_client, many) -> None:
    response = get(manager_client, "page=9999")

    assert response.status_code == 200
    assert response.context["page"].number == 3
    assert "There is no page 9999: showing the last page (3)." in notices(response)


def test_a_page_that_is_not_a_number_shows_the_first(manager_client, many) -> None:
    response = get(manager_client, "page=abc")

    assert response.context["page"].number == 1
    assert "“abc” is not a page number: showing page 1." in notices(response)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("band=purple", "band “purple” (the bands are green, yellow, red, none)"),
        ("prev_band=blue", "prev_band “blue”"),
        ("date=2026-13-45", "date “2026-13-45” (not a date; use YYYY-MM-DD)"),
        ("renewal=-3", "renewal “-3” (must be 0 days or more)"),
        ("renewal=soon", "renewal “soon” (not a whole number of days)"),
        ("moved=lots", "moved “lots” (not a number of points)"),
        ("sort=colour", "sort “colour” (not a column to sort by)"),
        ("segment=galactic", "segment “galactic” (no such segment)"),
        ("stage=nirvana", "stage “nirvana” (no such journey stage)"),
        ("owner=99999", "owner “99999” (no such owner)"),
    ],
)
def test_unknown_values_are_ignored_and_named(manager_client, query: str, message: str) -> None:
    scored(30, name="Still listed")

    response = get(manager_client, query, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert names(response) == ["Still listed"]
    assert message in notices(response)
    assert "Ignored" in response.content.decode()


def test_known_values_apply_next_to_ignored_ones(manager_client) -> None:
    scored(20, name="Red")
    scored(80, name="Green")

    response = get(manager_client, "band=red&band=purple&owner=all")

    assert names(response) == ["Red"]
    assert "purple" in notices(response)
    # Links carry what was applied, not what was ignored.
    assert "purple" not in response.context["export_url"]
    assert "band=red" in response.context["export_url"]


def test_a_date_without_scores_falls_back_to_the_latest(manager_client) -> None:
    scored(30, name="Latest")

    response = get(manager_client, "date=2020-01-01")

    assert names(response) == ["Latest"]
    assert "There are no scores for 1 January 2020: showing the latest instead." in notices(
        response
    )
    assert "date=" not in response.context["export_url"]


# ---------------------------------------------------------------- CSV export


def test_the_csv_has_exactly_the_filtered_rows_of_every_page(manager_client, many) -> None:
    query = "band=yellow&sort=-score"

    response = manager_client.get(f"{reverse('accounts:portfolio_csv')}?{query}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="portfolio-2026-11-22.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Name",
        "External id",
        "Owner",
        "Segment",
        "Stage",
        "ARR",
        "Renewal date",
        "Score",
        "Health",
        "7-day change",
        "Coverage %",
    ]
    # Scores 40–69.5 are yellow: accounts 80–119, highest first; more than one page.
    assert [row[0] for row in rows[1:]] == [f"Account {i:03d}" for i in range(119, 79, -1)]
    assert {row[8] for row in rows[1:]} == {"At risk"}
    assert rows[1][7] == "59.5"


def test_the_export_link_keeps_the_filters(manager_client, book) -> None:
    html = get(manager_client, "owner=all&band=red&page=1").content.decode()

    assert 'href="/accounts/export.csv?band=red&amp;owner=all"' in html


def test_the_csv_defuses_spreadsheet_formulas(manager_client) -> None:
    scored(
        30,
        name="=HYPERLINK(evil)",
        external_id="@SUM(1)",
        segment=SegmentFactory(slug="evil", name='=HYPERLINK("http://x","seg")'),
        stage=JourneyStageFactory(slug="evil", name="+cmd|' /C calc'!A0"),
        owner=UserFactory(first_name="-2+3", last_name="", role=CSM),
    )

    response = manager_client.get(f"{reverse('accounts:portfolio_csv')}?owner=all")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][:5] == [
        "'=HYPERLINK(evil)",
        "'@SUM(1)",
        "'-2+3",
        '\'=HYPERLINK("http://x","seg")',
        "'+cmd|' /C calc'!A0",
    ]


# ---------------------------------------------------------------- empty states


def test_before_the_first_run(manager_client) -> None:
    AccountFactory()
    ScoreRunFactory(date=TODAY, status="running")

    html = get(manager_client).content.decode()

    assert "Waiting for the first score run" in html
    assert "python manage.py recompute_scores" in html
    assert "<table" not in html


def test_no_account_matches_the_filters(csm_client, csm_user) -> None:
    scored(80, owner=csm_user)

    response = get(csm_client, "band=red")

    html = response.content.decode()
    assert "No accounts match these filters" in html
    assert '<a href="/" hx-get="/">Clear filters</a>' in html
    assert "look in all accounts" in html
    assert "<table" not in html


# ---------------------------------------------------------------- stored totals (PostgreSQL)


@pytest.fixture
def published(csm_user):
    """Last week's and this week's runs, published with their totals: two books, an
    unassigned account, two segments, and an account that churned after today's run."""
    colleague = UserFactory(role=CSM)
    smb, enterprise = SegmentFactory(slug="smb"), SegmentFactory(slug="enterprise")
    before, now = ScoreRunFactory(date=WEEK_AGO), ScoreRunFactory(date=TODAY)
    rows = [
        # owner, segment, score a week ago, score today, status
        (csm_user, smb, 80, 20, Account.Status.ACTIVE),
        (csm_user, enterprise, 55, 85, Account.Status.ACTIVE),
        (colleague, smb, 20, 25, Account.Status.ACTIVE),
        (None, enterprise, None, 60, Account.Status.ACTIVE),
        (colleague, enterprise, 75, 35, Account.Status.ACTIVE),
        (csm_user, smb, 20, 30, Account.Status.CHURNED),
    ]
    for i, (owner, segment, then, score, status) in enumerate(rows):
        account = AccountFactory(
            name=f"Published {i}",
            owner=owner,
            segment=segment,
            status=status,
            arr=Decimal(10_000 * (i + 1)),
            renewal_date=TODAY + dt.timedelta(days=15 * (i + 1)),
        )
        HealthScoreFactory(account=account, run=before, score=then)
        delta = None if then is None else score - then
        HealthScoreFactory(account=account, run=now, score=score, delta_7d=delta)
    run_totals_publish(run=before)
    run_totals_publish(run=now)
    return {"colleague": colleague, "smb": smb}


def _figures(response) -> tuple:
    """What the page shows that the totals feed: the strip, the rows, the page count."""
    summary = response.context["summary"]
    strip = [(r["band"], r["n"], r["arr"], r["week_before"], r["change"]) for r in summary["rows"]]
    return strip, summary["n"], summary["arr"], names(response), response.context["paginator"].count


def _counted_live(queries) -> bool:
    return any("scoring_healthscore" in q["sql"] and "GROUP BY" in q["sql"] for q in queries)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ("owner=all", True),
        ("owner=all&band=red", True),
        ("owner=none", True),
        ("owner=all&segment=smb", True),
        ("owner=all&segment=enterprise&band=yellow&band=red&sort=-arr", True),
        ("owner=all&stage=adoption", True),
        ("owner=all&stage=renewal&segment=smb", True),
        # Filters a stored cell does not know are counted live, totals or not.
        ("owner=all&renewal=40", False),
        ("owner=all&moved=10", False),
        ("owner=all&prev_band=green", False),
        ("owner=all&q=Published 1", False),
    ],
)
def test_stored_totals_show_what_the_live_count_shows(
    manager_client, published, query: str, stored: bool
) -> None:
    JourneyStageFactory(slug="adoption")
    JourneyStageFactory(slug="renewal")
    with CaptureQueriesContext(connection) as queries:
        from_totals = _figures(get(manager_client, query))
    assert _counted_live(queries) is not stored

    RunTotal.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        live = _figures(get(manager_client, query))
    assert _counted_live(queries)

    assert from_totals == live


@pytest.mark.postgres
def test_a_csms_book_from_stored_totals(csm_client, csm_user, published) -> None:
    from_totals = _figures(get(csm_client))
    RunTotal.objects.all().delete()

    assert from_totals == _figures(get(csm_client))
    # The churned account is in last week's count, not in this week's.
    strip = {band: (n, week_before) for band, n, _, week_before, _ in from_totals[0]}
    assert strip["red"] == (1, 1)


@pytest.mark.postgres
def test_stored_totals_replace_two_counting_queries_by_one(manager_client, published) -> None:
    with CaptureQueriesContext(connection) as stored:
        get(manager_client, "owner=all")
    RunTotal.objects.all().delete()
    with CaptureQueriesContext(connection) as live:
        get(manager_client, "owner=all")

    assert len(stored) == len(live) - 1
    assert not _counted_live(stored)


@pytest.mark.postgres
def test_the_strip_follows_a_reassignment_at_once(manager_client, csm_user, published) -> None:
    Account.objects.filter(owner=csm_user).update(owner=published["colleague"])
    query = f"owner={published['colleague'].pk}"

    from_totals = _figures(get(manager_client, query))
    RunTotal.objects.all().delete()

    assert from_totals == _figures(get(manager_client, query))
    assert from_totals[1] == 4  # the colleague's two and the CSM's two active accounts


# ---------------------------------------------------------------- queries


def _portfolio_at(size: int) -> None:
    before, now = ScoreRunFactory(date=WEEK_AGO), ScoreRunFactory(date=TODAY)
    owners = [UserFactory(role=CSM) for _ in range(3)]
    for i in range(size):
        account = AccountFactory(owner=owners[i % 3])
        HealthScoreFactory(account=account, run=before, score=i % 100)
        HealthScoreFactory(account=account, run=now, score=(i * 7) % 100, delta_7d=1.0)


@pytest.mark.parametrize(
    "query",
    ["", "band=red&segment=enterprise&sort=-arr", "date=2026-11-22&prev_band=red&page=2"],
)
def test_the_number_of_queries_does_not_grow_with_the_accounts(
    manager_client, django_assert_max_num_queries, query: str
) -> None:
    counts = []
    for size in (5, 60):
        _portfolio_at(size)
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            with CaptureQueriesContext(connection) as queries:
                with django_assert_max_num_queries(MAX_QUERIES):
                    assert get(manager_client, query, **headers).status_code == 200
            counts.append(len(queries))
        Account.objects.all().delete()
    assert counts[:2] == counts[2:]


def test_the_csv_export_streams_in_a_bounded_number_of_queries(
    manager_client, django_assert_max_num_queries
) -> None:
    _portfolio_at(60)

    with django_assert_max_num_queries(MAX_QUERIES):
        response = manager_client.get(reverse("accounts:portfolio_csv"))
        lines = b"".join(response.streaming_content).decode().splitlines()

    assert len(lines) == 61


def test_the_selectors_read_one_query_each(db, django_assert_num_queries) -> None:
    account = scored(30)

    with django_assert_num_queries(1):
        runs = score_runs_for()
    # One query, and one more for last week's counts when there is a run a week before.
    with django_assert_num_queries(1):
        summary = portfolio_summary(runs=runs, filters=PortfolioFilters(), today=TODAY)
    with django_assert_num_queries(1):
        history = score_sparklines(account_ids=[account.pk], until=TODAY)

    assert summary["n"] == 1
    assert history[account.pk] == [None] * 29 + [30.0]


def test_the_sparkline_leaves_gaps_and_scales_small_wobbles_gently() -> None:
    flat = sparkline_svg([50.0, 51.0, None, 50.0, 50.5, None, 50.0])
    # Two lines around the gap; the lone last day is only the end dot.
    assert flat.count("<polyline") == 2
    assert 'aria-label="Score over 7 days: from 50 to 50"' in flat
    ys = [float(p.split(",")[1]) for p in re.findall(r"[\d.]+,[\d.]+", flat)]
    assert max(ys) - min(ys) < 3  # a 1-point wobble in a 24-px line
    assert "No scores" in sparkline_svg([None, None])


def _back_fill_at(day: dt.date, first: dt.date, published: list[dt.date]) -> None:
    """A back-fill from `first` to today scoring `day` now, with `published` days done."""
    for done in published:
        ScoreRunFactory(date=done)
    ScoreRun.objects.create(
        date=day,
        trigger="backfill",
        status=ScoreRun.Status.RUNNING,
        reference={"backfill": [first.isoformat(), TODAY.isoformat()]},
    )


def test_a_back_fill_under_way_is_told_with_how_far_it_is(
    manager_client, django_assert_max_num_queries
) -> None:
    scored(70.0)
    first = TODAY - dt.timedelta(days=364)
    _back_fill_at(first + dt.timedelta(days=2), first, [first, first + dt.timedelta(days=1)])

    with django_assert_max_num_queries(MAX_QUERIES):
        response = get(manager_client)

    assert (
        "History is being filled in: 3 of 365 days scored so far, now at "
        f"{day_text(first + dt.timedelta(days=2))}." in notices(response)
    )
    # The table's own requests say it too: it is where the notices are shown.
    assert "History is being filled in" in notices(get(manager_client, HTTP_HX_REQUEST="true"))


def test_no_back_fill_or_an_abandoned_one_is_not_mentioned(manager_client) -> None:
    scored(70.0)
    assert "History" not in notices(get(manager_client))
    first = TODAY - dt.timedelta(days=30)
    _back_fill_at(first, first, [])
    # Its worker died: nothing has moved it for longer than a run may stall.
    ScoreRun.objects.filter(trigger="backfill").update(
        heartbeat_at=timezone.now() - ScoreRun.STALE_AFTER - dt.timedelta(minutes=1)
    )
    assert "History" not in notices(get(manager_client))
