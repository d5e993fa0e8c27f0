"""Reassigning many owners from the portfolio's selection (Managers): a fixed number of
queries whatever the number of accounts, each account's old and new owner recorded, the
portfolio as it was afterwards, CSMs refused."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from accounts.models import Account, FieldChange
from healthboard.lib.roles import CSM
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory, UserFactory

HX = {"HTTP_HX_REQUEST": "true"}
# Session, user, permissions (2), the owners, then the accounts (locked), one UPDATE, one
# INSERT of the changes, and the transaction's savepoint pair: the same for 3 or 60.
BULK_MAX_QUERIES = 10


@pytest.fixture
def people(db):
    return {
        "priya": UserFactory(username="priya", first_name="Priya", last_name="Raman", role=CSM),
        "jonas": UserFactory(username="jonas", first_name="Jonas", last_name="Becker", role=CSM),
    }


def bulk(client, ids, owner, next_url="/?owner=all&sort=name", **extra):
    data = {"account": [str(i) for i in ids], "owner": str(owner), "next": next_url}
    return client.post(reverse("accounts:reassign_many"), data, **extra)


def test_a_manager_reassigns_the_ticked_accounts(manager_client, manager_user, people) -> None:
    mine = AccountFactory.create_batch(3, owner=people["priya"])
    untouched = AccountFactory(owner=people["priya"])

    response = bulk(manager_client, [a.pk for a in mine], people["jonas"].pk)

    assert response.status_code == 302 and response.url == "/?owner=all&sort=name"
    assert set(Account.objects.filter(owner=people["jonas"])) == set(mine)
    assert Account.objects.get(pk=untouched.pk).owner == people["priya"]
    rows = FieldChange.objects.filter(field="owner")
    assert {(r.object_id, r.old_value, r.new_value, r.user_id) for r in rows} == {
        (a.pk, "Priya Raman", "Jonas Becker", manager_user.pk) for a in mine
    }
    page = manager_client.get(response.url)
    assert "3 accounts reassigned to Jonas Becker." in page.content.decode()


@pytest.mark.postgres
def test_bulk_reassignment_costs_the_same_for_3_or_60_accounts(
    manager_client, people, django_assert_max_num_queries
) -> None:
    few = [a.pk for a in AccountFactory.create_batch(3, owner=people["priya"])]
    many = [a.pk for a in AccountFactory.create_batch(60, owner=people["priya"])]

    counts = []
    for ids in (few, many):
        with django_assert_max_num_queries(BULK_MAX_QUERIES) as captured:
            bulk(manager_client, ids, people["jonas"].pk)
        counts.append(len(captured.captured_queries))

    assert counts[0] == counts[1]
    assert Account.objects.filter(owner=people["jonas"]).count() == 63
    assert FieldChange.objects.count() == 63


def test_accounts_already_theirs_are_left_alone_and_said_so(manager_client, people) -> None:
    theirs = AccountFactory(owner=people["jonas"])
    moved = AccountFactory(owner=people["priya"])

    response = bulk(manager_client, [theirs.pk, moved.pk, 987654], people["jonas"].pk)

    page = manager_client.get(response.url).content.decode()
    assert "1 account reassigned to Jonas Becker. 2 already belonged to them" in page
    assert list(FieldChange.objects.values_list("object_id", flat=True)) == [moved.pk]


def test_unassigning_many(manager_client, people) -> None:
    accounts = AccountFactory.create_batch(2, owner=people["priya"])

    bulk(manager_client, [a.pk for a in accounts], "none")

    assert not Account.objects.filter(owner__isnull=False).exists()
    assert set(FieldChange.objects.values_list("old_value", "new_value")) == {("Priya Raman", "")}


@pytest.mark.parametrize(
    ("ids", "owner", "message"),
    [
        ([], "jonas", "Nothing reassigned: Tick the accounts to reassign first."),
        (["abc"], "jonas", "Nothing reassigned: abc is not an account id."),
        ([1], "", "Nothing reassigned: Pick who takes the account(s)."),
        ([1], "99999", "Nothing reassigned: unknown owner &#x27;99999&#x27;"),
    ],
)
def test_bad_requests_change_nothing_and_say_why(
    manager_client, people, ids, owner, message
) -> None:
    account = AccountFactory(owner=people["priya"])
    ids = [account.pk if i == 1 else i for i in ids]
    owner = people[owner].pk if owner in people else owner

    response = bulk(manager_client, ids, owner)

    assert Account.objects.get(pk=account.pk).owner == people["priya"]
    assert not FieldChange.objects.exists()
    assert message in manager_client.get(response.url).content.decode()


def test_a_foreign_next_url_goes_home(manager_client, people) -> None:
    account = AccountFactory(owner=people["priya"])

    response = bulk(
        manager_client, [account.pk], people["jonas"].pk, next_url="https://evil.example/"
    )

    assert response.url == reverse("home")


def test_htmx_gets_the_portfolio_swapped_in_place(manager_client, people) -> None:
    account = AccountFactory(owner=people["priya"])

    response = bulk(manager_client, [account.pk], people["jonas"].pk, **HX)

    assert response.status_code == 200
    location = json.loads(response["HX-Location"])
    assert location == {
        "path": "/?owner=all&sort=name",
        "target": "#portfolio-table",
        "swap": "outerHTML",
    }


def test_the_portfolio_table_region_carries_the_message(manager_client, people) -> None:
    ScoreRunFactory()
    account = AccountFactory(owner=people["priya"])
    HealthScoreFactory(account=account)
    bulk(manager_client, [account.pk], people["jonas"].pk, **HX)

    region = manager_client.get("/?owner=all", **HX).content.decode()

    assert 'id="messages" class="messages" aria-live="polite" hx-swap-oob="true"' in region
    assert "1 account reassigned to Jonas Becker." in region
    assert "<html" not in region


def test_a_csm_cannot_reassign_or_see_the_selection(csm_client, csm_user, people) -> None:
    ScoreRunFactory()
    account = AccountFactory(owner=csm_user)
    HealthScoreFactory(account=account)

    assert bulk(csm_client, [account.pk], people["jonas"].pk).status_code == 403
    assert csm_client.get(reverse("accounts:owner_options")).status_code == 403
    assert Account.objects.get(pk=account.pk).owner == csm_user
    html = csm_client.get("/?owner=all").content.decode()
    assert 'id="bulk-reassign"' not in html and 'name="account"' not in html


@pytest.mark.parametrize("client_fixture", ["manager_client", "admin_role_client"])
def test_managers_and_admins_get_checkboxes_and_the_bar(request, client_fixture, people) -> None:
    client = request.getfixturevalue(client_fixture)
    ScoreRunFactory()
    accounts = AccountFactory.create_batch(3, owner=people["priya"])
    for account in accounts:
        HealthScoreFactory(account=account)

    html = client.get("/?owner=all").content.decode()

    assert 'id="bulk-reassign"' in html and "js/portfolio.js" in html
    boxes = re.findall(r'<input type="checkbox" name="account" value="(\d+)"', html)
    assert sorted(map(int, boxes)) == sorted(a.pk for a in accounts)
    options = client.get(reverse("accounts:owner_options"), **HX).content.decode()
    assert (
        "Priya Raman" in options and "Jonas Becker" in options and "Nobody (unassigned)" in options
    )
