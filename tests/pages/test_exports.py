"""The pages' CSV exports beyond the portfolio's and the weekly review's own: the portfolio's
export for re-import, an account's signals, notes and score history. Each: the page's role
check, the page's parameters, neutralised cells, a bounded number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.exports import export_header
from accounts.imports import import_run
from accounts.models import Account, JourneyStage, Note, Signal
from healthboard.lib.roles import ADMIN, CSM, MANAGER
from healthboard.pages.scorecards.forms import DraftForms
from scoring import services
from scoring.editor.preview import preview_changes, preview_draft
from scoring.models import HealthScore, Scorecard, ScorecardVersion
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    MetricFactory,
    NoteFactory,
    ScoreRunFactory,
    SignalFactory,
    UserFactory,
)
from tests.pages.test_scorecard_editor import form_data
from tests.scoring.test_preview import PREVIEW_MAX_QUERIES

TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
# Session, user, role or permissions, the page's reads, then the rows in one streamed query;
# and the export's audit event (a savepoint, its INSERT, the release).
MAX_QUERIES = 13


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


def body_of(response) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body_of(response).decode())))


def client_as(client, role: str | None):
    client.force_login(UserFactory(role=role) if role else UserFactory())
    return client


def scored(score: float = 55.0, **fields) -> Account:
    account = AccountFactory(**fields)
    HealthScoreFactory(account=account, run=ScoreRunFactory(date=TODAY), score=score)
    return account


# ---------------------------------------------------------------- portfolio: for re-import

ACCOUNTS_CSV = reverse("accounts:portfolio_accounts_csv")


@pytest.mark.parametrize("role, status", [(None, 403), (CSM, 403), (MANAGER, 403), (ADMIN, 200)])
def test_the_export_for_re_import_is_for_those_who_import(client, db, role, status) -> None:
    scored()

    assert client_as(client, role).get(ACCOUNTS_CSV).status_code == status


def test_only_admins_see_the_export_for_re_import_link(client, db) -> None:
    scored(name="Acme")
    for role, shown in ((CSM, False), (MANAGER, False), (ADMIN, True)):
        html = client_as(client, role).get(f"{reverse('home')}?owner=all").content.decode()
        assert ("Export for re-import" in html) is shown, role
        assert "Export CSV" in html


def test_the_export_for_re_import_has_the_portfolio_filters_and_re_imports_as_is(
    admin_role_client,
) -> None:
    red = scored(20, name='Red, "Inc"', external_id="R-1", arr=Decimal("1234.56"))
    scored(90, name="Green Ltd", external_id="G-1")
    link = f"{reverse('home')}?owner=all&band=red"

    page = admin_role_client.get(link).content.decode()
    response = admin_role_client.get(f"{ACCOUNTS_CSV}?band=red&owner=all")

    assert f'href="{ACCOUNTS_CSV}?band=red&amp;owner=all"' in page
    assert 'filename="accounts-2026-11-22.csv"' in response["Content-Disposition"]
    body = body_of(response)
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == export_header("accounts")
    assert [row[:2] for row in rows[1:]] == [["R-1", 'Red, "Inc"']]
    assert rows[1][rows[0].index("ARR")] == "1234.56"
    assert rows[1][rows[0].index("Owner e-mail")] == red.owner.email
    result = import_run(kind="accounts", file=io.BytesIO(body))
    assert result.ok and (result.created, result.updated) == (0, 0), result.errors


def test_the_export_for_re_import_reads_a_bounded_number_of_queries(
    admin_role_client, django_assert_max_num_queries
) -> None:
    for n in (3, 40):
        for i in range(n):
            scored(name=f"Account {n}-{i}")
        with django_assert_max_num_queries(MAX_QUERIES):
            lines = rows_of(admin_role_client.get(f"{ACCOUNTS_CSV}?owner=all"))
        assert len(lines) == n + 1
        Account.objects.all().delete()


# ---------------------------------------------------------------- an account's lists


@pytest.fixture
def account(db) -> Account:
    return AccountFactory(external_id="ACME/001", name="Acme")


def url(name: str, account: Account, query: str = "") -> str:
    path = reverse(f"accounts:{name}", args=[account.pk])
    return f"{path}?{query}" if query else path


@pytest.mark.parametrize("name", ["signals_csv", "notes_csv", "scores_csv"])
@pytest.mark.parametrize("role, status", [(None, 403), (CSM, 200), (MANAGER, 200), (ADMIN, 200)])
def test_every_role_that_reads_the_account_may_export_its_lists(
    client, account, name, role, status
) -> None:
    assert client_as(client, role).get(url(name, account)).status_code == status


@pytest.mark.parametrize("name", ["signals_csv", "notes_csv", "scores_csv"])
def test_anonymous_visitors_are_sent_to_log_in_and_unknown_accounts_are_404(
    client, manager_client, account, name
) -> None:
    assert client.get(url(name, account)).status_code == 302
    missing = reverse(f"accounts:{name}", args=[account.pk + 999])
    assert manager_client.get(missing).status_code == 404


def test_the_signals_export_has_the_import_columns_and_the_page_category(
    manager_client, account
) -> None:
    csat = MetricFactory(key="csat", category="Sentiment")
    SignalFactory(account=account, metric=csat, value=4.0, text="=cmd|' /C calc'!A0")
    SignalFactory(account=account, value=12.0, external_id="login-1", source="product")
    SignalFactory(value=99.0)  # another account's

    everything = rows_of(manager_client.get(url("signals_csv", account)))
    sentiment = manager_client.get(url("signals_csv", account, "category=Sentiment"))
    unknown = rows_of(manager_client.get(url("signals_csv", account, "category=Nope")))

    assert everything[0] == export_header("signals")
    assert sorted(row[3] for row in everything[1:]) == ["12.0", "4.0"]
    assert {row[0] for row in everything[1:]} == {"ACME/001"}
    assert (
        'filename="signals-sentiment-acme001-2026-11-22.csv"' in (sentiment["Content-Disposition"])
    )
    rows = rows_of(sentiment)
    assert [row[1] for row in rows[1:]] == ["csat"]
    assert rows[1][5] == "'=cmd|' /C calc'!A0"
    assert len(unknown) == 3  # a category the page would not apply: every signal


def test_the_signals_export_re_imports_to_nothing_new(manager_client, account) -> None:
    for i in range(5):
        SignalFactory(account=account, value=i / 3, external_id=f"e{i}" if i % 2 else None)
    body = b"".join(manager_client.get(url("signals_csv", account)).streaming_content)

    result = import_run(kind="signals", file=io.BytesIO(body))

    assert result.ok and result.created == 0 and result.unchanged == 5, result.errors
    assert Signal.objects.count() == 5


def test_the_notes_export_lists_every_note_newest_first(manager_client, account) -> None:
    author = UserFactory(first_name="Ann", last_name="Lee")
    for i in range(30):  # more than a page of the timeline
        NoteFactory(
            account=account,
            author=author,
            body=f'Note {i}, with "quotes"\nand a second line',
            created_at=NOW - dt.timedelta(hours=i),
        )
    NoteFactory(account=account, author=None, kind=Note.Kind.CALL, body="@call", created_at=NOW)

    rows = rows_of(manager_client.get(url("notes_csv", account)))

    assert rows[0] == ["Created at", "Kind", "Author", "Note"]
    assert len(rows) == 32
    assert rows[1][1:] == ["Call", "", "'@call"]
    assert rows[2] == ["2026-11-22T09:00:00+00:00", "Note", "Ann Lee", rows[2][3]]
    assert rows[2][3] == 'Note 0, with "quotes"\nand a second line'
    assert rows[-1][3].startswith("Note 29,")


def test_the_score_history_export_follows_the_trend_range(manager_client, account) -> None:
    for days_ago in (0, 10, 45, 200):
        day = TODAY - dt.timedelta(days=days_ago)
        HealthScoreFactory(
            account=account, run=ScoreRunFactory(date=day), score=30 + days_ago / 10, delta_7d=-2.26
        )

    default = rows_of(manager_client.get(url("scores_csv", account)))
    year = manager_client.get(url("scores_csv", account, "range=365"))

    assert default[0] == [
        "Date",
        "Score",
        "Health",
        "Coverage %",
        "7-day change",
        "Scorecard",
        "Version",
    ]
    assert [row[0] for row in default[1:]] == ["2026-10-08", "2026-11-12", "2026-11-22"]
    assert default[-1][1:5] == ["30.0", "Unhealthy", "100", "-2.3"]
    assert default[-1][6].startswith("v")
    assert 'filename="scores-365d-acme001-2026-11-22.csv"' in year["Content-Disposition"]
    assert len(rows_of(year)) == 5


def test_the_account_page_links_its_exports_with_its_parameters(manager_client, account) -> None:
    MetricFactory(key="csat", category="Sentiment")
    SignalFactory(account=account, metric=MetricFactory(key="csat"))
    NoteFactory(account=account)
    HealthScoreFactory(account=account, run=ScoreRunFactory(date=TODAY), score=50)

    html = manager_client.get(url("detail", account, "range=30&category=Sentiment")).content
    html = html.decode()

    assert f'href="{url("signals_csv", account, "category=Sentiment")}" download' in html
    assert f'href="{url("notes_csv", account)}" download' in html
    assert f'href="{url("scores_csv", account, "range=30")}" download' in html


@pytest.mark.parametrize("name", ["signals_csv", "notes_csv", "scores_csv"])
def test_the_account_exports_read_a_bounded_number_of_queries(
    manager_client, account, name, django_assert_max_num_queries
) -> None:
    made = 0
    for n in (2, 60):
        for i in range(made, n):
            SignalFactory(account=account, value=i)
            NoteFactory(account=account)
            HealthScoreFactory(
                account=account, run=ScoreRunFactory(date=TODAY - dt.timedelta(days=i))
            )
        made = n
        with django_assert_max_num_queries(MAX_QUERIES):
            assert len(rows_of(manager_client.get(url(name, account)))) == n + 1


# ---------------------------------------------------------------- the journey board

JOURNEY_CSV = reverse("accounts:journey_csv")


def on_board(score: float | None, stage_slug: str = "adoption", **fields) -> Account:
    fields.setdefault("stage", JourneyStage.objects.get(slug=stage_slug))
    fields.setdefault("stage_since", TODAY - dt.timedelta(days=20))
    return scored(score, **fields)


@pytest.mark.parametrize("role, status", [(None, 403), (CSM, 200), (MANAGER, 200), (ADMIN, 200)])
def test_every_role_that_reads_the_board_may_export_it(client, db, role, status) -> None:
    on_board(30)

    assert client_as(client, role).get(JOURNEY_CSV).status_code == status


def test_the_journey_export_has_every_account_of_the_board_with_its_filters(
    manager_client,
) -> None:
    adoption = JourneyStage.objects.get(slug="adoption")
    owner = UserFactory(first_name="Ann", last_name="Lee", role=CSM)
    for i in range(35):  # more than a column's 30 cards
        on_board(20 + i, owner=owner, name=f"Adopter {i:02d}", arr=Decimal("100.50"))
    on_board(90, name="Healthy One", owner=owner)
    on_board(
        10,
        stage_slug="renewal",
        name="=Renewing",
        owner=owner,
        stage_since=TODAY - dt.timedelta(days=400),
    )
    on_board(5, name="Someone else's")
    query = f"owner={owner.pk}&band=red&band=yellow&measure=arr"

    page = manager_client.get(f"{reverse('accounts:journey')}?{query}").content.decode()
    response = manager_client.get(f"{JOURNEY_CSV}?owner={owner.pk}&band=red&band=yellow")

    assert f'href="{JOURNEY_CSV}?owner={owner.pk}&amp;band=red&amp;band=yellow" download' in page
    assert 'filename="journey-2026-11-22.csv"' in response["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0][:6] == ["Stage", "Account", "External id", "Owner", "Segment", "Health"]
    stages = [row[0] for row in rows[1:]]
    assert stages == ["Adoption"] * 35 + ["Renewal"]  # journey order; Healthy One filtered out
    assert [row[1] for row in rows[1:4]] == ["Adopter 00", "Adopter 01", "Adopter 02"]
    assert rows[1][3:] == [
        "Ann Lee",
        rows[1][4],
        "Unhealthy",
        "20.0",
        "100.50",
        rows[1][8],
        "20",
        "no" if 20 <= adoption.target_days else "yes",
    ]
    assert rows[-1][1] == "'=Renewing" and rows[-1][-2:] == ["400", "yes"]


def test_the_journey_export_without_scores_is_a_header(manager_client) -> None:
    AccountFactory()

    rows = rows_of(manager_client.get(JOURNEY_CSV))

    assert len(rows) == 1 and rows[0][0] == "Stage"


def test_the_journey_export_reads_a_bounded_number_of_queries(
    manager_client, django_assert_max_num_queries, settings, monkeypatch
) -> None:
    from healthboard.pages.journey import selectors

    # Chunks of 25 accounts: the 60 below take three, as 100,000 would take fifty.
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 25)
    for n in (4, 60):
        for i in range(n):
            on_board(i, name=f"Account {n}-{i}")
        with django_assert_max_num_queries(MAX_QUERIES + 4):
            assert len(rows_of(manager_client.get(f"{JOURNEY_CSV}?owner=all"))) == n + 1
        Account.objects.all().delete()


# ---------------------------------------------------------------- the scorecard preview's movers


@pytest.fixture
def demo(db, time_machine):
    """A small demo portfolio with signals, scored today (as the preview's own tests)."""
    from django.core.management import call_command

    from scoring.pipeline.runs import run_sync

    time_machine.move_to(NOW, tick=True)
    call_command(
        "seed_demo",
        force=True,  # the test database: DEBUG is off under pytest
        accounts=50,
        days=90,
        seed=5,
        end_date=TODAY.isoformat(),
        truth_file="",
        stdout=io.StringIO(),
    )
    run_sync(as_of=TODAY)
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    return card, draft


def preview_csv(card, draft) -> str:
    return reverse("scoring:scorecard_preview_csv", args=[card.pk, draft.number])


@pytest.mark.parametrize("role, status", [(None, 403), (CSM, 403), (MANAGER, 403), (ADMIN, 200)])
def test_the_movers_export_is_for_those_who_edit_scorecards(client, db, role, status) -> None:
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=None)

    response = client_as(client, role).post(preview_csv(card, draft), form_data(draft))

    assert response.status_code == status


def test_the_movers_export_lists_every_mover_for_the_posted_draft(
    admin_role_client, demo, django_assert_max_num_queries
) -> None:
    card, draft = demo
    data = form_data(draft, weights={"usage": "200"}, version={"green_at": "65"})
    before = {model: model.objects.count() for model in (HealthScore, ScorecardVersion)}
    forms = DraftForms(draft, data)
    assert forms.is_valid()
    preview = preview_draft(draft=forms.config())
    changes = list(preview_changes(preview))

    with django_assert_max_num_queries(PREVIEW_MAX_QUERIES + 1):
        response = admin_role_client.post(preview_csv(card, draft), data)
        rows = rows_of(response)

    assert (
        f"preview-movers-standard-v{draft.number}-2026-11-22.csv"
        in (response["Content-Disposition"])
    )
    assert rows[0] == [
        "Account",
        "External id",
        "Segment",
        "ARR",
        "Active score",
        "Active health",
        "Draft score",
        "Draft health",
        "Change",
    ]
    assert len(rows) - 1 == len(changes) > len(preview.movers) == 10
    # The page's ten first, in the page's order; then the rest, largest change first.
    assert [row[0] for row in rows[1:11]] == [m.name for m in preview.movers]
    changes_shown = [abs(float(row[8])) for row in rows[1:] if row[8]]
    assert changes_shown == sorted(changes_shown, reverse=True)
    band_changes = sum(1 for row in rows[1:] if row[5] != row[7])
    assert band_changes == preview.changed
    assert {model: model.objects.count() for model in before} == before  # nothing stored
    assert draft.category_weights.get(category="usage").weight != 200  # nor the typed weight


def test_the_movers_export_lists_band_changes_when_only_the_cut_offs_move(
    admin_role_client, demo
) -> None:
    card, draft = demo
    data = form_data(draft, version={"green_at": "95"})
    forms = DraftForms(draft, data)
    assert forms.is_valid()
    preview = preview_draft(draft=forms.config())

    rows = rows_of(admin_role_client.post(preview_csv(card, draft), data))

    assert preview.movers == [] and preview.changed > 0  # no score moves; bands do
    assert len(rows) - 1 == preview.changed
    assert all(abs(float(row[4]) - float(row[6])) < 0.1 for row in rows[1:])
    assert all(row[5] != row[7] for row in rows[1:])
    arrs = [float(row[3]) for row in rows[1:]]
    assert arrs == sorted(arrs, reverse=True)


def test_the_movers_export_of_a_draft_with_errors_is_the_editor_saying_why(
    admin_role_client, db
) -> None:
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    data = form_data(draft, version={"green_at": "banana"})

    response = admin_role_client.post(preview_csv(card, draft), data)

    assert response.status_code == 200
    assert not response.streaming
    html = response.content.decode()
    assert "Nothing exported: fix the fields marked below first." in html
    assert 'id="draft-form"' in html


def test_the_preview_offers_the_export_as_a_button_of_the_draft_form(
    admin_role_client, demo
) -> None:
    card, draft = demo
    response = admin_role_client.post(
        reverse("scoring:scorecard_preview", args=[card.pk, draft.number]),
        form_data(draft, weights={"usage": "200"}),
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert f'form="draft-form" formaction="{preview_csv(card, draft)}"' in html
    assert ">Export CSV</button>" in html


# ---------------------------------------------------------------- the metric catalogue

METRICS_CSV = reverse("catalogue:metrics_csv")


@pytest.mark.parametrize("role, status", [(None, 403), (CSM, 403), (MANAGER, 403), (ADMIN, 200)])
def test_the_metrics_export_is_for_those_who_edit_the_catalogue(client, db, role, status) -> None:
    assert client_as(client, role).get(METRICS_CSV).status_code == status


def test_the_metrics_export_re_imports_to_the_same_catalogue(
    admin_role_client, django_assert_max_num_queries
) -> None:
    MetricFactory(key="odd", name='=Odd, "one"', description="Line\nbreak", unit="")
    page = admin_role_client.get(reverse("catalogue:index")).content.decode()

    with django_assert_max_num_queries(MAX_QUERIES):
        body = body_of(admin_role_client.get(METRICS_CSV))
    result = import_run(kind="metrics", file=io.BytesIO(body))

    assert f'href="{METRICS_CSV}" download' in page
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == export_header("metrics")
    assert ["odd", '\'=Odd, "one"', "", "Usage", "more is better", "Line\nbreak"] in rows
    assert result.ok and (result.created, result.updated) == (0, 0), result.errors
    assert result.unchanged == len(rows) - 1
