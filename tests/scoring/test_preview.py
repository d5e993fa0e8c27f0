"""The what-if preview: stores nothing, and predicts exactly what publishing then stores."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from healthboard.pages.scorecards.forms import DraftForms
from scoring import services
from scoring.editor.preview import EXACT_ONE_BY_ONE, _margin, preview_draft
from scoring.models import (
    CategoryWeight,
    HealthScore,
    Measure,
    Scorecard,
    ScorecardChange,
    ScorecardVersion,
    ScoreRun,
)
from scoring.pipeline.runs import run_sync
from tests.factories import AccountFactory, SignalFactory
from tests.pages.test_scorecard_editor import form_data

# Session, user, permissions (2), role, scorecard, version + 3 prefetches, metrics, formset
# measures, active versions (+3 prefetches), segments, accounts, their seats, today's run,
# stored scores, ARR,
# movers, a set-based signal pass (1 or 2 queries per 20,000 accounts, never per account):
# measured 23-25. An account whose score sits on a band cut-off within the rounding of
# today's stored values is re-read from its signals: at most EXACT_ONE_BY_ONE of them, two
# queries each, whatever the number of accounts.
PREVIEW_MAX_QUERIES = 25 + 2 * EXACT_ONE_BY_ONE
MODELS = (HealthScore, ScoreRun, Measure, ScorecardVersion, CategoryWeight, ScorecardChange)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def demo(db, today):
    """A small demo portfolio with four months of signals, scored today."""
    call_command(
        "seed_demo",
        force=True,  # the test database: DEBUG is off under pytest
        accounts=60,
        days=120,
        seed=3,
        end_date=today.isoformat(),
        truth_file="",
        stdout=open("/dev/null", "w"),
    )
    run_sync(as_of=today)
    return Account.objects.count()


def preview_of(draft: ScorecardVersion, data: dict, **kwargs):
    forms = DraftForms(draft, data)
    assert forms.is_valid(), forms.version.errors or forms.measures.errors
    return preview_draft(draft=forms.config(), **kwargs)


def preview_fragment(client, card, draft, data) -> str:
    """The preview's HTMX fragment for the form data posted."""
    response = client.post(
        reverse("scoring:scorecard_preview", args=[card.pk, draft.number]),
        data,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    return response.content.decode()


def stored_bands(today) -> dict[int, tuple[str, int]]:
    return {
        account: (band, version)
        for account, band, version in HealthScore.objects.filter(
            run__status="done", date=today
        ).values_list("account_id", "band", "version_id")
    }


# ---------------------------------------------------------------- stores nothing


def test_the_preview_stores_nothing(admin_role_client, demo, admin_role_user):
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=admin_role_user)
    before = row_counts()
    data = form_data(draft, weights={"usage": "90"}, measures={"NPS": {"weight": "4"}})
    response = admin_role_client.post(
        reverse("scoring:scorecard_preview", args=[card.pk, draft.number]),
        data,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Accounts changing band" in response.content.decode()
    assert row_counts() == before
    assert draft.measures.get(name="NPS").weight == 1.5  # the typed weight was not saved


# ---------------------------------------------------------------- predicts the recompute


@pytest.mark.parametrize(
    "changes",
    [
        {"weights": {"usage": "90", "sentiment": "5"}},
        {"measures": {"NPS": {"weight": "6"}, "CSAT": {"red": "4", "green": "4.8"}}},
        {"version": {"green_at": "60", "red_below": "50"}},
        {"version": {"band_mode": "percentile", "top_share": "30", "bottom_share": "20"}},
    ],
    ids=["category weights", "measures", "fixed bands", "percentile bands"],
)
def test_accounts_changing_band_are_what_the_recompute_then_stores(demo, today, changes):
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    before = stored_bands(today)
    data = form_data(draft, **changes)

    preview = preview_of(draft, data)
    assert preview.before_source.startswith("today's published scores")
    services.scorecard_publish(draft=draft, user=None, forms=DraftForms(draft, data))
    run_sync(as_of=today)
    after = stored_bands(today)

    scored = {a for a, (_, version) in after.items() if version == draft.pk}
    assert scored == set(preview.account_ids.tolist())
    stored_changes = {a: (before[a][0], after[a][0]) for a in scored if before[a][0] != after[a][0]}
    assert preview.changed_accounts == stored_changes
    assert preview.changed == len(stored_changes) > 0
    # The other scorecards' accounts are untouched.
    others = {a for a, (_, version) in after.items() if version != draft.pk}
    assert all(before[a][0] == after[a][0] for a in others)


def test_unchanged_measures_reuse_todays_values_and_cut_off_cases_are_recomputed(demo, today):
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    # Put the healthy cut-off right on one account's score: rounding could decide its band.
    on_the_edge = (
        HealthScore.objects.filter(run__status="done", version__scorecard=card, score__gt=50)
        .order_by("score")
        .first()
    )
    data = form_data(draft, version={"green_at": str(on_the_edge.score)})
    preview = preview_of(draft, data)
    assert preview.stats["reused_measures"] > 0
    assert preview.stats["exact_accounts"] >= 1
    computed = preview_of(draft, data, use_stored=False)
    assert (computed.after_bands == preview.after_bands).all()

    before = stored_bands(today)
    services.scorecard_publish(draft=draft, user=None, forms=DraftForms(draft, data))
    run_sync(as_of=today)
    after = stored_bands(today)
    assert preview.changed_accounts == {
        a: (before[a][0], after[a][0])
        for a in preview.account_ids.tolist()
        if before[a][0] != after[a][0]
    }


def test_computing_the_active_version_gives_todays_stored_scores(demo, today):
    card = Scorecard.objects.get(name="Enterprise")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    stored = preview_of(draft, form_data(draft))
    computed = preview_of(draft, form_data(draft), use_stored=False)
    assert computed.before_source.startswith("v1 computed now")
    assert (computed.before_bands == stored.before_bands).all()
    assert computed.changed == stored.changed == 0


def test_the_preview_scores_only_the_scorecards_own_segments(demo, today):
    card = Scorecard.objects.get(name="SMB")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    preview = preview_of(draft, form_data(draft))
    smb = Account.objects.filter(segment__slug="smb", pk__in=preview.account_ids.tolist())
    assert preview.accounts == smb.count() == len(preview.account_ids) > 0
    assert preview.movers == []


def test_the_biggest_movers_come_first(demo, today):
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    preview = preview_of(draft, form_data(draft, weights={"usage": "200"}))
    deltas = [abs(m.delta) for m in preview.movers]
    assert 0 < len(deltas) <= 10 and deltas == sorted(deltas, reverse=True)
    assert all(m.name for m in preview.movers)
    moved = sum(cell.n for row in preview.matrix.values() for cell in row.values())
    assert moved == preview.accounts


# ---------------------------------------------------------------- the endpoint


def test_the_preview_query_count_does_not_grow_with_accounts(
    admin_role_client, today, db, django_assert_max_num_queries
):
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    address = reverse("scoring:scorecard_preview", args=[card.pk, draft.number])
    data = form_data(draft, weights={"usage": "90"})

    def post() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = admin_role_client.post(address, data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        return len(queries)

    def accounts(n: int) -> None:
        for account in AccountFactory.create_batch(n, owner=None, segment__slug="mid-market"):
            SignalFactory(account=account, metric__key="logins", value=100)

    accounts(3)
    few = post()
    accounts(30)
    assert post() == few <= PREVIEW_MAX_QUERIES


def test_the_preview_renders_the_chart_the_matrix_and_links_to_movers(
    admin_role_client, demo, admin_role_user, django_assert_max_num_queries
):
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=admin_role_user)
    data = form_data(draft, weights={"usage": "150"})
    with django_assert_max_num_queries(PREVIEW_MAX_QUERIES):
        html = preview_fragment(admin_role_client, card, draft, data)
    assert "<html" not in html
    assert "data-plotly-figure" in html and "Band transitions" in html
    assert 'href="/accounts/' in html
    assert 'id="preview-bar" hx-swap-oob="true"' in html


def test_without_javascript_the_preview_comes_with_the_whole_editor(
    admin_role_client, demo, admin_role_user
):
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=admin_role_user)
    response = admin_role_client.post(
        reverse("scoring:scorecard_preview", args=[card.pk, draft.number]), form_data(draft)
    )
    html = response.content.decode()
    assert "<html" in html and "Accounts changing band" in html


def test_a_draft_without_measures_has_nothing_to_preview(db):
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    names = tuple(draft.measures.values_list("name", flat=True))
    preview = preview_of(draft, form_data(draft, delete=names))
    assert "no measures" in preview.error


def test_a_scorecard_without_accounts_previews_an_empty_portfolio(db):
    AccountFactory(segment__slug="enterprise", status="churned")
    card = Scorecard.objects.get(name="Enterprise")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    preview = preview_of(draft, form_data(draft))
    assert preview.accounts == 0 and preview.changed == 0 and not preview.error


# ---------------------------------------------------------------- a sample of a large scorecard


def test_a_large_scorecard_is_previewed_on_a_sample_scaled_to_all_its_accounts(
    demo, today, settings
):
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=None)
    data = form_data(draft, weights={"usage": "150"}, version={"green_at": "65"})
    full = preview_of(draft, data, sample_size=0)
    settings.PREVIEW_SAMPLE_ACCOUNTS = 20
    assert full.accounts > 20 and full.sampled == 0 and full.changed_margin == 0

    sampled = preview_of(draft, data)
    n, population = 20, full.accounts
    assert sampled.sampled == n and sampled.accounts == population
    ids = sampled.account_ids.tolist()
    assert len(ids) == n and ids == sorted(ids) and set(ids) <= set(full.account_ids.tolist())
    # The same accounts from one edit to the next: successive previews compare alike.
    assert preview_of(draft, data).account_ids.tolist() == ids
    # Today's stored scores of the sampled accounts are the "before" side.
    assert sampled.before_source.startswith("today's published scores")
    in_full = {a: b for a, b in zip(full.account_ids.tolist(), full.before_bands, strict=True)}
    assert [in_full[a] for a in ids] == sampled.before_bands.tolist()

    # Counts are the sample's, scaled to the population, with their margin (95 %).
    k = len(sampled.changed_accounts)
    assert sampled.changed == round(k * population / n)
    p = k / n
    expected = (
        1.96
        * population
        * np.sqrt(p * (1 - p) * n / (n - 1))
        / np.sqrt(n)
        * np.sqrt((population - n) / (population - 1))
    )
    assert sampled.changed_margin == round(expected)
    cells = sum(cell.n for row in sampled.matrix.values() for cell in row.values())
    assert abs(cells - population) <= len(sampled.matrix) ** 2
    assert sampled.changed_share_margin == pytest.approx(100 * sampled.changed_margin / population)


def test_the_margin_of_a_sampled_count_holds_95_times_in_100():
    """The stated margin, tried on 400 samples of a known population: the true count lies
    within it about 95 % of the time (neither much more, an over-cautious margin, nor less).
    ARR is heavy-tailed (log-normal here): its margin is the same normal approximation, a
    little looser at this size (held 90 % for 2 % movers with a heavier tail at 20,000)."""
    rng = np.random.default_rng(7)
    population = 50_000
    moved = (rng.random(population) < 0.12).astype(np.float64)
    arr = rng.lognormal(10, 1.2, population) * moved
    truth, truth_arr = moved.sum(), arr.sum()
    held = held_arr = 0
    for _ in range(400):
        rows = rng.choice(population, size=5_000, replace=False)
        estimate = moved[rows].sum() * population / 5_000
        held += abs(estimate - truth) <= _margin(moved[rows], population)
        estimate_arr = arr[rows].sum() * population / 5_000
        held_arr += abs(estimate_arr - truth_arr) <= _margin(arr[rows], population)
    assert 0.92 <= held / 400 <= 0.98
    assert 0.90 <= held_arr / 400 <= 0.98


def test_the_editor_says_the_preview_is_an_estimate_and_how_close(
    admin_role_client, demo, admin_role_user, settings, django_assert_max_num_queries
):
    settings.PREVIEW_SAMPLE_ACCOUNTS = 20
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=admin_role_user)
    data = form_data(draft, weights={"usage": "150"}, version={"green_at": "65"})
    with django_assert_max_num_queries(PREVIEW_MAX_QUERIES):
        html = preview_fragment(admin_role_client, card, draft, data)
    assert "Estimated from a random sample of 20 of the" in html
    assert "95 times in 100" in html and "≈" in html and "Among the 20 sampled accounts" in html

    export = admin_role_client.post(
        reverse("scoring:scorecard_preview_csv", args=[card.pk, draft.number]), data
    )
    assert export.status_code == 200
    assert "-sample-" in export["Content-Disposition"]
    rows = b"".join(export.streaming_content).decode().splitlines()[1:]
    assert 0 < len(rows) <= 20  # the sampled accounts that move, not the population's
