"""The exports in real Chromium: an Admin downloads what each page lists by clicking its
"Export CSV", and the files are what the pages show (the accounts file re-imports as is,
the preview's movers come from the unsaved draft posted by the button). Set
HB_SCREENSHOTS=DIR to keep a screenshot of each page at 1280 and 390 pixels."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.imports import import_run
from accounts.models import Account
from healthboard.lib.roles import ADMIN, CSM
from scoring import services
from scoring.models import Scorecard
from scoring.pipeline.runs import run_sync
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    NoteFactory,
    ScoreRunFactory,
    SignalFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

LONG = "Vereinigte Großhandelsgesellschaft für Präzisionswerkzeuge und Industriebedarf mbH & Co. KG"


def shot(page: Page, name: str, part: str | None = None) -> None:
    """The page (or the part of it a selector picks) at 390 and 1280 pixels."""
    folder = os.environ.get("HB_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for width, height in ((390, 844), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # charts redraw for the new width
        path = f"{folder}/{name}-{width}.png"
        if part:
            page.locator(part).screenshot(path=path)
        else:
            page.screenshot(path=path, full_page=True)


def log_in(page: Page, live_server, user, password: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(user.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def download(page: Page, link) -> tuple[str, bytes]:
    with page.expect_download() as info:
        link.click()
    saved = info.value
    return saved.suggested_filename, Path(saved.path()).read_bytes()


def rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def test_an_admin_exports_the_portfolio_the_board_and_an_account(
    live_server, page: Page, password
) -> None:
    admin = UserFactory(username="browser-admin", password=password, role=ADMIN)
    owner = UserFactory(first_name="Casey", last_name="Morgan", role=CSM)
    today = timezone.localdate()
    run = ScoreRunFactory(date=today)
    names = [LONG, '=HYPERLINK("http://x","y")', "Acme, Inc.", "Ærøskøbing Café"]
    accounts = [
        AccountFactory(name=name, owner=owner, stage_since=today - dt.timedelta(days=40 * i))
        for i, name in enumerate(names)
    ]
    for i, account in enumerate(accounts):
        HealthScoreFactory(account=account, run=run, score=20 + 25 * i)
    acme = accounts[2]
    for days in range(1, 40):
        HealthScoreFactory(
            account=acme,
            run=ScoreRunFactory(date=today - dt.timedelta(days=days)),
            score=40 + days % 9,
        )
    for i in range(6):
        SignalFactory(account=acme, value=i * 1.5, text=f'Ticket {i}, "urgent"')
        NoteFactory(account=acme, author=owner, body=f"Call {i}: renewal, pricing")
    log_in(page, live_server, admin, password)

    # The portfolio: both exports, with the filters; the accounts file re-imports as is.
    page.goto(f"{live_server.url}/?owner=all")
    shot(page, "portfolio")
    name, body = download(page, page.get_by_role("link", name="Export for re-import"))
    assert re.fullmatch(r"accounts-\d{4}-\d{2}-\d{2}\.csv", name)
    result = import_run(kind="accounts", file=io.BytesIO(body))
    assert result.ok and (result.created, result.updated) == (0, 0), result.errors
    assert len(rows(body)) == 5

    # The journey board, filtered to the unhealthy accounts.
    page.goto(f"{live_server.url}{reverse('accounts:journey')}?owner=all&band=red")
    shot(page, "journey")
    name, body = download(page, page.get_by_role("link", name="Export CSV"))
    assert name.startswith("journey-")
    assert [row[1] for row in rows(body)[1:]] == [LONG]

    # The account page: signals, notes and scores.
    page.goto(live_server.url + reverse("accounts:detail", args=[acme.pk]) + "?range=30")
    shot(page, "account")
    signals = page.locator("#signals").get_by_role("link", name="Export CSV")
    _name, body = download(page, signals)
    assert len(rows(body)) == 7 and rows(body)[1][0] == acme.external_id
    _name, body = download(page, page.locator("#notes").get_by_role("link", name="Export CSV"))
    assert len(rows(body)) == 7
    _name, body = download(page, page.locator("#trend").get_by_role("link", name="Export CSV"))
    assert len(rows(body)) == 31  # the chart's 30 days
    assert Account.objects.count() == 4


def test_an_admin_exports_the_movers_of_an_unsaved_draft(live_server, page: Page, password) -> None:
    admin = UserFactory(username="browser-admin", password=password, role=ADMIN)
    today = timezone.localdate()
    call_command(
        "seed_demo",
        force=True,  # the test database: DEBUG is off under pytest
        accounts=40,
        days=60,
        seed=7,
        end_date=today.isoformat(),
        truth_file="",
        stdout=io.StringIO(),
    )
    run_sync(as_of=today)
    card = Scorecard.objects.get(name="Standard")
    draft = services.scorecard_draft_create(scorecard=card, user=admin)
    log_in(page, live_server, admin, password)

    page.goto(live_server.url + reverse("scoring:scorecard_draft", args=[card.pk, draft.number]))
    expect(page.locator("#preview-body")).to_contain_text("Band transitions")
    # Change the draft without saving it: the preview, then the export, follow the form.
    page.locator("#id_version-green_at").fill("95")
    page.locator("#id_version-green_at").dispatch_event("change")
    expect(page.locator("#preview-bar")).to_contain_text("accounts change band")
    expect(page.locator(".sc-export")).to_be_visible()
    page.locator(".sc-export").scroll_into_view_if_needed()
    shot(page, "scorecard-preview", ".sc-panel:has(#preview-movers-title)")
    name, body = download(page, page.locator(".sc-export"))

    assert name.startswith(f"preview-movers-standard-v{draft.number}-")
    table = rows(body)
    assert table[0][:2] == ["Account", "External id"]
    changed = int(page.locator("#preview-changed").inner_text().replace(",", ""))
    assert len(table) - 1 == changed > 0
    # Healthy from 95 instead of 70: accounts healthy today are not under the draft.
    assert any(row[5] == "Healthy" and row[7] != "Healthy" for row in table[1:])
    assert draft.green_at != 95  # nothing was saved

    page.goto(live_server.url + reverse("catalogue:index"))
    shot(page, "catalogue", "#metrics")
    name, body = download(page, page.locator("#metrics").get_by_role("link", name="Export CSV"))
    assert name == "metrics.csv" and rows(body)[0][0] == "Key"
