"""The shared layout: band chip and filters, the home page per role, error pages, login."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.template import Context, Template, loader
from django.urls import include, path, reverse

from accounts.models import Account
from healthboard.lib.roles import ADMIN, CSM
from scoring.models import HealthScore, ScorecardVersion, ScoreRun
from tests.factories import AccountFactory, UserFactory

# A URLconf for the 403 test: the real URLs plus one page that always refuses.


def _forbidden(request):
    raise PermissionDenied


urlpatterns = [
    path("forbidden/", _forbidden),
    path("", include("healthboard.urls")),
]

LABELS = {"green": "Healthy", "yellow": "At risk", "red": "Unhealthy", "none": "No data"}
SHAPES = {"green": "●", "yellow": "▲", "red": "■", "none": "○"}
TODAY = dt.date(2026, 11, 22)
# The home page is the portfolio: session, user, role (groups), owners, segments, stages,
# a back-fill under way, the runs, the band summary (and last week's counts when there is a
# run a week before), the page's rows, their sparklines, the navigation's count of calls to
# action due now (measured: 12 here, without a run a week before), and on PostgreSQL two
# more around the rows in the default order (healthboard.lib.planner.serial_plan).
# The point: it does not grow with the number of accounts.
HOME_MAX_QUERIES = 14


def render(source: str, **context) -> str:
    return Template("{% load healthboard %}" + source).render(Context(context))


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def scored(run: ScoreRun, bands: list[str], *, owner=None, arr: str = "10000") -> None:
    """One active account per band in `bands`, scored in `run`."""
    version = ScorecardVersion.objects.filter(status=ScorecardVersion.Status.ACTIVE).first()
    # Without an owner, the factory makes a CSM for each account.
    owned = {"owner": owner} if owner else {}
    for band in bands:
        account = AccountFactory(arr=Decimal(arr), **owned)
        HealthScore.objects.create(
            account=account,
            run=run,
            date=run.date,
            version=version,
            score=None if band == "none" else {"green": 85, "yellow": 55, "red": 20}[band],
            band=band,
            coverage=1.0,
        )


def done_run(date: dt.date = TODAY) -> ScoreRun:
    return ScoreRun.objects.create(date=date, status=ScoreRun.Status.DONE)


# ---------------------------------------------------------------- the band chip


@pytest.mark.parametrize("band", LABELS)
def test_it_renders_the_chip_with_words_and_a_shape(band: str) -> None:
    html = render("{% band_chip band score %}", band=band, score=55.4)

    text = visible_text(html)
    assert LABELS[band] in text
    assert SHAPES[band] in text
    assert f"chip-{band}" in html
    assert f'aria-label="Health: {LABELS[band]}, score 55"' in html


@pytest.mark.parametrize("band", LABELS)
def test_it_never_shows_colour_alone(band: str) -> None:
    """Whatever the band, the chip carries words as well as its colour class."""
    for html in (
        render("{% band_chip band %}", band=band),
        render("{% band_chip band None %}", band=band),
    ):
        assert visible_text(html).endswith(LABELS[band])
        assert 'aria-label="Health: ' + LABELS[band] + '"' in html


@pytest.mark.parametrize("band", [None, "", "purple", "NONE"])
def test_it_reads_an_unknown_band_as_no_data(band) -> None:
    html = render("{% band_chip band %}", band=band)

    assert "No data" in visible_text(html)
    assert "chip-none" in html


def test_it_shows_a_score_of_zero_but_not_a_missing_score() -> None:
    assert "score 0" in render("{% band_chip 'red' 0 %}")
    assert "score" not in render("{% band_chip 'none' None %}")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (950, "$950"),
        (85_000, "$85k"),
        (8_540, "$8.5k"),
        (999_600, "$1M"),
        (1_234_567, "$1.2M"),
        (Decimal("12345678.90"), "$12M"),
        (-1_200_000, "−$1.2M"),
        (None, "—"),
    ],
)
def test_money(value, expected: str) -> None:
    assert render("{{ v|money }}", v=value) == expected


@pytest.mark.parametrize(
    ("value", "signed", "arrow"),
    [(3.21, "+3.2", "▲"), (-1, "−1.0", "▼"), (0, "0.0", ""), (-0.04, "0.0", ""), (None, "—", "")],
)
def test_signed_and_arrow(value, signed: str, arrow: str) -> None:
    assert render("{{ v|signed }}|{{ v|arrow }}", v=value) == f"{signed}|{arrow}"


def test_band_label() -> None:
    assert render("{{ 'yellow'|band_label }}") == "At risk"


# ---------------------------------------------------------------- home page


def test_it_sends_anonymous_visitors_to_the_login_page(client) -> None:
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("client_fixture", "role", "sees", "does_not_see"),
    [
        (
            "csm_client",
            "CSM",
            ["Portfolio", "Journey", "Action lists"],
            ["Weekly review", "Analytics", "Scorecards", "Catalogue", "Playbooks &amp; rules"],
        ),
        (
            "manager_client",
            "Manager",
            ["Weekly review", "Analytics"],
            ["Scorecards", "Catalogue", "Playbooks &amp; rules"],
        ),
        (
            "admin_role_client",
            "Admin",
            ["Weekly review", "Analytics", "Scorecards", "Catalogue", "Playbooks &amp; rules"],
            ["Django admin"],
        ),
    ],
)
def test_home_for_each_role(
    request, django_assert_max_num_queries, client_fixture, role, sees, does_not_see
) -> None:
    client = request.getfixturevalue(client_fixture)
    run = done_run()
    scored(run, ["green", "green", "yellow", "red", "none"] * 6)

    with django_assert_max_num_queries(HOME_MAX_QUERIES):
        response = client.get(reverse("home"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "All accounts" in html
    assert f'<span class="role-badge">{role}</span>' in html
    for label in LABELS.values():
        assert label in html
    for item in sees:
        assert f">{item}</a>" in html
    for item in does_not_see:
        assert f">{item}</a>" not in html
    # Logging out is a POST (Django 5's LogoutView refuses GET).
    assert re.search(r'<form[^>]*method="post"[^>]*action="/logout/"', html)
    assert "X-CSRFToken" in html


@pytest.fixture
def staff_admin_client(db, client):
    """An Admin who may also open the Django admin (staff): the navigation's longest."""
    client.force_login(UserFactory(role=ADMIN, is_staff=True))
    return client


@pytest.mark.parametrize(
    ("client_fixture", "links"),
    [
        # the brand, E-mail digest and Password (user menu), Portfolio, Journey, My actions,
        # Action lists
        ("csm_client", 7),
        ("manager_client", 9),  # … Weekly review, Analytics
        # … Scorecards, Imports, Catalogue, Playbooks & rules, API tokens, Audit log
        ("admin_role_client", 15),
        ("staff_admin_client", 16),  # … Django admin
    ],
)
def test_every_navigation_link_opens_a_page(db, request, client_fixture, links) -> None:
    client = request.getfixturevalue(client_fixture)
    html = client.get(reverse("home")).content.decode()
    header = re.search(r'<header class="site-header">.*?</header>', html, re.S).group(0)
    hrefs = re.findall(r'<a [^>]*href="([^"]*)"', header)

    assert len(hrefs) == links
    for href in hrefs:
        response = client.get(href, follow=True)
        assert response.status_code == 200, href
        # Not sent to the login page or elsewhere: the page itself, or where it redirects.
        assert all(not url.startswith(reverse("login")) for url, _ in response.redirect_chain)


def test_a_csm_sees_their_book_apart_from_all_accounts(
    csm_client, csm_user, django_assert_max_num_queries
) -> None:
    run = done_run()
    scored(run, ["red", "red", "green"], owner=csm_user, arr="85000")
    scored(run, ["green"] * 10)

    with django_assert_max_num_queries(HOME_MAX_QUERIES):
        response = csm_client.get(reverse("home"))

    book = response.context["summary"]
    assert (book["n"], book["arr"]) == (3, Decimal("255000"))
    assert {row["band"]: row["n"] for row in book["rows"]} == {
        "green": 1,
        "yellow": 0,
        "red": 2,
        "none": 0,
    }
    html = response.content.decode()
    assert "<strong>Your book</strong>" in html
    assert "$255k ARR" in html
    assert '<a href="/?owner=all"' in html

    everyone = csm_client.get(reverse("home") + "?owner=all").context["summary"]
    assert everyone["n"] == 13


def test_it_shows_the_empty_state_before_the_first_run(csm_client) -> None:
    AccountFactory()
    ScoreRun.objects.create(date=TODAY, status=ScoreRun.Status.RUNNING)

    response = csm_client.get(reverse("home"))

    html = response.content.decode()
    assert "No scores yet — the nightly run computes them" in html
    assert "python manage.py recompute_scores" in html
    assert "All accounts" not in html


def test_it_shows_the_empty_state_when_no_active_account_was_scored(csm_client) -> None:
    run = done_run()
    scored(run, ["green"])
    Account.objects.update(status=Account.Status.CHURNED)

    html = csm_client.get(reverse("home")).content.decode()

    assert "No active accounts" in html
    assert "All accounts" not in html


# ---------------------------------------------------------------- error pages and login


@pytest.mark.urls("tests.test_layout")
def test_the_403_page_names_the_users_role(csm_client) -> None:
    response = csm_client.get("/forbidden/")

    assert response.status_code == 403
    html = response.content.decode()
    assert "You don't have access to this page" in html
    assert "<strong>CSM</strong>" in html
    assert "Healthboard" in html


def test_the_404_page_is_on_brand(csm_client) -> None:
    response = csm_client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_the_500_page_renders_without_a_request() -> None:
    html = loader.get_template("500.html").render()

    assert "Something went wrong" in html


def test_the_login_page_keeps_next_and_shows_errors(client, db) -> None:
    UserFactory(username="casey", password="right-password-1", role=CSM)

    page = client.get(reverse("login") + "?next=/accounts/journey/").content.decode()
    assert 'name="next" value="/accounts/journey/"' in page
    assert "Healthboard" in page

    response = client.post(
        reverse("login"),
        {"username": "casey", "password": "wrong", "next": "/accounts/journey/"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Please enter a correct username and password" in html
    assert 'aria-invalid="true"' in html
    assert 'name="next" value="/accounts/journey/"' in html

    response = client.post(
        reverse("login"), {"username": "casey", "password": "right-password-1", "next": "/"}
    )
    assert response.status_code == 302
