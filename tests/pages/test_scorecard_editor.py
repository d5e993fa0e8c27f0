"""The scorecard editor: roles, drafts, validation at the field, publishing, audit, history."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from healthboard.bench.editor import editor_post_data
from healthboard.pages.scorecards.forms import MAX_MEASURES, DraftForms
from healthboard.pages.scorecards.widgets import (
    QuickCheckbox,
    QuickHidden,
    QuickNumberInput,
    QuickSelect,
    QuickTextInput,
)
from scoring import services
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

# Session, user, permission check, scorecards, segments, versions, latest run, counts,
# default segments (measured: 8). None of them grows with accounts or versions.
# +1: the navigation's count of the user's calls to action due now (every page).
LIST_MAX_QUERIES = 11
# Session, user, permissions (2), role, scorecard, version + measures + weights + segments,
# metrics, formset measures, versions (the active one), running run (measured: 14).
# +1: the navigation's count of the user's calls to action due now (every page).
EDITOR_MAX_QUERIES = 15
# Session, user, permissions (2), role, scorecard, count, page of changes (measured: 8).
# +1: the navigation's count of the user's calls to action due now (every page).
HISTORY_MAX_QUERIES = 9
# Session, user, permissions (2), role, scorecard, version + 3 prefetches, runs (measured: 11).
PROGRESS_MAX_QUERIES = 11


# ---------------------------------------------------------------- helpers


def form_data(
    draft: ScorecardVersion,
    *,
    measures: dict[str, dict] | None = None,
    weights: dict[str, object] | None = None,
    version: dict[str, object] | None = None,
    delete: tuple[str, ...] = (),
    **extra,
) -> dict:
    """What the editor posts for the draft as it is saved, with some fields changed:
    measures={"NPS": {"weight": "2"}}, weights={"usage": "40"}, version={"green_at": "75"},
    delete=("NPS",) ticks Remove, extra is added as is (e.g. op="up:3")."""
    forms = DraftForms(draft)
    data: dict = editor_post_data(forms)
    for form in forms.measures.forms:
        name = form.instance.name
        for key, value in (measures or {}).get(name, {}).items():
            data[form.add_prefix(key)] = value
        if name in delete:
            data[form.add_prefix("DELETE")] = "on"
    for key, value in (weights or {}).items():
        data[f"cw-w_{key}"] = value
    for key, value in (version or {}).items():
        data[f"version-{key}"] = value
    data.update(extra)
    return data


def snapshot(version: ScorecardVersion) -> tuple:
    """Everything of a version that a refused save must leave alone."""
    version.refresh_from_db()
    return (
        version.status,
        version.green_at,
        version.red_below,
        version.min_coverage,
        sorted(version.measures.values_list("id", "name", "weight", "red", "green", "metric_id")),
        sorted(version.category_weights.values_list("category", "weight")),
        ScorecardChange.objects.count(),
    )


def url(name: str, card: Scorecard, number: int | None = None) -> str:
    args = [card.pk] if number is None else [card.pk, number]
    return reverse(f"scoring:{name}", args=args)


@pytest.fixture
def standard(db) -> Scorecard:
    return Scorecard.objects.get(name="Standard")


@pytest.fixture
def draft(standard, admin_role_user) -> ScorecardVersion:
    return services.scorecard_draft_create(scorecard=standard, user=admin_role_user)


def active_of(card: Scorecard) -> ScorecardVersion:
    return card.versions.get(status=ScorecardVersion.Status.ACTIVE)


def field_error(html: str, field_id: str) -> str:
    """The message shown at one field (Django's aria-describedby id: <id>_error)."""
    match = re.search(rf'id="{re.escape(field_id)}_error">(.*?)</(?:li|small)>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)) if match else ""


# ---------------------------------------------------------------- quick widgets


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.items: list = []

    def handle_starttag(self, tag, attrs):
        self.items.append((tag, sorted(attrs, key=lambda a: a[0])))

    def handle_data(self, data):
        if data.strip():
            self.items.append(data.strip())


def parsed(html: str) -> list:
    tags = _Tags()
    tags.feed(str(html))
    return tags.items


@pytest.mark.parametrize(
    ("quick", "django", "value"),
    [
        (QuickSelect, forms.Select, 2),
        (QuickTextInput, forms.TextInput, 'Say "hi" <b>'),
        (QuickNumberInput, forms.NumberInput, "1.5"),
        (QuickCheckbox, forms.CheckboxInput, True),
        (QuickHidden, forms.HiddenInput, "7"),
    ],
)
def test_the_quick_widgets_write_what_django_writes(quick, django, value):
    choices = [("", "—"), ("Usage", [(1, "Logins <&>"), (2, "Users")]), (3, "x")]
    kwargs = {"choices": choices} if django is forms.Select else {}
    attrs = {"id": "id_f", "aria-invalid": "true", "required": True}
    assert parsed(quick(**kwargs).render("f", value, attrs)) == parsed(
        django(**kwargs).render("f", value, attrs)
    )


# ---------------------------------------------------------------- roles


def editing_urls(card: Scorecard, draft: ScorecardVersion, active: ScorecardVersion) -> list:
    """Every URL that changes a scorecard or shows what only Admins may see."""
    n = draft.number
    return [
        ("post", url("scorecard_draft_create", card)),
        ("get", url("scorecard_draft", card, n)),
        ("post", url("scorecard_draft", card, n)),
        ("post", url("scorecard_validate", card, n)),
        ("post", url("scorecard_preview", card, n)),
        ("post", url("scorecard_publish", card, n)),
        ("post", url("scorecard_discard", card, n)),
        ("get", url("scorecard_progress", card, active.number)),
        ("post", url("scorecard_recompute", card, active.number)),
        ("get", url("scorecard_history", card)),
        ("get", url("scorecard_version", card, n)),
    ]


@pytest.mark.parametrize("who", ["csm_client", "manager_client"])
def test_csms_and_managers_get_403_on_every_editing_url(request, who, standard, draft):
    client = request.getfixturevalue(who)
    before = snapshot(draft)
    for method, address in editing_urls(standard, draft, active_of(standard)):
        response = getattr(client, method)(address)
        assert response.status_code == 403, (method, address)
    assert snapshot(draft) == before
    assert ScorecardVersion.objects.filter(scorecard=standard).count() == 2


def test_a_csm_cannot_even_read_the_scorecards(csm_client, standard):
    assert csm_client.get(reverse("scoring:scorecards")).status_code == 403
    assert csm_client.get(url("scorecard_detail", standard)).status_code == 403
    assert csm_client.get(url("scorecard_version", standard, 1)).status_code == 403


def test_a_manager_reads_the_active_scorecard_without_edit_actions(manager_client, standard, draft):
    listing = manager_client.get(reverse("scoring:scorecards"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Standard" in html and "Enterprise" in html
    assert "New draft" not in html and "audit trail" not in html
    # Drafts are for admins (matched as words: the page's random CSRF token may hold "v2").
    assert not re.search(rf"\bv{draft.number}\b", html)
    assert url("scorecard_draft", standard, draft.number) not in html

    detail = manager_client.get(url("scorecard_detail", standard))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "NPS" in page and "Healthy" in page
    assert "Edit draft" not in page and "New draft" not in page
    assert url("scorecard_draft_create", standard) not in page
    assert url("scorecard_history", standard) not in page


def test_a_manager_gets_403_on_a_retired_or_draft_version(manager_client, standard, draft):
    assert manager_client.get(url("scorecard_version", standard, draft.number)).status_code == 403


# ---------------------------------------------------------------- list and detail


def test_the_list_shows_segments_active_version_drafts_and_history(
    admin_role_client, standard, draft, django_assert_max_num_queries
):
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = admin_role_client.get(reverse("scoring:scorecards"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Default" in html and "every segment without its own scorecard" in html
    assert "Mid-market" in html  # the segment the default scorecard covers
    assert url("scorecard_draft", standard, draft.number) in html
    assert url("scorecard_history", standard) in html
    assert "New draft from v1" in html


def test_the_list_query_count_does_not_grow_with_versions_or_accounts(
    admin_role_client, standard, admin_role_user, django_assert_max_num_queries
):
    for _ in range(3):
        services.scorecard_draft_create(scorecard=standard, user=admin_role_user)
    AccountFactory.create_batch(5)
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        assert admin_role_client.get(reverse("scoring:scorecards")).status_code == 200


def region_pages(standard, draft) -> list[str]:
    """The scorecard pages with a region that HTMX requests get alone."""
    return [
        reverse("scoring:scorecards"),
        url("scorecard_detail", standard),
        url("scorecard_history", standard),
        url("scorecard_draft", standard, draft.number),
        url("scorecard_progress", standard, 1),
    ]


def test_htmx_requests_get_only_the_fragment(admin_role_client, standard, draft):
    for address in region_pages(standard, draft):
        response = admin_role_client.get(address, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert b"<html" not in response.content, address
        assert "HX-Request" in response["Vary"], address


@pytest.mark.parametrize(
    "headers", [{"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}, {"HTTP_HX_BOOSTED": "true"}]
)
def test_history_restores_and_boosted_requests_get_the_whole_page(
    admin_role_client, standard, draft, headers
):
    for address in region_pages(standard, draft):
        response = admin_role_client.get(address, HTTP_HX_REQUEST="true", **headers)
        assert response.status_code == 200
        assert b"<html" in response.content, address
        # The page and its region share a URL: a cache must tell them apart.
        assert "HX-Request" in response["Vary"], address


def test_unknown_scorecards_and_versions_are_404(admin_role_client, standard):
    assert admin_role_client.get(reverse("scoring:scorecard_detail", args=[999])).status_code == 404
    assert admin_role_client.get(url("scorecard_draft", standard, 99)).status_code == 404
    assert admin_role_client.get(url("scorecard_version", standard, 99)).status_code == 404


# ---------------------------------------------------------------- drafts


def test_a_new_draft_copies_the_active_version(admin_role_client, standard, admin_role_user):
    active = active_of(standard)
    response = admin_role_client.post(url("scorecard_draft_create", standard))
    draft = standard.versions.get(status="draft")
    assert response.status_code == 302
    assert response["Location"] == url("scorecard_draft", standard, draft.number)
    assert draft.number == active.number + 1
    assert draft.created_by == admin_role_user
    fields = ("name", "category", "metric_id", "rule", "red", "green", "weight", "order")
    assert list(draft.measures.order_by("order", "id").values_list(*fields)) == list(
        active.measures.order_by("order", "id").values_list(*fields)
    )
    assert sorted(draft.category_weights.values_list("category", "weight")) == sorted(
        active.category_weights.values_list("category", "weight")
    )
    change = ScorecardChange.objects.get()
    assert change.action == "created" and change.user == admin_role_user
    assert f"v{active.number}" in change.summary


def test_the_editor_shows_every_measure_with_its_share(
    admin_role_client, standard, draft, django_assert_max_num_queries
):
    with django_assert_max_num_queries(EDITOR_MAX_QUERIES):
        response = admin_role_client.get(url("scorecard_draft", standard, draft.number))
    html = response.content.decode()
    assert response.status_code == 200
    for name in draft.measures.values_list("name", flat=True):
        assert name in html
    # Usage weighs 30 of 115 and has four measures of weight 1: 6.5 % each.
    assert re.search(r'id="share-0">\s*6\.5%', html)
    assert "data-plotly-figure" not in html  # the preview loads after the page


def test_saving_a_draft_records_a_readable_diff(
    admin_role_client, standard, draft, admin_role_user
):
    data = form_data(
        draft,
        measures={"NPS": {"weight": "2"}},
        weights={"support": "25"},
        version={"green_at": "75"},
    )
    response = admin_role_client.post(url("scorecard_draft", standard, draft.number), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.green_at == 75
    assert draft.measures.get(name="NPS").weight == 2
    assert draft.category_weights.get(category="support").weight == 25
    change = ScorecardChange.objects.filter(action="saved").get()
    assert change.user == admin_role_user
    assert "Weight of NPS 1.5 → 2" in change.diff
    assert "Weight of category Support 20 → 25" in change.diff
    assert "Healthy band from 70 → 75" in change.diff


def test_saving_an_unchanged_draft_records_nothing(admin_role_client, standard, draft):
    before = ScorecardChange.objects.count()
    admin_role_client.post(url("scorecard_draft", standard, draft.number), form_data(draft))
    assert ScorecardChange.objects.count() == before


def test_measures_can_be_added_moved_and_removed(admin_role_client, standard, draft):
    address = url("scorecard_validate", standard, draft.number)
    usage = list(draft.measures.filter(category="usage").order_by("order"))
    moved = admin_role_client.post(
        address, form_data(draft, op="down:0"), HTTP_HX_REQUEST="true"
    ).content.decode()
    # The first usage measure now comes after the second one.
    assert moved.index(usage[1].name) < moved.index(usage[0].name)

    added = admin_role_client.post(
        address, form_data(draft, op="add:outcomes"), HTTP_HX_REQUEST="true"
    )
    assert "New kpi / roi attainment measure" in added.content.decode()

    data = form_data(draft, delete=("Spend trend",), op="")
    data.pop("op")
    admin_role_client.post(url("scorecard_draft", standard, draft.number), data)
    assert not draft.measures.filter(name="Spend trend").exists()
    change = ScorecardChange.objects.get(action="saved")
    assert "Removed measure “Spend trend”" in change.diff


def test_the_order_chosen_is_the_order_saved(admin_role_client, standard, draft):
    usage = list(draft.measures.filter(category="usage").order_by("order"))
    data = form_data(draft, op="down:0")
    edited = admin_role_client.post(url("scorecard_draft", standard, draft.number), data)
    assert edited.status_code == 200  # the no-JavaScript path shows the change unsaved
    data = {key: value for key, value in data.items() if key != "op"}
    # Apply the move the way the form would post it back.
    data["measures-0-order"], data["measures-1-order"] = "1", "0"
    admin_role_client.post(url("scorecard_draft", standard, draft.number), data)
    now = list(draft.measures.filter(category="usage").order_by("order"))
    assert [m.pk for m in now[:2]] == [usage[1].pk, usage[0].pk]
    assert "Reordered the measures of Usage" in ScorecardChange.objects.get(action="saved").diff


def test_validation_returns_the_form_with_shares_and_asks_the_preview_to_follow(
    admin_role_client, standard, draft, django_assert_max_num_queries
):
    data = form_data(draft, weights={"usage": "90"})
    with django_assert_max_num_queries(EDITOR_MAX_QUERIES):
        response = admin_role_client.post(
            url("scorecard_validate", standard, draft.number), data, HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert response["HX-Trigger-After-Settle"] == "draft-changed"
    # Usage now weighs 90 of 175: 12.9 % for each of its four measures.
    assert re.search(r'id="share-0">\s*12\.9%', html)
    assert draft.category_weights.get(category="usage").weight == 30


# ---------------------------------------------------------------- bad input


def _nps(draft: ScorecardVersion) -> str:
    index = list(draft.measures.order_by("order", "id").values_list("name", flat=True)).index("NPS")
    return f"id_measures-{index}"


BAD_INPUT = [
    # (what, changes, field id suffix or a whole id, expected message)
    ("negative measure weight", {"measures": {"NPS": {"weight": "-1"}}}, "NPS-weight", "negative"),
    ("negative category weight", {"weights": {"usage": "-5"}}, "id_cw-w_usage", "negative"),
    (
        "inverted thresholds",
        {"measures": {"NPS": {"red": "40", "green": "-20"}}},
        "NPS-green",
        "inverted",
    ),
    ("unknown metric", {"measures": {"NPS": {"metric": "99999"}}}, "NPS-metric", "Unknown metric"),
    ("cut-off above 100", {"version": {"green_at": "120"}}, "id_version-green_at", "0 to 100"),
    ("cut-off below 0", {"version": {"red_below": "-5"}}, "id_version-red_below", "0 to 100"),
    (
        "red band above green",
        {"version": {"red_below": "80", "green_at": "60"}},
        "id_version-red_below",
        "must not be above",
    ),
    (
        "share above 100 %",
        {"version": {"min_coverage": "150"}},
        "id_version-min_coverage",
        "0 to 100",
    ),
    (
        "a window of no days",
        {"measures": {"NPS": {"window_days": "0"}}},
        "NPS-window_days",
        "at least 1 day",
    ),
    ("not a number", {"measures": {"NPS": {"weight": "heavy"}}}, "NPS-weight", "number"),
]


@pytest.mark.parametrize("action", ["scorecard_draft", "scorecard_publish"])
@pytest.mark.parametrize(
    ("what", "changes", "field", "message"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT]
)
def test_bad_input_is_refused_at_the_field_and_nothing_is_saved(
    admin_role_client, standard, draft, action, what, changes, field, message
):
    before = snapshot(draft)
    active_before = active_of(standard).pk
    response = admin_role_client.post(
        url(action, standard, draft.number), form_data(draft, **changes)
    )
    html = response.content.decode()
    assert response.status_code == 200, what
    field_id = field if field.startswith("id_") else f"{_nps(draft)}-{field.split('-', 1)[1]}"
    assert message in field_error(html, field_id), (what, field_id)
    assert 'aria-invalid="true"' in html
    assert snapshot(draft) == before
    assert active_of(standard).pk == active_before


def test_publishing_a_draft_without_measures_is_refused_and_nothing_saved(
    admin_role_client, standard, draft
):
    before = snapshot(draft)
    names = tuple(draft.measures.values_list("name", flat=True))
    response = admin_role_client.post(
        url("scorecard_publish", standard, draft.number), form_data(draft, delete=names)
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="publish-problems"><p>[^<]*no measures', html)
    assert snapshot(draft) == before  # the removals were rolled back too
    assert active_of(standard).number == 1


def test_a_draft_with_bad_input_gets_no_preview(admin_role_client, standard, draft):
    data = form_data(draft, measures={"NPS": {"weight": "-1"}})
    response = admin_role_client.post(
        url("scorecard_preview", standard, draft.number), data, HTTP_HX_REQUEST="true"
    )
    assert "No preview while the draft has errors" in response.content.decode()


def test_a_tampered_formset_is_refused_not_a_500(admin_role_client, standard, draft):
    data = form_data(draft)
    del data["measures-TOTAL_FORMS"]
    response = admin_role_client.post(url("scorecard_draft", standard, draft.number), data)
    assert response.status_code == 200
    assert "ManagementForm data is missing" in response.content.decode()


def test_a_posted_form_count_builds_no_more_forms_than_the_cap(admin_role_client, standard, draft):
    data = form_data(draft)
    data["measures-TOTAL_FORMS"] = "100000"

    response = admin_role_client.post(url("scorecard_draft", standard, draft.number), data)

    assert response.status_code == 200
    assert len(response.context["forms"].measures.forms) == MAX_MEASURES
    assert "Please submit at most 60 forms." in response.content.decode()


# ---------------------------------------------------------------- publishing


@pytest.mark.django_db(transaction=True)  # the recompute is queued on a real commit
def test_with_the_queue_down_publishing_commits_and_says_the_recompute_waits(
    admin_role_client, standard, draft, broker_down
):
    response = admin_role_client.post(
        url("scorecard_publish", standard, draft.number), form_data(draft), follow=True
    )

    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == "active"
    assert (
        "Today&#x27;s scores were not recomputed: the task queue (Redis) does not answer"
        in response.content.decode()
    )


def test_publishing_makes_exactly_one_active_version_and_records_the_diff(
    admin_role_client, standard, draft, admin_role_user, django_capture_on_commit_callbacks
):
    data = form_data(draft, measures={"NPS": {"weight": "2"}})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_role_client.post(url("scorecard_publish", standard, draft.number), data)
    assert response.status_code == 302
    assert response["Location"] == url("scorecard_progress", standard, draft.number)
    for card in Scorecard.objects.all():
        assert card.versions.filter(status="active").count() == 1
    draft.refresh_from_db()
    assert draft.status == "active"
    assert draft.published_by == admin_role_user and draft.published_at is not None
    assert standard.versions.get(number=1).status == "retired"
    published = ScorecardChange.objects.get(action="published")
    assert published.diff == ["Weight of NPS 1.5 → 2"]
    assert "replacing v1" in published.summary
    # The recompute ran (Celery is eager in tests) and its scores name the new version.
    run = ScoreRun.objects.get(date=timezone.localdate(), status="done")
    assert run.trigger == "publish"


def test_publishing_recomputes_today_with_the_new_version(
    admin_role_client, standard, draft, django_capture_on_commit_callbacks
):
    account = AccountFactory(segment__slug="mid-market")
    SignalFactory(account=account, metric__key="logins", value=200)
    run_sync(as_of=timezone.localdate())
    assert HealthScore.objects.get(run__status="done", account=account).version == active_of(
        standard
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_role_client.post(url("scorecard_publish", standard, draft.number), form_data(draft))
    score = HealthScore.objects.get(run__status="done", account=account)
    assert score.version_id == draft.pk

    progress = admin_role_client.get(url("scorecard_progress", standard, draft.number))
    html = progress.content.decode()
    assert "Done." in html and "1 account scored" in html
    assert 'hx-trigger="every 1s"' not in html  # finished: the partial stops polling
    assert reverse("home") in html


def _quarter_done_run(**fields) -> ScoreRun:
    """Today's recompute after publishing, 50 of 200 accounts in."""
    return ScoreRun.objects.create(
        date=timezone.localdate(),
        status="running",
        accounts_total=200,
        accounts_done=50,
        trigger="publish",
        **fields,
    )


def test_the_progress_partial_polls_while_the_run_runs(
    admin_role_client, standard, draft, django_assert_max_num_queries
):
    services.scorecard_publish(draft=draft, user=None)
    _quarter_done_run()
    with django_assert_max_num_queries(PROGRESS_MAX_QUERIES):
        response = admin_role_client.get(
            url("scorecard_progress", standard, draft.number), HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert "<html" not in html
    assert 'hx-trigger="every 1s"' in html
    assert 'value="50" max="200"' in html and "25 %" in html


def test_the_progress_partial_offers_a_recompute_when_the_run_was_abandoned(
    admin_role_client, standard, draft
):
    services.scorecard_publish(draft=draft, user=None)
    _quarter_done_run(heartbeat_at=timezone.now() - ScoreRun.STALE_AFTER - dt.timedelta(minutes=1))
    html = admin_role_client.get(
        url("scorecard_progress", standard, draft.number), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "The recompute stopped" in html and "50 of 200 accounts" in html
    assert 'hx-trigger="every 1s"' not in html  # nothing moves it: no polling
    assert url("scorecard_recompute", standard, draft.number) in html


def test_publishing_while_a_run_for_today_is_running_says_so(admin_role_client, standard, draft):
    ScoreRun.objects.create(date=timezone.localdate(), status="running")
    response = admin_role_client.post(
        url("scorecard_publish", standard, draft.number), form_data(draft), follow=True
    )
    html = response.content.decode()
    assert "already running" in html
    assert "still running with the previous version" in html


def test_a_draft_cannot_be_published_twice(admin_role_client, standard, draft):
    services.scorecard_publish(draft=draft, user=None)
    response = admin_role_client.post(url("scorecard_publish", standard, draft.number), follow=True)
    assert "is active and cannot change" in response.content.decode()
    assert standard.versions.filter(status="active").count() == 1


def test_publishing_a_saved_draft_without_the_form(admin_role_client, standard, draft):
    response = admin_role_client.post(url("scorecard_publish", standard, draft.number))
    assert response.status_code == 302
    assert active_of(standard).pk == draft.pk


def test_publishing_can_back_fill_earlier_days(
    admin_role_client, standard, draft, django_capture_on_commit_callbacks
):
    AccountFactory(segment__slug="mid-market")
    data = form_data(draft, backfill="on", backfill_days="2")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_role_client.post(url("scorecard_publish", standard, draft.number), data)
    assert response["Location"].endswith("?backfill=2")
    today = timezone.localdate()
    done = set(ScoreRun.objects.filter(status="done").values_list("date", flat=True))
    assert done == {today, today - dt.timedelta(days=1), today - dt.timedelta(days=2)}
    assert set(HealthScore.objects.values_list("version", flat=True)) == {draft.pk}
    progress = admin_role_client.get(response["Location"]).content.decode()
    assert "Back-fill: 2 of 2 earlier days rescored" in progress


def test_a_back_fill_of_too_many_days_is_refused_at_the_field(admin_role_client, standard, draft):
    data = form_data(draft, backfill="on", backfill_days="500")
    response = admin_role_client.post(url("scorecard_publish", standard, draft.number), data)
    assert "at most 90 days" in field_error(response.content.decode(), "id_backfill_days")
    assert draft.status == "draft" and active_of(standard).number == 1


# ---------------------------------------------------------------- discarding and history


def test_discarding_a_draft_keeps_its_number_in_the_audit_trail(
    admin_role_client, standard, draft, admin_role_user
):
    number = draft.number
    response = admin_role_client.post(url("scorecard_discard", standard, number))
    assert response.status_code == 302
    assert not ScorecardVersion.objects.filter(pk=draft.pk).exists()
    discarded = ScorecardChange.objects.get(action="discarded")
    assert discarded.version_number == number and discarded.user == admin_role_user
    again = services.scorecard_draft_create(scorecard=standard, user=admin_role_user)
    assert again.number == number + 1


def test_the_history_lists_every_change_with_who_and_what(
    admin_role_client, standard, draft, admin_role_user, django_assert_max_num_queries
):
    data = form_data(draft, measures={"NPS": {"weight": "2"}})
    admin_role_client.post(url("scorecard_draft", standard, draft.number), data)
    services.scorecard_publish(draft=draft, user=admin_role_user)
    with django_assert_max_num_queries(HISTORY_MAX_QUERIES):
        response = admin_role_client.get(url("scorecard_history", standard))
    html = response.content.decode()
    for action in ("Draft created", "Draft saved", "Published"):
        assert action in html
    assert "Weight of NPS 1.5 → 2" in html
    assert "Alex Tester" in html


@pytest.mark.parametrize("page", ["abc", "0", "99"])
def test_a_bad_history_page_shows_a_message_not_an_error(admin_role_client, standard, draft, page):
    response = admin_role_client.get(url("scorecard_history", standard) + f"?page={page}")
    assert response.status_code == 200
    assert "showing the" in response.content.decode()


def test_the_version_page_shows_a_retired_version_to_admins(admin_role_client, standard, draft):
    services.scorecard_publish(draft=draft, user=None)
    response = admin_role_client.get(url("scorecard_version", standard, 1))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Retired" in html and "All versions" in html


def test_editing_a_published_version_redirects_to_its_page(admin_role_client, standard):
    response = admin_role_client.get(url("scorecard_draft", standard, 1))
    assert response.status_code == 302
    assert response["Location"] == url("scorecard_version", standard, 1)


def test_category_weights_of_missing_rows_are_created_on_save(admin_role_client, standard, draft):
    CategoryWeight.objects.filter(version=draft, category="advocacy").delete()
    data = form_data(draft, weights={"advocacy": "7"})
    admin_role_client.post(url("scorecard_draft", standard, draft.number), data)
    assert draft.category_weights.get(category="advocacy").weight == 7


def test_a_measure_of_another_version_cannot_be_smuggled_in(admin_role_client, standard, draft):
    other = Measure.objects.exclude(version=draft).first()
    data = form_data(draft, measures={"NPS": {"id": str(other.pk)}})
    before = snapshot(draft)
    response = admin_role_client.post(url("scorecard_draft", standard, draft.number), data)
    assert response.status_code in (200, 400)
    assert snapshot(draft) == before
    other.refresh_from_db()
    assert other.version_id != draft.pk


@pytest.mark.celery
@pytest.mark.postgres
def test_on_real_workers_the_progress_partial_polls_until_the_run_is_done(
    real_celery_worker, admin_role_client, standard, admin_role_user, settings
):
    import time

    settings.SCORING_CHUNK_SIZE = 2
    for account in AccountFactory.create_batch(6, owner=None, segment__slug="mid-market"):
        SignalFactory(account=account, metric__key="logins", value=150)
    draft = services.scorecard_draft_create(scorecard=standard, user=admin_role_user)
    response = admin_role_client.post(url("scorecard_publish", standard, draft.number))
    progress_url = response["Location"]

    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        html = admin_role_client.get(progress_url, HTTP_HX_REQUEST="true").content.decode()
        seen.append(html)
        if "Done." in html:
            break
        assert 'hx-trigger="every 1s"' in html  # still running: it keeps polling
        time.sleep(0.2)
    assert "Done." in seen[-1] and 'hx-trigger="every 1s"' not in seen[-1]
    run = ScoreRun.objects.get(date=timezone.localdate(), status="done")
    assert run.trigger == "publish" and run.chunks_total == 3
    assert set(HealthScore.objects.filter(run=run).values_list("version", flat=True)) == {draft.pk}


def test_recompute_today_runs_unless_a_run_is_running(admin_role_client, standard):
    AccountFactory(owner=None, segment__slug="mid-market")
    address = url("scorecard_recompute", standard, 1)
    ScoreRun.objects.create(date=timezone.localdate(), status="running")
    busy = admin_role_client.post(address, follow=True).content.decode()
    assert "still running" in busy
    ScoreRun.objects.filter(status="running").update(status="failed")
    done = admin_role_client.post(address, follow=True).content.decode()
    assert "Recomputing today" in done
    assert ScoreRun.objects.filter(date=timezone.localdate(), status="done").exists()


def test_recompute_today_takes_over_an_abandoned_run(admin_role_client, standard):
    AccountFactory(owner=None, segment__slug="mid-market")
    stuck = ScoreRun.objects.create(
        date=timezone.localdate(),
        status="running",
        heartbeat_at=timezone.now() - ScoreRun.STALE_AFTER - dt.timedelta(minutes=1),
    )
    html = admin_role_client.post(url("scorecard_recompute", standard, 1), follow=True)
    assert "Recomputing today" in html.content.decode()
    stuck.refresh_from_db()
    assert stuck.status == "failed"
    assert ScoreRun.objects.filter(date=timezone.localdate(), status="done").exists()
