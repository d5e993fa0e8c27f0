"""The account drilldown: roles, the trend, why this score, what moved, signals, notes, stages."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, JourneyStage, Metric, Note, Signal, StageChange
from healthboard.lib.roles import CSM
from healthboard.pages.account.selectors import Cursor
from scoring.models import HealthScore, ScorecardVersion, ScoreRun
from scoring.models.actions import CallToAction
from scoring.specs import version_config, versions_queryset
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    NoteFactory,
    OutcomeFactory,
    UserFactory,
)

TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
# Session, user, two permission queries, role (groups), account, metrics, snapshots,
# history, versions + measures + category weights, signals, notes, stages, CSM sentiments,
# the open calls to action, the navigation's count of the user's CTAs due now (measured: 18
# for a user who can write). The point: the same at 5 and 200 signals, 10 and 365 days, 0
# and 30 CTAs.
MAX_QUERIES = 18
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _today(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


def enterprise(number: int = 1) -> ScorecardVersion:
    return ScorecardVersion.objects.get(scorecard__name="Enterprise", number=number)


def new_version(base: ScorecardVersion, **changes) -> ScorecardVersion:
    """A published copy of `base` (the next number), with its measures and weights."""
    measures = list(base.measures.all())
    weights = list(base.category_weights.all())
    base.status = ScorecardVersion.Status.RETIRED
    base.save()
    copy = ScorecardVersion.objects.get(pk=base.pk)
    copy.pk = None
    copy.number = base.number + 1
    copy.status = ScorecardVersion.Status.ACTIVE
    for field, value in changes.items():
        setattr(copy, field, value)
    copy.save()
    for m in measures:
        m.pk, m.version = None, copy
        m.save()
    for w in weights:
        w.pk, w.version = None, copy
        w.save()
    return copy


def n_measures(version: ScorecardVersion) -> int:
    return len(version_config(versions_queryset().get(pk=version.pk)).measures)


def details(version: ScorecardVersion, sub: float | None, **overrides) -> dict:
    """Every measure at the same sub-score (so the score is that sub-score), except
    overrides: {measure index: (raw, sub)}."""
    n = n_measures(version)
    raw = [None if sub is None else round(sub / 20, 2)] * n
    subs = [sub] * n
    for index, (r, s) in overrides.items():
        raw[int(index.removeprefix("m"))] = r
        subs[int(index.removeprefix("m"))] = s
    return {"raw": raw, "sub": subs}


def band_of(score: float | None) -> str:
    if score is None:
        return "none"
    return "green" if score >= 70 else "red" if score < 45 else "yellow"


def history(
    account: Account,
    *,
    days: int,
    version: ScorecardVersion | None = None,
    score=lambda i: 30.0 + i % 5,
    end: dt.date = TODAY,
    switch: tuple[int, ScorecardVersion] | None = None,
) -> list[HealthScore]:
    """One done snapshot a day for `days` days up to `end`; score(i) with i = days ago.
    switch=(i, version): from i days ago on, snapshots name that version."""
    version = version or enterprise()
    dates = [end - dt.timedelta(days=i) for i in range(days)]
    runs = {r.date: r for r in ScoreRun.objects.filter(date__in=dates, status="done")}
    ScoreRun.objects.bulk_create([ScoreRun(date=d, status="done") for d in dates if d not in runs])
    runs = {r.date: r for r in ScoreRun.objects.filter(date__in=dates, status="done")}
    rows = []
    for i, day in enumerate(dates):
        used = switch[1] if switch and i <= switch[0] else version
        s = score(i)
        rows.append(
            HealthScore(
                account=account,
                run=runs[day],
                date=day,
                version=used,
                score=s,
                band=band_of(s),
                coverage=1.0 if s is not None else 0.0,
                delta_7d=None if i + 7 >= days or s is None else s - score(i + 7),
                details=details(used, s),
            )
        )
    return HealthScore.objects.bulk_create(rows)


def signals(account: Account, n: int, *, start: dt.datetime | None = None) -> list[Signal]:
    """n signals an hour apart, newest first from `start`, cycling through the catalogue."""
    metrics = list(Metric.objects.order_by("key"))
    start = start or NOW - dt.timedelta(hours=1)
    return Signal.objects.bulk_create(
        Signal(
            account=account,
            metric=metrics[i % len(metrics)],
            observed_at=start - dt.timedelta(hours=i),
            value=float(i),
            text=f"signal {i}",
            source="test",
        )
        for i in range(n)
    )


def url(name: str, account: Account, query: str = "") -> str:
    return reverse(f"accounts:{name}", args=[account.pk]) + (f"?{query}" if query else "")


def figure_of(html: str) -> dict:
    """The Plotly figure a page embeds for healthboard.js to draw."""
    return json.loads(unescape(re.search(r'data-plotly-figure="([^"]+)"', html).group(1)))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def account(csm_user) -> Account:
    """A red account in the CSM's book with 10 days of scores, signals and notes."""
    account = AccountFactory(name="Acme Logistics", owner=csm_user, arr=Decimal("120000"))
    history(account, days=10)
    signals(account, 5)
    NoteFactory(account=account, body="Kick-off call went well.", created_at=NOW)
    return account


@pytest.fixture
def other_csm_client(db, client):
    other = UserFactory(username="other-csm", role=CSM)
    client.force_login(other)
    return client


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client", "admin_role_client"])
def test_every_role_reads_the_page(
    request, client_fixture, account, django_assert_max_num_queries
) -> None:
    client = request.getfixturevalue(client_fixture)

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url("detail", account))

    assert response.status_code == 200
    html = response.content.decode()
    text = text_of(html)
    assert "<html" in html
    assert "Acme Logistics" in text
    assert "Unhealthy" in text and "$120k" in text
    assert "Enterprise v1" in text
    assert "Why this score" in text and "Logins per seat per week" in text
    assert "data-plotly-figure=" in html
    assert "vendor/plotly.min.js" in html
    assert "Kick-off call went well." in text


def test_a_user_without_a_role_cannot_read(client, account) -> None:
    client.force_login(UserFactory(username="nobody"))

    assert client.get(url("detail", account)).status_code == 403


def test_an_unknown_account_is_a_404_page(csm_client) -> None:
    response = csm_client.get("/accounts/987654/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_the_header_tells_the_account_at_a_glance(csm_client, account) -> None:
    html = csm_client.get(url("detail", account)).content.decode()
    text = text_of(html)

    assert "Adoption" in text  # stage
    assert "Enterprise" in text  # segment
    assert "Casey Tester" in text  # owner
    assert "Health score 30 / 100" in text
    assert re.search(r"Change in 7 days ▼ −2\.0", text)
    assert "100%" in text  # coverage
    days = (account.renewal_date - TODAY).days
    assert f"in {days} days" in text


def test_the_way_back_keeps_the_portfolios_filters(csm_client, account) -> None:
    filtered = "http://testserver/?band=red&owner=me"

    back = csm_client.get(url("detail", account), HTTP_REFERER=filtered).context["back"]
    elsewhere = csm_client.get(url("detail", account), HTTP_REFERER="https://evil.example/")

    assert back == {"url": filtered, "label": "Back to the portfolio"}
    assert elsewhere.context["back"] == {"url": "/", "label": "Portfolio"}


@pytest.mark.parametrize("referer", ["x", "http://testserver", "//", "javascript:alert(1)"])
def test_a_referer_that_is_no_page_leads_back_to_the_portfolio(csm_client, account, referer):
    response = csm_client.get(url("detail", account), HTTP_REFERER=referer)

    assert response.status_code == 200
    assert response.context["back"] == {"url": "/", "label": "Portfolio"}


def test_a_churned_account_says_so(csm_client, csm_user) -> None:
    churned = AccountFactory(
        owner=csm_user, status=Account.Status.CHURNED, churn_date=TODAY - dt.timedelta(days=40)
    )
    history(churned, days=20, end=TODAY - dt.timedelta(days=41))

    html = csm_client.get(url("detail", churned)).content.decode()

    text = text_of(html)
    assert "Churned" in text
    assert "This account churned on 13 October 2026." in text
    assert "for 360 days until the churn" in text
    # The chart ends at the churn, not at today with 40 empty days.
    figure = figure_of(html)
    assert figure["data"][0]["x"][-1] == "2026-10-12"


def test_an_account_without_scores_reads_as_not_scored(csm_client, csm_user) -> None:
    fresh = AccountFactory(owner=csm_user, start_date=TODAY - dt.timedelta(days=3))

    response = csm_client.get(url("detail", fresh))

    assert response.status_code == 200
    text = text_of(response.content.decode())
    assert "No data" in text and "Not scored yet" in text
    assert "No scores yet: the account started on 19 November 2026." in text
    assert "The account has not been scored yet" in text
    assert "No signals for this account yet." in text


def test_a_no_data_snapshot_is_never_red_or_green(csm_client, csm_user) -> None:
    quiet = AccountFactory(owner=csm_user)
    history(quiet, days=3, score=lambda i: None)

    text = text_of(csm_client.get(url("detail", quiet)).content.decode())

    assert "No data" in text
    assert "no measure had data" in text


# ---------------------------------------------------------------- why this score, what moved


def test_the_breakdown_adds_up_to_the_score(csm_client, csm_user) -> None:
    acct = AccountFactory(owner=csm_user)
    version = enterprise()
    HealthScore.objects.create(
        account=acct,
        run=ScoreRun.objects.create(date=TODAY, status="done"),
        date=TODAY,
        version=version,
        score=50.0,
        band="yellow",
        coverage=0.9,
        details=details(version, 50.0, m0=(None, None)),
    )

    response = csm_client.get(url("detail", acct))

    breakdown = response.context["breakdown"]
    assert breakdown.shown_total == 50.0
    assert sum(line.shown for line in breakdown.lines) == pytest.approx(50.0)
    text = text_of(response.content.decode())
    assert "Logins per seat per week no data" in text
    assert re.search(r"Score .*100% 50\.0", text)


def test_what_moved_names_the_measures_in_plain_words(csm_client, csm_user) -> None:
    acct = AccountFactory(owner=csm_user)
    version = enterprise()
    logins_then, logins_now = (3.1, 80.0), (1.4, 10.0)
    for day, logins in ((TODAY - dt.timedelta(days=7), logins_then), (TODAY, logins_now)):
        HealthScore.objects.create(
            account=acct,
            run=ScoreRun.objects.create(date=day, status="done"),
            date=day,
            version=version,
            score=50.0,
            band="yellow",
            coverage=1.0,
            details=details(version, 50.0, m0=logins),
        )

    response = csm_client.get(url("detail", acct))

    movers = response.context["movers"]
    assert len(movers) == 1
    assert re.fullmatch(
        r"Logins per seat per week fell from 3\.1 to 1\.4 \(−\d+\.\d points\)", movers[0].sentence
    )
    assert movers[0].sentence in text_of(response.content.decode())


def test_what_moved_says_when_the_scorecard_version_changed(csm_client, account) -> None:
    v2 = new_version(enterprise(), green_at=72, red_below=45)
    HealthScore.objects.filter(account=account, date__gte=TODAY - dt.timedelta(days=2)).update(
        version=v2
    )

    response = csm_client.get(url("detail", account))

    text = text_of(response.content.decode())
    assert "The scorecard changed from Enterprise v1 to Enterprise v2 in between" in text
    assert "Enterprise v2" in text
    annotations = figure_of(response.content.decode())["layout"]["annotations"]
    assert [a["text"] for a in annotations] == ["v2"]


def test_no_week_before_means_nothing_to_compare(csm_client, csm_user) -> None:
    acct = AccountFactory(owner=csm_user)
    history(acct, days=3)

    text = text_of(csm_client.get(url("detail", acct)).content.decode())

    assert "There is no score from a week before 22 Nov 2026 to compare with." in text


# ---------------------------------------------------------------- the trend


@pytest.mark.parametrize("days", [30, 90, 365])
def test_the_range_links_swap_only_the_chart(csm_client, csm_user, days) -> None:
    acct = AccountFactory(owner=csm_user)
    history(acct, days=400)

    response = csm_client.get(url("trend", acct, f"range={days}"), **HX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="trend"')
    figure = figure_of(html)
    assert len(figure["data"][0]["x"]) == days
    assert f'aria-current="true">{days} days</a>' in html
    # Links work without JavaScript too, and HTMX keeps the page's URL in step.
    assert f'href="{url("detail", acct)}?range=30"' in html
    assert f'hx-replace-url="{url("detail", acct)}?range=365"' in html
    # The signal pills carry the range: they come along, out of band.
    assert re.search(r'<nav class="pills" id="signal-pills"[^>]* hx-swap-oob="true">', html)


def test_the_range_and_the_category_keep_each_other(csm_client, account) -> None:
    trend = csm_client.get(url("trend", account, "range=30&category=Usage"), **HX)
    pills = csm_client.get(url("signals", account, "category=Support&range=365"), **HX)

    trend_html, pills_html = trend.content.decode(), pills.content.decode()
    detail = url("detail", account)
    assert f'hx-replace-url="{detail}?range=30&amp;category=Support"' in trend_html
    assert f'hx-replace-url="{detail}?range=365&amp;category=Usage"' in trend_html
    assert f'hx-replace-url="{detail}?range=365&amp;category=Support"' in pills_html
    assert (
        '<nav class="range-links" id="range-links" aria-label="Chart range" hx-swap-oob="true">'
        in pills_html
    )
    assert f'hx-get="{url("trend", account)}?range=90&amp;category=Support"' in pills_html


def test_a_bad_range_falls_back_to_90_days(csm_client, account) -> None:
    fragment = csm_client.get(url("trend", account, "range=abc"), **HX)
    page = csm_client.get(url("detail", account, "range=-5"))

    assert fragment.status_code == page.status_code == 200
    assert "“abc” is not a range; showing 90 days." in fragment.content.decode()
    assert "“-5” is not a range; showing 90 days." in page.content.decode()
    assert 'aria-current="true">90 days' in page.content.decode()


def test_a_plain_request_for_a_fragment_gets_the_page(csm_client, account) -> None:
    assert csm_client.get(url("trend", account, "range=30")).url == url(
        "detail", account, "range=30"
    )
    assert csm_client.get(url("signals", account, "category=Usage")).url.startswith(
        url("detail", account, "category=Usage")
    )


@pytest.mark.parametrize("name, query", [("trend", "range=30"), ("signals", ""), ("notes", "")])
def test_a_history_restore_of_a_fragment_gets_the_page(csm_client, account, name, query) -> None:
    fragment = csm_client.get(url(name, account, query), **HX)
    restore = csm_client.get(
        url(name, account, query), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX
    )

    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    assert restore.status_code == 302
    assert restore.url.startswith(url("detail", account))
    # A fragment or a redirect from one URL: a cache must tell them apart.
    assert "HX-Request" in fragment["Vary"]
    assert "HX-Request" in restore["Vary"]


def test_percentile_bands_come_from_the_runs_cut_offs(csm_client, account) -> None:
    version = enterprise()
    version.band_mode = ScorecardVersion.BandMode.PERCENTILE
    version.save()
    run = HealthScore.objects.filter(account=account).latest("date").run
    run.reference = {"band_cuts": {str(version.pk): [31.5, 66.0]}, "measures": {"1": [1, 2, 3]}}
    run.save()

    html = csm_client.get(url("detail", account)).content.decode()

    figure = figure_of(html)
    assert sorted((s["y0"], s["y1"]) for s in figure["layout"]["shapes"]) == [
        (0.0, 31.5),
        (31.5, 66.0),
        (66.0, 100.0),
    ]
    fragment = csm_client.get(url("trend", account, "range=30"), **HX).content.decode()
    assert "Healthy from 66" in fragment


# ---------------------------------------------------------------- signals


def test_signals_come_newest_first_25_at_a_time(csm_client, account) -> None:
    Signal.objects.filter(account=account).delete()
    made = signals(account, 60)
    # Ties on the timestamp must neither repeat nor skip a signal across pages.
    Signal.objects.filter(pk__in=[s.pk for s in made[20:30]]).update(
        observed_at=made[20].observed_at
    )
    expected = list(
        Signal.objects.filter(account=account)
        .order_by("-observed_at", "-id")
        .values_list("text", flat=True)
    )

    page = csm_client.get(url("detail", account)).content.decode()
    seen = re.findall(r'<p class="tl-text">(signal \d+)</p>', page)
    more = re.search(r'hx-get="([^"]+)" hx-target="closest li"', page)
    while more:
        fragment = csm_client.get(more.group(1).replace("&amp;", "&"), **HX).content.decode()
        assert "<html" not in fragment and 'class="pills"' not in fragment
        assert fragment.lstrip().startswith('<li class="tl-item signal">')
        seen += re.findall(r'<p class="tl-text">(signal \d+)</p>', fragment)
        more = re.search(r'hx-get="([^"]+)" hx-target="closest li"', fragment)

    assert seen == expected
    assert len(re.findall(r'<p class="tl-text">', page)) == 25


def test_signals_filter_by_metric_category(csm_client, account) -> None:
    tickets = Metric.objects.get(key="support_tickets")
    Signal.objects.create(
        account=account,
        metric=tickets,
        observed_at=NOW - dt.timedelta(days=3),
        value=3,
        category="bug",
        text="Export to CSV fails",
        source="zendesk",
    )

    response = csm_client.get(url("signals", account, "category=Support"), **HX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="signals"')
    assert 'aria-current="true">Support</a>' in html
    shown = set(re.findall(r'<strong class="signal__metric">([^<]+)</strong>', html))
    support = set(Metric.objects.filter(category="Support").values_list("name", flat=True))
    assert shown == {"Support tickets"} <= support
    assert "Export to CSV fails" in html and ">bug</span>" in html
    assert "3 (severity 1–4)" in html and "from zendesk" in html


def test_bad_signal_parameters_are_ignored_with_a_message(csm_client, account) -> None:
    fragment = csm_client.get(url("signals", account, "category=bogus"), **HX).content.decode()
    page = csm_client.get(url("detail", account, "category=bogus&before=garbage&range=abc"))

    assert "There is no signal category “bogus”; showing every category." in fragment
    assert page.status_code == 200
    html = page.content.decode()
    assert "There is no signal category “bogus”" in html
    assert len(re.findall(r'<li class="tl-item signal">', html)) == 5
    assert "Showing older signals" not in html


def test_garbage_cursors_give_the_first_page(csm_client, account) -> None:
    for cursor in ["garbage", "1_2_3", "99999999999999999999999_1", "123_-4", ""]:
        response = csm_client.get(url("signals", account, f"before={cursor}"), **HX)
        assert response.status_code == 200
        assert len(re.findall(r'<li class="tl-item signal">', response.content.decode())) == 5


# ---------------------------------------------------------------- notes


def test_the_owner_sees_the_forms_and_another_csm_does_not(
    csm_client, other_csm_client, account
) -> None:
    mine = csm_client.get(url("detail", account)).content.decode()
    theirs = other_csm_client.get(url("detail", account)).content.decode()

    assert 'id="note-form"' in mine and 'id="stage-form"' in mine
    assert 'id="note-form"' not in theirs and 'id="stage-form"' not in theirs
    assert "Only the owner (Casey Tester), a manager or an admin can add notes" in text_of(theirs)


def test_another_csm_cannot_write(other_csm_client, account) -> None:
    stage = JourneyStage.objects.get(slug="renewal")

    note = other_csm_client.post(url("add_note", account), {"kind": "note", "body": "Hi"}, **HX)
    move = other_csm_client.post(url("change_stage", account), {"stage": stage.pk}, **HX)

    assert note.status_code == move.status_code == 403
    assert Note.objects.filter(account=account).count() == 1
    assert not StageChange.objects.filter(account=account).exists()


def test_the_owner_adds_a_note_that_appears_at_once(csm_client, csm_user, account) -> None:
    response = csm_client.post(
        url("add_note", account), {"kind": "call", "body": "Renewal call: budget confirmed."}, **HX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    note = Note.objects.filter(account=account).latest("pk")
    assert (note.kind, note.author, note.body) == (
        "call",
        csm_user,
        "Renewal call: budget confirmed.",
    )
    # A fresh form, and the timeline swapped out of band with the new note on top.
    assert html.lstrip().startswith('<form id="note-form"')
    assert "Call added." in html
    assert re.search(r"<textarea[^>]*>\s*</textarea>", html)
    assert '<ol id="notes-list" class="timeline notes-list" hx-swap-oob="true">' in html
    notes = re.findall(r'<div class="tl-text note__body">([^<]+)</div>', html)
    assert notes[:2] == ["Renewal call: budget confirmed.", "Kick-off call went well."]


@pytest.mark.parametrize("client_fixture", ["manager_client", "admin_role_client"])
def test_managers_and_admins_write_on_any_account(request, client_fixture, account) -> None:
    client = request.getfixturevalue(client_fixture)

    response = client.post(url("add_note", account), {"kind": "meeting", "body": "QBR held."})

    assert response.status_code == 302
    assert response.url == url("detail", account) + "#notes"
    page = client.get(response.url).content.decode()
    assert "Meeting added." in page and "QBR held." in page


@pytest.mark.parametrize(
    ("data", "error", "kept"),
    [
        ({"kind": "note", "body": "   "}, "Write something first: the note is empty.", None),
        (
            {"kind": "note", "body": "x" * 5001},
            "Ensure this value has at most 5000 characters",
            "x" * 5001,
        ),
        ({"kind": "stage_change", "body": "Sneaky"}, "Select a valid choice.", "Sneaky"),
        ({"kind": "email", "body": "Typed text"}, "Select a valid choice.", "Typed text"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_a_note_that_fails_validation_keeps_what_was_typed(
    csm_client, account, data, error, kept, htmx
) -> None:
    response = csm_client.post(url("add_note", account), data, **(HX if htmx else {}))

    assert response.status_code == 200
    html = response.content.decode()
    assert ("<html" in html) is not htmx
    assert error in html
    assert 'aria-invalid="true"' in html
    if kept:
        assert kept in html
    assert Note.objects.filter(account=account).count() == 1


def test_notes_load_more(csm_client, account) -> None:
    for i in range(30):
        NoteFactory(account=account, body=f"note {i}", created_at=NOW - dt.timedelta(hours=i + 1))

    page = csm_client.get(url("detail", account)).content.decode()
    more = re.search(r'hx-get="(/accounts/\d+/notes/\?before=[^"]+)"', page).group(1)
    rest = csm_client.get(more, **HX).content.decode()

    first = re.findall(r'note__body">([^<]+)<', page)
    second = re.findall(r'note__body">([^<]+)<', rest)
    assert len(first) == 20 and len(second) == 11
    assert "<html" not in rest
    assert not set(first) & set(second)


# ---------------------------------------------------------------- the journey stage


def test_a_stage_change_is_recorded_everywhere_at_once(csm_client, csm_user, account) -> None:
    renewal = JourneyStage.objects.get(slug="renewal")

    response = csm_client.post(
        url("change_stage", account),
        {"stage": renewal.pk, "comment": "Contract ends in March."},
        **HX,
    )

    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.stage, account.stage_since) == (renewal, TODAY)
    change = StageChange.objects.get(account=account)
    assert (change.from_stage.slug, change.to_stage, change.changed_by) == (
        "adoption",
        renewal,
        csm_user,
    )
    note = Note.objects.get(account=account, kind=Note.Kind.STAGE_CHANGE)
    assert note.body == "Stage changed from Adoption to Renewal.\n\nContract ends in March."
    assert note.author == csm_user and note.created_at == change.changed_at
    html = response.content.decode()
    assert "Moved to Renewal." in html
    assert '<div class="fact" id="stage-fact" hx-swap-oob="true">' in html
    assert 'hx-swap-oob="true"' in html and "Stage changed from Adoption to Renewal." in html


def test_moving_to_the_current_stage_changes_nothing(manager_client, account) -> None:
    response = manager_client.post(url("change_stage", account), {"stage": account.stage_id}, **HX)

    assert "Acme Logistics is already in Adoption; nothing changed." in response.content.decode()
    assert not StageChange.objects.exists()
    assert not Note.objects.filter(kind=Note.Kind.STAGE_CHANGE).exists()


def test_a_stage_change_that_fails_leaves_nothing_behind(
    manager_client, account, monkeypatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Note.objects, "create", broken)
    renewal = JourneyStage.objects.get(slug="renewal")
    before = (account.stage_id, account.stage_since)

    with pytest.raises(RuntimeError):
        manager_client.post(url("change_stage", account), {"stage": renewal.pk})

    account.refresh_from_db()
    assert (account.stage_id, account.stage_since) == before
    assert not StageChange.objects.exists()


def test_an_unknown_stage_is_a_form_error(manager_client, account) -> None:
    response = manager_client.post(url("change_stage", account), {"stage": "999"}, **HX)

    assert "Pick one of the listed stages." in response.content.decode()
    assert not StageChange.objects.exists()


def test_a_plain_stage_change_redirects_with_a_message(manager_client, account) -> None:
    value = JourneyStage.objects.get(slug="value")

    response = manager_client.post(url("change_stage", account), {"stage": value.pk}, follow=True)

    assert "Moved to Value realisation." in response.content.decode()
    assert Account.objects.get(pk=account.pk).stage == value


# ---------------------------------------------------------------- queries


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_the_page_costs_the_same_queries_whatever_the_history(
    manager_client, django_assert_max_num_queries
) -> None:
    small = AccountFactory()
    history(small, days=10)
    signals(small, 5)
    big = AccountFactory()
    v2 = new_version(enterprise())
    history(big, days=60, switch=(20, v2))
    signals(big, 200)
    for i in range(60):
        NoteFactory(account=big, created_at=NOW - dt.timedelta(hours=i))

    counts = {
        name: _queries(manager_client, path)
        for name, path in [
            ("small", url("detail", small)),
            ("big", url("detail", big)),
            ("big, a year", url("detail", big, "range=365")),
            ("big, filtered, older", url("detail", big, "category=Usage&before=garbage")),
        ]
    }

    assert len(set(counts.values())) == 1, counts
    with django_assert_max_num_queries(MAX_QUERIES):
        manager_client.get(url("detail", big))


def test_the_fragments_are_cheaper_still(manager_client, django_assert_max_num_queries) -> None:
    acct = AccountFactory()
    history(acct, days=120)
    made = signals(acct, 200)
    cursor = Cursor(made[24].observed_at, made[24].pk)

    # Session, user, permissions (2), role, account, then one to three of their own.
    for path in [
        url("trend", acct, "range=365"),
        url("signals", acct, f"before={cursor}"),
        url("signals", acct, "category=Usage"),
        url("notes", acct, "before=garbage"),
    ]:
        with django_assert_max_num_queries(9):
            assert manager_client.get(path, **HX).status_code == 200
    assert timezone.now() == NOW


# ---------------------------------------------------------------- calls to action


def test_the_open_calls_to_action_show_with_their_owner_and_due_date(
    csm_client, csm_user, django_assert_max_num_queries
) -> None:
    acct = AccountFactory(owner=csm_user)
    late = CallToActionFactory(
        account=acct, title="Call the sponsor", due_date=TODAY - dt.timedelta(days=2)
    )
    CallToActionFactory(
        account=acct,
        title="Chase the invoice",
        status=CallToAction.Status.SNOOZED,
        snoozed_until=TODAY + dt.timedelta(days=4),
        due_date=TODAY + dt.timedelta(days=1),
    )
    CallToActionFactory(
        account=acct,
        title="Old news",
        status=CallToAction.Status.DONE,
        outcome=OutcomeFactory(name="Renewed"),
    )
    for n in range(30):
        CallToActionFactory(account=acct, title=f"More {n}", owner=UserFactory(role=CSM))

    with django_assert_max_num_queries(MAX_QUERIES):
        response = csm_client.get(url("detail", acct))

    html = response.content.decode()
    section = html[html.index('id="account-ctas"') : html.index('id="notes"')]
    text = text_of(section)
    assert "Call the sponsor" in text and "Chase the invoice" in text and "Old news" not in text
    assert "Casey Tester · ⚠ Overdue, due 20 Nov · open" in text
    assert "snoozed until 26 Nov" in text
    assert f'href="/actions/{late.pk}/"' in section
    assert f'href="/actions/new/?account={acct.pk}"' in section


def test_no_calls_to_action_reads_well(manager_client) -> None:
    html = manager_client.get(url("detail", AccountFactory())).content.decode()
    assert "No open calls to action." in text_of(html)
