"""The action lists: each includes exactly the accounts its rule names, at the rule's edges;
sorting, filters, CSV, the HTMX fragment, the query budget, the roles, and the empty states
when the catalogue lacks a metric."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Metric
from healthboard.lib.roles import CSM
from healthboard.pages.lists import advocates, collections, expansion
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    MetricFactory,
    ScoreRunFactory,
    SegmentFactory,
    SignalFactory,
    UserFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}
# Session, user, role, owners, segments, stages, the run, the catalogue metrics, the list's
# page (measured: 9); a page past the end reads twice more.
# +1: the navigation's count of the user's calls to action due now (every page).
MAX_QUERIES = 11
SCORES = {"green": 80.0, "yellow": 55.0, "red": 20.0}


@pytest.fixture
def run(db):
    return ScoreRunFactory(date=timezone.localdate())


@pytest.fixture
def account(run):
    owner = UserFactory(role=CSM)  # one owner for all: a user per account is slow

    def make(band: str = "green", **fields):
        acct = AccountFactory(**{"owner": owner, **fields})
        HealthScoreFactory(account=acct, run=run, score=SCORES[band], band=band)
        return acct

    return make


def signal(acct, key: str, value: float, *, days: float = 1, category: str = ""):
    return SignalFactory(
        account=acct,
        metric=MetricFactory(key=key),
        value=value,
        observed_at=timezone.now() - dt.timedelta(days=days),
        category=category,
    )


def names(response) -> list[str]:
    """The account names of the list's rows, in order."""
    rows = response.context["rows"]
    return [row["name"] for row in rows]


def get(client, name: str, query: str = "", **headers):
    return client.get(reverse(f"lists:{name}") + query, **headers)


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# ---------------------------------------------------------------- advocates


def test_advocates_at_their_edges(manager_client, account) -> None:
    nps_9 = account(name="NPS nine")
    signal(nps_9, "nps", 9)
    nps_8 = account(name="NPS eight")
    signal(nps_8, "nps", 8)
    stale = account(name="NPS too old")
    signal(stale, "nps", 10, days=advocates.NPS_DAYS + 1)
    turned = account(name="NPS turned")
    signal(turned, "nps", 10, days=30)
    signal(turned, "nps", 8, days=2)
    at_risk = account("yellow", name="At risk promoter")
    signal(at_risk, "nps", 10)
    csat_4 = account(name="CSAT four")
    signal(csat_4, "csat", 5, days=3)
    signal(csat_4, "csat", 3, days=2)
    csat_low = account(name="CSAT below four")
    signal(csat_low, "csat", 4, days=3)
    signal(csat_low, "csat", 3.8, days=2)
    open_complaint = account(name="Complaint open")
    signal(open_complaint, "nps", 10)
    signal(open_complaint, "unresolved_complaints", 1)
    resolved = account(name="Complaint resolved")
    signal(resolved, "nps", 10)
    signal(resolved, "unresolved_complaints", 2, days=10)
    signal(resolved, "unresolved_complaints", 0, days=1)

    response = get(manager_client, "advocates", "?sort=name")

    assert response.status_code == 200
    # Names sort as the database's collation does (C here: capitals first).
    assert sorted(names(response)) == ["CSAT four", "Complaint resolved", "NPS nine"]
    html = response.content.decode()
    assert "last NPS answer in the past 180 days was 9–10" in html
    assert "CSAT averaged 4 or more of 5" in html


def test_advocates_csv_has_every_row_with_why(manager_client, account) -> None:
    promoter = account(name="=Promoter", arr=Decimal("120000"))
    signal(promoter, "nps", 10, days=5)

    response = get(manager_client, "advocates_csv", "?owner=all")

    assert response["Content-Type"].startswith("text/csv")
    header, row = read_csv(response)
    assert header[:8] == [
        "Name",
        "External id",
        "Owner",
        "Segment",
        "Stage",
        "ARR",
        "Renewal date",
        "Health",
    ]
    assert row[0] == "'=Promoter"  # neutralised, as every export
    assert row[5] == "120000.00"
    assert row[7] == "Healthy"
    assert row[8] == "10"
    assert row[9] == str(timezone.localdate() - dt.timedelta(days=5))


# ---------------------------------------------------------------- expansion


def test_expansion_at_its_edges(manager_client, account) -> None:
    at_85 = account(name="Utilisation 85")
    signal(at_85, "licence_utilisation", 85)
    at_84 = account(name="Utilisation 84")
    signal(at_84, "licence_utilisation", 84)
    by_seats = account(name="Seats 43 of 50", seats=50)  # 86 %, no utilisation signal
    signal(by_seats, "active_users", 43)
    few_seats = account(name="Seats 42 of 50", seats=50)  # 84 %
    signal(few_seats, "active_users", 42)
    talking = account(name="Adoption with talk")
    signal(talking, "feature_adoption", 70)
    signal(talking, "expansion_talks", 1, days=20)
    silent = account(name="Adoption without talk")
    signal(silent, "feature_adoption", 90)
    low = account(name="Low adoption with talk")
    signal(low, "feature_adoption", 69)
    signal(low, "expansion_talks", 1)
    at_risk = account("red", name="Full but unhealthy")
    signal(at_risk, "licence_utilisation", 100)

    response = get(manager_client, "expansion", "?sort=name")

    assert names(response) == ["Adoption with talk", "Seats 43 of 50", "Utilisation 85"]
    html = response.content.decode()
    assert "43 of 50 seats" in html
    assert f"at least {expansion.UTILISATION_AT:g} % of their licences" in html


# ---------------------------------------------------------------- collections


def test_collections_lists_late_payers_by_days_late(manager_client, account) -> None:
    account("green", name="Paid on time")
    late = account("green", name="Five days late", arr=Decimal("900000"))
    signal(late, "invoice_days_late", 5)
    later = account("red", name="Thirty days late", arr=Decimal("10000"))
    signal(later, "invoice_days_late", 30)
    caught_up = account("yellow", name="Caught up")
    signal(caught_up, "invoice_days_late", 20, days=40)
    signal(caught_up, "invoice_days_late", 0, days=5)
    old = account("yellow", name="Late long ago")
    signal(old, "invoice_days_late", 20, days=collections.INVOICE_DAYS + 1)

    by_days = get(manager_client, "collections")
    by_arr = get(manager_client, "collections", "?sort=-arr")
    reds = get(manager_client, "collections", "?band=red")

    assert names(by_days) == ["Thirty days late", "Five days late"]
    assert names(by_arr) == ["Five days late", "Thirty days late"]
    assert names(reds) == ["Thirty days late"]
    assert by_days.context["page"].arr == Decimal("910000")


# ---------------------------------------------------------------- pain points


def test_pain_points_rank_categories_by_at_risk_accounts(manager_client, account) -> None:
    big = account("red", name="Big red", arr=Decimal("500000"))
    small = account("yellow", name="Small yellow", arr=Decimal("20000"))
    healthy = account("green", name="Healthy one", arr=Decimal("999999"))
    signal(big, "support_tickets", 3, category="billing")
    signal(big, "support_tickets", 2, category="billing")
    signal(small, "support_tickets", 1, category="login")
    signal(big, "support_tickets", 1, category="login")
    signal(healthy, "support_tickets", 4, category="export")
    signal(healthy, "support_tickets", 4, category="billing")
    signal(small, "support_tickets", 1, category="")

    response = get(manager_client, "pain_points")

    categories = response.context["categories"]
    assert [(c.label, c.accounts, c.arr, c.tickets) for c in categories] == [
        ("login", 2, Decimal("520000"), 2),
        ("billing", 1, Decimal("500000"), 2),
        ("No category", 1, Decimal("20000"), 1),
    ]
    html = response.content.decode()
    assert "Big red" in html  # the largest accounts, named under each category
    assert "Healthy one" not in html
    by_arr = get(manager_client, "pain_points", "?sort=-arr").context["categories"]
    assert [c.label for c in by_arr][:2] == ["login", "billing"]

    accounts = get(manager_client, "pain_points", "?category=login")
    assert names(accounts) == ["Big red", "Small yellow"]
    uncategorised = get(manager_client, "pain_points", "?category=(none)")
    assert names(uncategorised) == ["Small yellow"]

    lines = read_csv(get(manager_client, "pain_points_csv"))
    assert lines[1] == ["login", "2", "1", "520000.00", "2"]
    lines = read_csv(get(manager_client, "pain_points_csv", "?category=login"))
    assert [line[0] for line in lines[1:]] == ["Big red", "Small yellow"]


# ---------------------------------------------------------------- shared behaviour


def test_filters_narrow_every_list(csm_client, csm_user, account) -> None:
    mine = account(name="Mine", owner=csm_user, segment=SegmentFactory(slug="smb"))
    theirs = account(name="Theirs")
    for acct in (mine, theirs):
        signal(acct, "invoice_days_late", 3)

    # A CSM's lists open on their own book, as the portfolio does.
    assert names(get(csm_client, "collections")) == ["Mine"]
    assert names(get(csm_client, "collections", "?owner=all&sort=name")) == ["Mine", "Theirs"]
    assert names(get(csm_client, "collections", "?owner=all&segment=smb")) == ["Mine"]
    assert names(get(csm_client, "collections", "?owner=all&q=thei")) == ["Theirs"]
    # A bad value is named and dropped, never an error.
    response = get(csm_client, "collections", "?owner=all&sort=nonsense")
    assert response.status_code == 200
    assert "not a column to sort by" in response.content.decode()


def test_the_htmx_request_gets_the_results_only(manager_client, account) -> None:
    signal(account(name="Late"), "invoice_days_late", 3)

    response = get(manager_client, "collections", "?sort=name", **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="list-results"' in html
    assert "Late" in html
    # A link (the sort) changed the filters: the form comes along, out of band.
    assert 'hx-swap-oob="true"' in html


@pytest.mark.parametrize("name", ["advocates", "expansion", "collections", "pain_points"])
def test_queries_do_not_grow_with_rows(
    manager_client, account, django_assert_max_num_queries, name
) -> None:
    for i in range(51):  # more than a page
        acct = account("green" if i % 2 else "red")
        for key, value in (
            ("nps", 10),
            ("licence_utilisation", 95),
            ("invoice_days_late", 4),
            ("support_tickets", 2),
        ):
            signal(acct, key, value, category=f"topic {i % 7}")

    with django_assert_max_num_queries(MAX_QUERIES):
        response = get(manager_client, name, "?page=2")
    assert response.status_code == 200


def test_a_page_past_the_end_shows_the_last(manager_client, account) -> None:
    signal(account(name="Only"), "invoice_days_late", 3)

    response = get(manager_client, "collections", "?page=9")

    assert names(response) == ["Only"]
    assert "There is no page 9: showing the last page (1)." in response.content.decode()


@pytest.mark.parametrize(
    ("name", "renamed", "needed"),
    [
        ("advocates", ["nps", "csat"], ["“NPS answer” (nps)", "“CSAT” (csat)"]),
        ("collections", ["invoice_days_late"], ["“Invoice days late” (invoice_days_late)"]),
        ("pain_points", ["support_tickets"], ["“Support tickets” (support_tickets)"]),
        (
            "expansion",
            ["licence_utilisation", "active_users", "expansion_talks"],
            ["(licence_utilisation) or", "(expansion_talks)"],
        ),
    ],
)
def test_a_list_names_the_metric_the_catalogue_lacks(
    manager_client, run, name, renamed, needed
) -> None:
    # Another team's catalogue: the metric is not there under its key.
    for key in renamed:
        Metric.objects.filter(key=key).update(key=f"{key}-other")

    response = get(manager_client, name)
    csv_response = get(manager_client, f"{name}_csv")

    html = response.content.decode()
    assert response.status_code == 200
    assert "needs a metric the catalogue does not have" in html
    for text in needed:
        assert text in html
    assert csv_response.status_code == 200
    assert len(read_csv(csv_response)) == 1  # the header


def test_a_missing_check_is_said(manager_client, account) -> None:
    Metric.objects.filter(key="unresolved_complaints").update(key="complaints-other")
    signal(account(name="Promoter"), "nps", 10)

    response = get(manager_client, "advocates")

    assert names(response) == ["Promoter"]
    assert "open complaints are not checked" in response.content.decode()


def test_before_the_first_run(manager_client) -> None:
    response = get(manager_client, "advocates")

    assert response.status_code == 200
    assert "Waiting for the first score run" in response.content.decode()


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client", "admin_role_client"])
def test_every_role_reads_every_list(request, client_fixture, account) -> None:
    client = request.getfixturevalue(client_fixture)
    signal(account(), "nps", 10)
    for name in ("advocates", "expansion", "collections", "pain_points"):
        assert get(client, name).status_code == 200
        assert get(client, f"{name}_csv").status_code == 200
    assert get(client, "index").url == reverse("lists:advocates")


def test_anonymous_is_sent_to_log_in(client, db) -> None:
    for name in ("advocates", "expansion", "collections", "pain_points", "advocates_csv"):
        response = get(client, name)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_a_user_without_a_role_is_refused(client, db) -> None:
    client.force_login(UserFactory())
    assert get(client, "advocates").status_code == 403
    assert get(client, "pain_points_csv").status_code == 403
