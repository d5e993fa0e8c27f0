"""POST /api/v1/signals, /accounts and /metrics: a batch is stored whole or refused whole
with each bad item's index and field; a re-sent batch stores nothing new; an
Idempotency-Key replays the first answer; every write call is recorded with its token."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Account, Metric, Signal
from healthboard.tokens.models import ApiCall, IdempotentResponse
from tests.api.conftest import ApiClient
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

SIGNALS = "/api/v1/signals"


@pytest.fixture(autouse=True)
def _now(time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, 10, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def accounts() -> list[Account]:
    return [AccountFactory(external_id=f"ACME-{i}") for i in range(3)]


def batch(n: int = 6, **changes) -> dict:
    """n signals over the three accounts; every other one with an external id."""
    signals = []
    start = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    for i in range(n):
        item = {
            "account": f"ACME-{i % 3}",
            "metric": "logins",
            "observed_at": f"{start + dt.timedelta(hours=i):%Y-%m-%dT%H:%M:%SZ}",
            "value": 10 + i,
        }
        if i % 2:
            item["external_id"] = f"evt-{i}"
        signals.append(item)
    for index, fields in changes.items():
        signals[int(index.removeprefix("i"))].update(fields)
    return {"source": "crm", "signals": signals}


def test_a_write_without_a_token_is_401(client) -> None:
    response = client.post(SIGNALS, "{}", content_type="application/json")

    assert response.status_code == 401
    assert not ApiCall.objects.exists()


@pytest.mark.parametrize("path", [SIGNALS, "/api/v1/accounts", "/api/v1/metrics"])
def test_a_read_token_may_not_write(reader, path) -> None:
    response = reader.post(path, {"signals": []})

    assert response.status_code == 403
    assert "may only read" in response.json()["detail"]
    # Refused writes are recorded with their token too.
    assert ApiCall.objects.get().status == 403


def test_a_batch_is_stored_and_sent_again_stores_nothing_new(writer, accounts) -> None:
    first = writer.post(SIGNALS, batch())
    again = writer.post(SIGNALS, batch())

    assert first.status_code == 200
    assert first.json()["created"] == 6
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 6)
    assert Signal.objects.filter(source="crm").count() == 6
    # With and without external ids.
    assert Signal.objects.filter(external_id__isnull=True).count() == 3


def test_one_bad_item_refuses_the_whole_batch_and_names_it(writer, accounts) -> None:
    response = writer.post(SIGNALS, batch(i3={"value": "lots"}, i4={"account": "NOPE-1"}))

    assert response.status_code == 422
    body = response.json()
    assert "nothing was written" in body["detail"]
    found = {(e["index"], e["field"], e["location"]) for e in body["errors"]}
    assert found == {(3, "value", "signals[3].value"), (4, "account", "signals[4].account")}
    assert any("NOPE-1" in e["reason"] for e in body["errors"])
    assert not Signal.objects.exists()


def test_an_impossible_date_is_named(writer, accounts) -> None:
    response = writer.post(SIGNALS, batch(i1={"observed_at": "2026-02-30"}))

    assert response.status_code == 422
    assert [e["location"] for e in response.json()["errors"]] == ["signals[1].observed_at"]


def test_a_misspelt_or_missing_field_is_named(writer, accounts) -> None:
    response = writer.post(
        SIGNALS, batch(i2={"extrenal_id": "x"}, i5={"account": None, "value": None})
    )

    assert response.status_code == 422
    locations = {e["location"] for e in response.json()["errors"]}
    assert {"signals[2].extrenal_id", "signals[5].account", "signals[5].value"} <= locations
    assert not Signal.objects.exists()


def test_a_batch_larger_than_10000_is_refused(writer, accounts) -> None:
    response = writer.post(SIGNALS, batch(10_001))

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "signals"
    assert "10000" in response.json()["errors"][0]["reason"]


def test_a_body_that_is_not_json_is_refused(writer) -> None:
    response = writer.post(SIGNALS, "{not json")

    assert response.status_code in (400, 422)
    assert response.json()["detail"]


def test_a_body_over_djangos_form_limit_is_read(writer, accounts, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = batch(40)
    assert len(str(body)) > 1000

    assert writer.post(SIGNALS, body).status_code == 200


def test_a_body_over_the_apis_limit_is_413(writer, accounts, settings) -> None:
    settings.API_MAX_BODY_BYTES = 1000

    response = writer.post(SIGNALS, batch(40))

    assert response.status_code == 413
    assert "1,000 bytes" in response.json()["detail"]


def test_an_idempotency_key_replays_the_first_answer(writer, accounts) -> None:
    key = {"Idempotency-Key": "3f1c2a8e-batch-1"}
    first = writer.post(SIGNALS, batch(), headers=key)
    Signal.objects.all().delete()  # were the retry stored, it would store them again

    retry = writer.post(SIGNALS, batch(), headers=key)

    assert retry.status_code == first.status_code == 200
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    assert not Signal.objects.exists()
    calls = list(ApiCall.objects.order_by("at", "pk"))
    assert [(c.replayed, c.idempotency_key) for c in calls] == [
        (False, "3f1c2a8e-batch-1"),
        (True, "3f1c2a8e-batch-1"),
    ]


def test_a_key_is_per_token_and_refuses_other_data(writer, make_token, accounts) -> None:
    key = {"Idempotency-Key": "k-1"}
    writer.post(SIGNALS, batch(), headers=key)

    other = writer.post(SIGNALS, batch(i0={"value": 99}), headers=key)
    another_token = ApiClient(make_token()[1]).post(SIGNALS, batch(2), headers=key)

    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    assert another_token.status_code == 200
    assert "Idempotent-Replayed" not in another_token


def test_a_refused_batch_does_not_keep_its_key(writer, accounts) -> None:
    key = {"Idempotency-Key": "k-2"}
    assert writer.post(SIGNALS, batch(i0={"account": "LATER-1"}), headers=key).status_code == 422
    AccountFactory(external_id="LATER-1")

    fixed = writer.post(SIGNALS, batch(i0={"account": "LATER-1"}), headers=key)

    assert fixed.status_code == 200
    assert fixed.json()["created"] == 6
    assert IdempotentResponse.objects.count() == 1


def test_an_expired_key_is_a_new_request(writer, accounts, settings, time_machine) -> None:
    settings.API_IDEMPOTENCY_HOURS = 1
    key = {"Idempotency-Key": "k-3"}
    writer.post(SIGNALS, batch(), headers=key)
    Signal.objects.all().delete()
    time_machine.shift(dt.timedelta(hours=2))

    later = writer.post(SIGNALS, batch(), headers=key)

    assert "Idempotent-Replayed" not in later
    assert later.json()["created"] == 6


def test_a_bad_idempotency_key_is_refused(writer, accounts) -> None:
    response = writer.post(SIGNALS, batch(), headers={"Idempotency-Key": "x" * 300})

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]


def test_every_write_call_is_recorded_with_its_token(make_token, accounts) -> None:
    token, secret = make_token()
    client = ApiClient(secret)

    client.post(SIGNALS, batch())
    client.post(SIGNALS, batch(i0={"value": "x"}))
    client.get("/api/v1/metrics")

    calls = list(ApiCall.objects.order_by("pk"))
    assert [(c.token_id, c.method, c.path, c.status) for c in calls] == [
        (token.pk, "POST", SIGNALS, 200),
        (token.pk, "POST", SIGNALS, 422),
    ]
    assert (calls[0].items, calls[0].written) == (6, 6)
    assert (calls[1].items, calls[1].written) == (6, None)


def test_accounts_upsert_by_external_id(writer) -> None:
    account = AccountFactory(external_id="ACME-9", name="Old name")
    items = [
        {"external_id": "ACME-9", "name": "New name"},
        {
            "external_id": "NEW-1",
            "name": "Newco",
            "segment": account.segment.name,
            "stage": account.stage.name,
            "start_date": "2026-01-15",
            "arr": 12000,
        },
    ]

    first = writer.post("/api/v1/accounts", {"accounts": items})
    again = writer.post("/api/v1/accounts", {"accounts": items})

    assert first.status_code == 200, first.json()
    assert (first.json()["created"], first.json()["updated"]) == (1, 1)
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (
        0,
        0,
        2,
    )
    account.refresh_from_db()
    assert account.name == "New name"
    assert Account.objects.get(external_id="NEW-1").arr == 12000


def test_an_unknown_segment_is_refused_or_created_when_asked(writer) -> None:
    item = {
        "external_id": "NEW-2",
        "name": "Newco",
        "segment": "Galactic",
        "stage": "Adoption",
        "start_date": "2026-01-15",
    }

    refused = writer.post("/api/v1/accounts", {"accounts": [item]})
    created = writer.post("/api/v1/accounts", {"accounts": [item], "create_missing": True})

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["location"] == "accounts[0].segment"
    assert "Enterprise" in refused.json()["errors"][0]["reason"]  # the known ones
    assert created.status_code == 200, created.json()
    assert Account.objects.get(external_id="NEW-2").segment.name == "Galactic"


def test_metrics_upsert_by_key(writer) -> None:
    items = [
        {"key": "nps_relationship", "name": "Relationship NPS", "unit": "0-10", "direction": 1},
        {"key": "logins", "name": "Logins (all apps)"},
    ]

    response = writer.post("/api/v1/metrics", {"metrics": items})
    bad = writer.post("/api/v1/metrics", {"metrics": [{"key": "has space", "name": "x"}]})

    assert response.status_code == 200, response.json()
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    assert Metric.objects.get(key="logins").name == "Logins (all apps)"
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["location"] == "metrics[0].key"
