"""The managers' weekly review: which week, band transitions (and their portfolio links),
movers and what moved them, ARR at risk, renewals and their forecast, each CSM's book,
exports, roles, HTMX fragments, bad input and bounded queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account
from healthboard.bench.pages import rollup_missing
from healthboard.lib.roles import CSM
from healthboard.pages.weekly import selectors as weekly
from scoring.models import HealthScore, RunWeek, ScorecardVersion, ScoreRun
from scoring.rollups.snapshots import RunSnapshot
from scoring.rollups.weeks import weeks_keep
from scoring.specs import version_config, versions_queryset
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    HealthScoreFactory,
    ScoreRunFactory,
    UserFactory,
)

TODAY = dt.date(2026, 11, 23)  # a Monday
SUNDAY = dt.date(2026, 11, 22)  # the week just ended
BEFORE = SUNDAY - dt.timedelta(days=7)
WEEKLY = reverse("scoring:weekly")
# Session, user, the permission check (two), role, the run span, the runs, the band
# history (the runs with their totals), the kept week (none: both runs' snapshots and the
# accounts' columns; else its cells and the movers' changes), the movers' snapshots, their
# versions (three), metric units, churn (three), owners, overdue calls to action per CSM,
# the navigation's count of calls to action — measured 23 with movers after the runs'
# publication, either way; the point: the same at 4 and at 60 accounts.
MAX_QUERIES = 23


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False)


def run_on(day: dt.date) -> ScoreRun:
    return ScoreRunFactory(date=day)


def snap(account: Account, day: dt.date, score: float | None, **fields) -> HealthScore:
    if score is None:
        fields.setdefault("band", "none")
    return HealthScoreFactory(account=account, run=run_on(day), score=score, **fields)


def weekly_of(account_scores: dict[str, tuple], **account_fields) -> dict[str, Account]:
    """Accounts named by key with a score on BEFORE and on SUNDAY (None: not scored)."""
    accounts = {}
    for name, (before, now) in account_scores.items():
        account = AccountFactory(name=name, **account_fields)
        if before is not False:
            snap(account, BEFORE, before)
        if now is not False:
            snap(account, SUNDAY, now)
        accounts[name] = account
    return accounts


def notices(response) -> str:
    return " ".join(response.context["notices"])


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ---------------------------------------------------------------- roles


def test_it_sends_anonymous_visitors_to_log_in(client, db) -> None:
    response = client.get(WEEKLY)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_csm_cannot_open_the_weekly_review(csm_client) -> None:
    assert csm_client.get(WEEKLY).status_code == 403
    assert csm_client.get(f"{WEEKLY}?export=movers").status_code == 403
    assert csm_client.get(WEEKLY, HTTP_HX_REQUEST="true").status_code == 403


def test_a_user_without_a_role_cannot_either(client, db) -> None:
    client.force_login(UserFactory())

    assert client.get(WEEKLY).status_code == 403


@pytest.mark.parametrize("client_fixture", ["manager_client", "admin_role_client"])
def test_managers_and_admins_open_the_review(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)
    weekly_of({"Acme": (50, 30)})

    response = client.get(WEEKLY)

    assert response.status_code == 200
    assert "<h1>Weekly review</h1>" in response.content.decode()


def test_it_waits_for_the_first_run(manager_client) -> None:
    response = manager_client.get(WEEKLY)

    assert response.status_code == 200
    assert "Waiting for the first score run" in response.content.decode()


# ---------------------------------------------------------------- which week


def test_the_default_is_the_week_just_ended_against_the_week_before(manager_client) -> None:
    weekly_of({"Acme": (50, 30)})
    snap(AccountFactory(), TODAY, 40)  # today's run is not part of last week

    response = manager_client.get(WEEKLY)

    runs = response.context["runs"]
    assert (runs.week_end, runs.end.date, runs.previous.date) == (SUNDAY, SUNDAY, BEFORE)
    text = text_of(response.content.decode())
    assert re.search(
        r"Week ending Sunday 22 November 2026\s*: scores of Sun 22 Nov 2026 compared with "
        r"Sun 15 Nov 2026",
        text,
    )
    assert re.search(
        r'<option value="2026-11-22" selected>16 Nov – 22 Nov 2026 \(last week\)</option>',
        response.content.decode(),
    )


def test_a_week_without_a_sunday_run_ends_on_its_last_day_with_scores(manager_client) -> None:
    friday = SUNDAY - dt.timedelta(days=2)
    account = AccountFactory()
    snap(account, friday, 30)
    snap(account, friday - dt.timedelta(days=7), 60)

    runs = manager_client.get(WEEKLY).context["runs"]

    assert (runs.end.date, runs.previous.date, runs.exact) == (
        friday,
        friday - dt.timedelta(days=7),
        True,
    )


def test_any_day_picks_its_week(manager_client) -> None:
    account = AccountFactory()
    snap(account, BEFORE, 50)
    snap(account, BEFORE - dt.timedelta(days=7), 70)
    snap(account, SUNDAY, 40)

    response = manager_client.get(f"{WEEKLY}?week=2026-11-11")  # a Wednesday

    runs = response.context["runs"]
    assert (runs.week_end, runs.end.date) == (BEFORE, BEFORE)
    assert response.context["later_url"] == f"{WEEKLY}?week=2026-11-22"


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("week=garbage", "week “garbage” (not a date; use YYYY-MM-DD)"),
        ("week=2026-02-30", "week “2026-02-30” (not a date; use YYYY-MM-DD)"),
        ("week=2019-01-06", "There are no scores for the week ending 6 January 2019"),
        ("week=2026-12-01", "week “2026-12-01” (that week has not begun)"),
        ("week=9999-12-31", "week “9999-12-31” (that week has not begun)"),
        ("week=0001-01-01", "There are no scores for the week ending 7 January 1"),
        ("measure=pie", "measure “pie” (use accounts or arr)"),
        ("export=pdf", "export “pdf” (use movers or csms)"),
    ],
)
def test_bad_input_falls_back_to_the_default_with_a_message(manager_client, query, named) -> None:
    weekly_of({"Acme": (50, 30)})

    response = manager_client.get(f"{WEEKLY}?{query}")

    assert response.status_code == 200
    assert named in notices(response)
    assert response.context["runs"].end.date == SUNDAY


def test_only_this_weeks_scores_show_this_week_so_far(manager_client) -> None:
    snap(AccountFactory(), TODAY, 40)

    response = manager_client.get(WEEKLY)

    assert response.context["runs"].end.date == TODAY
    assert "no scores for last week yet: showing this week so far" in notices(response)
    assert "nothing to compare" in response.content.decode()


# ---------------------------------------------------------------- transitions


def test_the_matrix_adds_up_to_the_accounts_scored_in_both_weeks(manager_client) -> None:
    weekly_of(
        {
            "Green stays": (80, 85),
            "Green to yellow": (75, 55),
            "Green to red": (72, 20),
            "Red recovers": (20, 75),
            "Red to yellow": (30, 45),
            "Yellow stays": (50, 60),
            "Yellow to no data": (50, None),
            "New this week": (False, 30),
            "Gone this week": (40, False),
        }
    )
    churned = AccountFactory(name="Churned", status=Account.Status.CHURNED, churn_date=TODAY)
    snap(churned, BEFORE, 80)
    snap(churned, SUNDAY, 20)

    response = manager_client.get(WEEKLY)

    summary = response.context["summary"]
    assert summary.compared == 7  # active accounts scored on both days
    assert response.context["matrix_total"] == 7
    cells = {
        (cell["before"], cell["now"]): cell["n"]
        for row in response.context["matrix_rows"]
        for cell in row["cells"]
    }
    assert sum(cells.values()) == 7
    assert cells[("green", "red")] == 1
    assert cells[("yellow", "none")] == 1
    assert response.context["matrix_moved"] == 5
    assert response.context["matrix_new"] == 1
    assert "1 scored only this week (new) are not in the table" in text_of(
        response.content.decode()
    )


def test_each_cell_links_to_exactly_its_accounts_in_the_portfolio(manager_client) -> None:
    weekly_of(
        {
            "Slipped A": (80, 50),
            "Slipped B": (75, 60),
            "Crashed": (90, 10),
            "Stayed": (80, 80),
            "Recovered": (20, 80),
            "Still red": (10, 15),
            "New": (False, 55),
        }
    )

    response = manager_client.get(WEEKLY)

    cells = [cell for row in response.context["matrix_rows"] for cell in row["cells"]]
    linked = [cell for cell in cells if cell["n"]]
    assert sum(cell["n"] for cell in linked) == 6
    for cell in linked:
        assert cell["url"] == (
            f"/?date=2026-11-22&prev_band={cell['before']}&band={cell['now']}&owner=all"
        )
        assert f'href="{cell["url"].replace("&", "&amp;")}"' in response.content.decode()
        portfolio = manager_client.get(cell["url"])
        assert portfolio.status_code == 200
        assert not portfolio.context["notices"], portfolio.context["notices"]
        assert portfolio.context["paginator"].count == cell["n"], cell
    slipped = manager_client.get("/?date=2026-11-22&prev_band=green&band=yellow&owner=all")
    assert sorted(row.name for row in slipped.context["rows"]) == ["Slipped A", "Slipped B"]
    assert all(cell["url"] is None for cell in cells if not cell["n"])


def test_cells_are_not_links_when_the_week_before_is_not_seven_days_back(manager_client) -> None:
    account = AccountFactory()
    snap(account, SUNDAY, 30)
    snap(account, SUNDAY - dt.timedelta(days=9), 80)

    response = manager_client.get(WEEKLY)

    assert response.context["runs"].previous.date == SUNDAY - dt.timedelta(days=9)
    assert response.context["matrix_total"] == 1
    assert all(c["url"] is None for row in response.context["matrix_rows"] for c in row["cells"])
    assert "(the nearest earlier day with scores)" in response.content.decode()


def test_without_scores_a_week_before_there_is_nothing_to_compare(manager_client) -> None:
    snap(AccountFactory(), SUNDAY, 30)
    snap(AccountFactory(), SUNDAY - dt.timedelta(days=20), 30)  # too long before

    response = manager_client.get(WEEKLY)

    assert response.context["runs"].previous is None
    html = response.content.decode()
    assert "there are no scores a week earlier to compare with" in html
    assert response.context["drops"] == [] and response.context["gains"] == []


# ---------------------------------------------------------------- movers


def measures_of(version: ScorecardVersion) -> int:
    return len(version_config(versions_queryset().get(pk=version.pk)).measures)


def details(version: ScorecardVersion, sub: float, m0: tuple[float, float]) -> dict:
    """Every measure at `sub`, except the first at m0 = (raw, sub)."""
    n = measures_of(version)
    raw, subs = [round(sub / 20, 2)] * n, [sub] * n
    raw[0], subs[0] = m0
    return {"raw": raw, "sub": subs}


def test_movers_are_the_biggest_drops_and_gains_with_what_moved_them(manager_client) -> None:
    version = ScorecardVersion.objects.filter(status="active").order_by("pk").first()
    faller = AccountFactory(name="Faller")
    snap(faller, BEFORE, 60, version=version, details=details(version, 60, (3.1, 90.0)))
    snap(faller, SUNDAY, 50, version=version, details=details(version, 60, (1.4, 10.0)))
    weekly_of({"Small drop": (60, 58), "Big gain": (20, 70), "Small gain": (50, 51)})
    weekly_of({"Unchanged": (50, 50)})

    response = manager_client.get(WEEKLY)

    drops, gains = response.context["drops"], response.context["gains"]
    assert [m.account.name for m in drops] == ["Faller", "Small drop"]
    assert [m.account.name for m in gains] == ["Big gain", "Small gain"]
    assert drops[0].change == pytest.approx(-10)
    sentence = drops[0].measures[0].sentence
    assert re.fullmatch(r".+ fell from 3\.1 to 1\.4 \(−\d+\.\d points\)", sentence), sentence
    assert sentence in text_of(response.content.decode())
    assert f'href="/accounts/{faller.pk}/"' in response.content.decode()


def test_at_most_ten_movers_each_way(manager_client) -> None:
    weekly_of({f"Drop {i:02d}": (80, 79 - i) for i in range(12)})

    drops = manager_client.get(WEEKLY).context["drops"]

    assert [m.account.name for m in drops] == [f"Drop {i:02d}" for i in range(11, 1, -1)]


# ---------------------------------------------------------------- ARR, renewals, books


def test_arr_at_risk_now_and_a_week_before(manager_client) -> None:
    weekly_of({"Turned red": (80, 30)}, arr=Decimal("100000"))
    weekly_of({"Stays yellow": (50, 50)}, arr=Decimal("20000"))
    weekly_of({"Recovered": (30, 90)}, arr=Decimal("5000"))

    response = manager_client.get(WEEKLY)

    assert response.context["at_risk_now"] == Decimal("120000")
    assert response.context["at_risk_before"] == Decimal("25000")
    assert response.context["at_risk_change"] == Decimal("95000")
    assert "▲ +$95k" in response.content.decode()


def test_renewals_are_forecast_with_each_bands_observed_churn(manager_client, monkeypatch) -> None:
    monkeypatch.setattr(weekly, "CHURN_MIN_SAMPLE", 2)
    year_ago = SUNDAY - dt.timedelta(days=365)
    # A year ago: 4 healthy accounts (1 churned since), 2 unhealthy (1 churned since).
    for i, (score, churned) in enumerate(
        [(80, True), (80, False), (80, False), (80, False), (20, True), (20, False)]
    ):
        account = AccountFactory(
            name=f"Then {i}",
            status=Account.Status.CHURNED if churned else Account.Status.ACTIVE,
            churn_date=year_ago + dt.timedelta(days=100) if churned else None,
        )
        snap(account, year_ago, score)
    # Renewing within 90 days of the Sunday: $100k healthy, $50k unhealthy; one renews later.
    soon = SUNDAY + dt.timedelta(days=30)
    weekly_of({"Healthy renewal": (80, 80)}, arr=Decimal("100000"), renewal_date=soon)
    weekly_of({"Unhealthy renewal": (20, 20)}, arr=Decimal("50000"), renewal_date=soon)
    weekly_of({"Later": (20, 20)}, renewal_date=SUNDAY + dt.timedelta(days=200))

    response = manager_client.get(WEEKLY)

    forecast = response.context["forecast"]
    rows = {row.band: row for row in forecast.rows}
    assert (rows["green"].accounts, rows["green"].arr) == (1, Decimal("100000"))
    assert rows["green"].rate.rate == pytest.approx(0.25)
    assert rows["red"].rate.rate == pytest.approx(0.5)
    assert rows["yellow"].rate.default and rows["yellow"].rate.rate == 0.15
    assert forecast.expected == Decimal("100000.00")  # 100k × 0.75 + 50k × 0.5
    text = text_of(response.content.decode())
    assert "Expected renewing ARR = Σ ARR × (1 − the churn rate of the account's band)" in text
    assert "of the accounts in that band on 22 Nov 2025, the share that churned" in text
    assert "1 of 4" in text and "1 of 2" in text


def test_without_a_year_of_history_the_forecast_uses_stated_defaults(manager_client) -> None:
    weekly_of({"Renewing": (50, 50)}, renewal_date=SUNDAY + dt.timedelta(days=10))

    response = manager_client.get(WEEKLY)

    basis = response.context["basis"]
    assert basis.baseline is None
    assert all(rate.default for rate in basis.rates.values())
    text = text_of(response.content.decode())
    assert "There is not enough history to observe churn" in text
    assert "At risk 15%" in text


def test_each_csms_book(manager_client) -> None:
    priya = UserFactory(first_name="Priya", last_name="Raman", role=CSM)
    weekly_of({"P1": (60, 30), "P2": (70, 80)}, owner=priya, arr=Decimal("1000"))
    weekly_of({"Nobody's": (50, 50)}, owner=None)

    books = {b.name: b for b in manager_client.get(WEEKLY).context["books"]}

    assert list(books) == ["Priya Raman", "Unassigned"]
    book = books["Priya Raman"]
    assert (book.n, book.arr, book.red_share) == (2, Decimal("2000"), 50.0)
    assert book.average_score == pytest.approx(55.0)
    assert book.average_change == pytest.approx(-10.0)  # (−30 + 10) / 2


def test_overdue_calls_to_action_per_csm(manager_client) -> None:
    priya = UserFactory(first_name="Priya", last_name="Raman", role=CSM)
    jonas = UserFactory(first_name="Jonas", last_name="Becker", role=CSM)
    accounts = weekly_of({"P1": (60, 30), "J1": (70, 80)}, owner=priya)
    for days in (3, 10):
        CallToActionFactory(
            account=accounts["P1"], owner=priya, due_date=TODAY - dt.timedelta(days=days)
        )
    CallToActionFactory(account=accounts["J1"], owner=jonas, due_date=TODAY - dt.timedelta(days=1))
    CallToActionFactory(account=accounts["J1"], owner=jonas, due_date=TODAY)  # due, not late

    response = manager_client.get(WEEKLY)

    html = response.content.decode()
    section = html[html.index('id="wk-overdue-title"') :]
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", section, re.S)
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]
    assert cells == ["Priya Raman 2 13 Nov 2026", "Jonas Becker 1 22 Nov 2026"]
    assert f'href="/actions/?owner={priya.pk}"' in section


def test_no_overdue_calls_to_action(manager_client) -> None:
    weekly_of({"P1": (60, 30)})
    assert "No call to action is overdue today." in manager_client.get(WEEKLY).content.decode()


def csv_rows(response) -> list[list[str]]:
    """The rows of a CSV download (streamed)."""
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_exports_are_the_movers_and_the_books_as_csv(manager_client) -> None:
    priya = UserFactory(first_name="Priya", last_name="Raman", role=CSM)
    weekly_of({"=Formula Ltd": (80, 30), "Gainer": (30, 60)}, owner=priya)

    movers = manager_client.get(f"{WEEKLY}?export=movers")
    books = manager_client.get(f"{WEEKLY}?export=csms")

    assert movers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="weekly-movers-2026-11-22.csv"' in movers["Content-Disposition"]
    rows = csv_rows(movers)
    assert rows[0][:3] == ["Direction", "Account", "Owner"]
    assert rows[1][:3] == ["drop", "'=Formula Ltd", "Priya Raman"]
    assert rows[1][4:9] == ["80.0", "30.0", "-50.0", "Healthy", "Unhealthy"]
    assert rows[2][:2] == ["gain", "Gainer"]
    rows = csv_rows(books)
    assert rows[0][0] == "Owner"
    assert rows[1][:3] == ["Priya Raman", "2", "100000.00"]


def test_the_exports_defuse_spreadsheet_formulas_in_every_name(manager_client) -> None:
    owner = UserFactory(first_name='=HYPERLINK("http://x","y")', last_name="", role=CSM)
    weekly_of({"@SUM(A1)": (80, 30)}, owner=owner)

    movers = csv_rows(manager_client.get(f"{WEEKLY}?export=movers"))
    books = csv_rows(manager_client.get(f"{WEEKLY}?export=csms"))

    assert movers[1][1:3] == ["'@SUM(A1)", '\'=HYPERLINK("http://x","y")']
    assert books[1][0] == '\'=HYPERLINK("http://x","y")'


# ---------------------------------------------------------------- the chart


def chart(client, query: str = "") -> dict:
    """The chart region, as the page's placeholder (or the ARR toggle) asks for it."""
    response = client.get(
        WEEKLY + query, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="weekly-distribution"
    )
    return json.loads(response.context["distribution_json"])


def test_the_chart_stacks_each_bands_accounts_or_arr_per_day(manager_client) -> None:
    weekly_of({"A": (80, 30), "B": (50, 50)}, arr=Decimal("1000"))

    figure = chart(manager_client)
    arr = chart(manager_client, "?measure=arr")

    red = next(t for t in figure["data"] if t["name"] == "Unhealthy")
    assert red["x"] == ["2026-11-15", "2026-11-22"]
    assert red["y"] == [0, 1]
    assert red["stackgroup"] == "bands"
    assert next(t for t in arr["data"] if t["name"] == "At risk")["y"] == [1000, 1000]


def test_the_page_loads_the_chart_by_itself_while_its_days_have_no_snapshot(
    manager_client,
) -> None:
    weekly_of({"A": (80, 30)})

    first = manager_client.get(WEEKLY)
    chart(manager_client)
    again = manager_client.get(WEEKLY)
    _publish()
    published = manager_client.get(WEEKLY)

    assert first.context["distribution_pending"]
    placeholder = re.search(r'<section id="weekly-distribution"[^>]*>', first.content.decode())
    assert 'hx-trigger="load"' in placeholder.group(0)
    assert f'hx-get="{WEEKLY}"' in placeholder.group(0)
    assert 'hx-push-url="false"' in placeholder.group(0)
    assert again.context["distribution_pending"]  # the chart kept nothing
    assert "distribution_pending" not in published.context
    assert 'data-plotly-figure="' in published.content.decode()


def test_past_days_read_their_published_totals_and_nothing_is_kept(
    db, django_assert_num_queries
) -> None:
    weekly_of({"A": (80, 30)})
    today_run = run_on(TODAY)
    HealthScoreFactory(account=AccountFactory(), run=today_run, score=10)

    # The runs with their snapshots' totals; the days without one counted from their rows.
    with django_assert_num_queries(2):
        first = weekly.band_history(end=TODAY)
    with django_assert_num_queries(2):
        assert weekly.band_history(end=TODAY) == first
    assert not RunSnapshot.objects.exists()
    _publish()
    with django_assert_num_queries(1):
        published = weekly.band_history(end=TODAY)
    with django_assert_num_queries(1):
        again = weekly.band_history(end=SUNDAY)

    assert [d.date for d in first] == [BEFORE, SUNDAY, TODAY]
    assert published == first
    assert again == first[:2]


def test_published_weeks_read_their_snapshots_and_the_page_writes_nothing(
    manager_client,
) -> None:
    weekly_of({"A": (80, 30)})
    snap(AccountFactory(), TODAY, 40)
    snap(AccountFactory(), TODAY - dt.timedelta(days=7), 40)

    last_week = [_queries(manager_client) for _ in range(2)]
    this_week = [_queries(manager_client, "?week=2026-11-23") for _ in range(2)]
    assert not RunSnapshot.objects.exists()  # the runs are read from their rows
    assert last_week[0] == last_week[1] and this_week[0] == this_week[1]
    _publish()

    # Published: fewer queries (no day counted from its rows); this week as many (today's
    # run is read with the rows re-scored since its publication).
    assert _queries(manager_client) < last_week[0]
    assert _queries(manager_client, "?week=2026-11-23") == this_week[0]
    assert set(RunSnapshot.objects.values_list("run__date", "settled")) == {
        (SUNDAY, True),
        (BEFORE, True),
        (TODAY - dt.timedelta(days=7), True),
        (TODAY, False),  # today's run can still be re-scored
    }


# ---------------------------------------------------------------- HTMX


def test_the_week_picker_swaps_only_the_review(manager_client) -> None:
    weekly_of({"Acme": (50, 30)})

    response = manager_client.get(
        f"{WEEKLY}?week=2026-11-22", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="weekly-picker"
    )

    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="weekly-review"')
    assert 'id="weekly-picker"' not in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    "headers", [{"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}, {"HTTP_HX_BOOSTED": "true"}]
)
@pytest.mark.parametrize("target", ["", "weekly-distribution"])
def test_history_restores_and_boosted_requests_get_the_whole_page(
    manager_client, headers, target
) -> None:
    weekly_of({"Acme": (50, 30)})

    response = manager_client.get(
        f"{WEEKLY}?week=2026-11-22", HTTP_HX_REQUEST="true", HTTP_HX_TARGET=target, **headers
    )

    assert "<html" in response.content.decode()
    # The page and its regions share a URL: a cache must tell them apart.
    assert "HX-Request" in response["Vary"]
    assert "HX-Request" in manager_client.get(WEEKLY)["Vary"]


def test_a_link_that_changes_the_week_refreshes_the_picker_out_of_band(manager_client) -> None:
    weekly_of({"Acme": (50, 30)})

    html = manager_client.get(f"{WEEKLY}?week=2026-11-15", HTTP_HX_REQUEST="true").content.decode()

    assert re.search(r'<form id="weekly-picker"[^>]*hx-swap-oob="true"', html, re.S)


def test_the_chart_toggle_swaps_only_the_chart(manager_client) -> None:
    weekly_of({"Acme": (50, 30)})

    response = manager_client.get(
        f"{WEEKLY}?measure=arr",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="weekly-distribution",
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="weekly-distribution"')
    assert "Band transitions" not in html
    assert 'aria-current="true">ARR</a>' in html
    # The picker follows out of band: changing the week next keeps the chart on ARR.
    picker = re.search(r'<form id="weekly-picker"[^>]*hx-swap-oob="true".*?</form>', html, re.S)
    assert '<input type="hidden" name="measure" value="arr">' in picker.group(0)
    assert "HX-Request" in response["Vary"]


# ---------------------------------------------------------------- queries


def _publish(kept: bool = False) -> None:
    """The snapshots every run got when it was published, made afresh for the scores as
    they are now (the tests write scores into runs long published); kept: the weeks too."""
    RunSnapshot.objects.all().delete()
    rollup_missing()
    if kept:
        RunWeek.objects.all().delete()
        assert weeks_keep() > 0


def _queries(client, query: str = "") -> int:
    cache.clear()  # nothing the page reads may depend on it
    with CaptureQueriesContext(connection) as queries:
        assert client.get(WEEKLY + query).status_code == 200
    return len(queries)


@pytest.mark.parametrize("kept", [False, True], ids=["counted-live", "kept-week"])
def test_the_review_costs_the_same_queries_whatever_the_number_of_accounts(
    manager_client, django_assert_max_num_queries, kept
) -> None:
    if kept and connection.vendor != "postgresql":
        pytest.skip("weeks are kept on PostgreSQL only (scoring.rollups.weeks)")
    owners = [UserFactory(role=CSM) for _ in range(3)]
    for i in range(4):
        weekly_of({f"Few {i}": (80 - i, 20 + i)}, owner=owners[i % 3])
    snap(AccountFactory(), SUNDAY - dt.timedelta(days=400), 50)  # a churn baseline
    _publish(kept)
    few = _queries(manager_client)

    more = [UserFactory(role=CSM) for _ in range(6)]
    for i in range(56):
        weekly_of({f"Many {i}": (30 + i, 90 - i)}, owner=more[i % 6])
    _publish(kept)
    with django_assert_max_num_queries(MAX_QUERIES):
        many = _queries(manager_client)

    assert many == few
