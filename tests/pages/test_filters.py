"""The account filters, declared once (healthboard/pages/filters.py), as each page reads them."""

import datetime as dt

import pytest
from django.http import QueryDict
from django.utils import timezone

from accounts.models import Account
from healthboard.pages.filters import NO_OWNER, AccountFilters, portfolio_url
from healthboard.pages.journey.forms import JourneyFilterForm
from healthboard.pages.portfolio.forms import PortfolioFilterForm
from scoring.models import HealthScore
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    JourneyStageFactory,
    ScoreRunFactory,
    SegmentFactory,
    UserFactory,
)

TODAY = dt.date(2026, 11, 22)


def form(form_class, query: str, **kwargs):
    user = UserFactory(username="reader")
    return form_class(
        QueryDict(query),
        user=user,
        owners=[user],
        segments=[SegmentFactory(slug="smb")],
        default_owner="all",
        **kwargs,
    )


def test_the_pages_read_the_same_parameters_into_the_same_filters(db) -> None:
    query = "owner=none&segment=smb&band=red&band=blue"
    stages = [JourneyStageFactory(slug="adoption")]
    portfolio = form(PortfolioFilterForm, query, stages=stages)
    journey = form(JourneyFilterForm, query)

    assert journey.filters() == AccountFilters(
        bands=("red",), owner_id=NO_OWNER, segment_id=portfolio.filters().segment_id
    )
    assert portfolio.filters().conditions(TODAY) == journey.filters().conditions(TODAY)
    assert (
        portfolio.ignored
        == journey.ignored
        == ["band “blue” (the bands are green, yellow, red, none)"]
    )
    # The links each page builds carry what was applied, in each page's order.
    assert journey.query().urlencode() == "owner=none&segment=smb&band=red"
    assert portfolio.query().urlencode() == "band=red&owner=none&segment=smb"


def test_the_conditions_select_the_same_accounts_from_their_scores(db) -> None:
    run = ScoreRunFactory(date=TODAY)
    smb = SegmentFactory(slug="smb")
    for owner, segment, renews in [
        (None, smb, 10),
        (None, smb, 100),
        (UserFactory(), smb, 10),
        (None, SegmentFactory(slug="enterprise"), 10),
    ]:
        account = AccountFactory(
            owner=owner, segment=segment, renewal_date=TODAY + dt.timedelta(days=renews)
        )
        HealthScoreFactory(account=account, run=run, score=50)
    filters = AccountFilters(owner_id=NO_OWNER, segment_id=smb.pk, renewal_within=30)

    accounts = Account.objects.filter(*filters.conditions(TODAY))
    scores = HealthScore.objects.filter(*filters.conditions(TODAY, prefix="account__"))

    assert accounts.count() == 1
    assert set(scores.values_list("account_id", flat=True)) == {accounts.get().pk}


def test_other_pages_link_to_the_portfolio_with_its_parameter_names() -> None:
    url = portfolio_url(date="2026-11-22", prev_band="red", band="yellow", owner="all")
    assert url == "/?date=2026-11-22&prev_band=red&band=yellow&owner=all"


@pytest.mark.parametrize(
    ("path", "query", "opened"),
    [
        ("/", "", False),
        ("/", "?segment=smb", True),
        ("/", "?moved=10", True),
        ("/", "?date=today", True),
        ("/lists/advocates/", "", False),
        ("/lists/advocates/", "?renewal=30", True),
        ("/lists/collections/", "?q=acme", False),
    ],
)
def test_more_filters_open_when_one_of_them_is_asked_for(csm_client, path, query, opened):
    HealthScoreFactory(account=AccountFactory(name="Acme"), score=80)
    query = query.replace("today", str(timezone.localdate()))

    html = csm_client.get(path + query).content.decode()

    assert 'class="pf-more"' in html
    assert ('<details class="pf-more" open>' in html) is opened
