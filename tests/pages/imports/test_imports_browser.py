"""In Chromium, with a real Celery worker: an Admin imports a new account, then its signals
from a file with a misnamed column and one bad row; sees the row error, fixes the mapping
and the file, imports, watches the progress bar, and the new account's page shows its
signals and a score (the import's re-score ran on the worker)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Account, ImportJob, Signal
from scoring.models import HealthScore
from scoring.pipeline.runs import run_sync
from tests.factories import AccountFactory

pytestmark = pytest.mark.browser
SHOTS = "/tmp/hb-shots"
LONG_NAME = "zendesk-and-product-analytics-export_all-signals_november-2026_FINAL-v3 (2).csv"


@pytest.fixture
def scored_today(transactional_db, settings):
    """Today's scores are published (a re-score writes into them), re-scores start at once."""
    settings.RESCORE_DEBOUNCE_SECONDS = 0
    AccountFactory(external_id="OLD-1", name="Old Customer")
    run_sync(as_of=timezone.localdate())


def accounts_csv() -> bytes:
    return (
        b"Account ID,Account name,Segment,Owner e-mail,ARR,Seats,Start date,Stage\n"
        b"NEW-7,Nordwind Logistik GmbH,Mid-market,,48000,40,2025-04-01,Adoption\n"
    )


def signals_csv(*, header: str, bad_date: bool) -> bytes:
    day = timezone.localdate()
    rows = []
    for back in range(1, 6):
        when = (day - dt.timedelta(days=back)).isoformat()
        rows += [
            f"NEW-7,logins,{when},{30 + back},product,l-{back}",
            f"NEW-7,active_users,{when},{25 + back},product,u-{back}",
            f"NEW-7,licence_utilisation,{when},{70 + back},product,lu-{back}",
            f"NEW-7,email_open_rate,{when},{40 + back},marketing,e-{back}",
        ]
    rows += [
        f"NEW-7,csat,{(day - dt.timedelta(days=2)).isoformat()},5,survey,c-1",
        f"NEW-7,nps,{(day - dt.timedelta(days=3)).isoformat()},9,survey,n-1",
        f"NEW-7,kpi_attainment,{(day - dt.timedelta(days=4)).isoformat()},88,crm,k-1",
        f"NEW-7,invoice_days_late,{(day - dt.timedelta(days=5)).isoformat()},0,billing,i-1",
        f"NEW-7,feature_adoption,{(day - dt.timedelta(days=1)).isoformat()},64,product,f-1",
    ]
    if bad_date:
        rows[2] = "NEW-7,logins,2026-02-30,12,product,l-bad"
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def log_in(page: Page, live_server, user, password: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(user.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def upload(page: Page, live_server, *, kind: str, name: str, data: bytes) -> None:
    page.goto(live_server.url + reverse("imports:upload"))
    page.get_by_label(kind, exact=True).check()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name="Upload and preview").click()


def import_and_watch(page: Page) -> None:
    page.get_by_role("button", name=re.compile(r"^Import \d")).click()
    progress = page.locator("#import-progress")
    expect(progress.locator("progress")).to_be_visible()
    expect(progress.get_by_role("heading", name="Imported")).to_be_visible(timeout=60_000)
    # Finished: the region no longer polls.
    expect(progress).not_to_have_attribute("hx-trigger", "every 1s")


def test_an_admin_imports_an_account_and_its_signals_and_sees_it_scored(
    live_server, page: Page, scored_today, real_celery_worker, admin_role_user, password
) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, admin_role_user, password)
    page.locator("nav.site-nav summary").click()  # the header's Admin menu
    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Import data")).to_be_visible()

    # 1. The account.
    upload(page, live_server, kind="Accounts", name="accounts.csv", data=accounts_csv())
    expect(page.get_by_role("heading", name="Ready to import")).to_be_visible()
    expect(page.locator(".im-rows")).to_contain_text("Nordwind Logistik GmbH")
    import_and_watch(page)
    expect(page.locator("#import-progress")).to_contain_text("Created or updated")
    account = Account.objects.get(external_id="NEW-7")

    # 2. Its signals: the account column is called "Kunde-Nr.", and row 4 has 30 February.
    header = "Kunde-Nr.,metric,observed_at,value,source,external_id"
    misnamed = signals_csv(header=header, bad_date=True)
    upload(page, live_server, kind="Signals", name=LONG_NAME, data=misnamed)
    expect(page.get_by_role("heading", name=re.compile("Not ready"))).to_be_visible()
    expect(page.locator(".im-verdict")).to_contain_text("lacks column(s) account")
    page.get_by_label("Account", exact=True).select_option("Kunde-Nr.")
    page.get_by_role("button", name="Preview again").click()
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("observed_at")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody th")).to_have_text("4")
    page.screenshot(path=f"{SHOTS}/imports-browser-row-error.png", full_page=True)
    assert Signal.objects.filter(account=account).count() == 0

    # Fix the file: drop this upload and send the corrected one.
    page.get_by_role("button", name="Discard the upload").click()
    expect(page.get_by_text("was discarded; nothing was imported")).to_be_visible()
    fixed = signals_csv(header=header.replace("Kunde-Nr.", "account"), bad_date=False)
    upload(page, live_server, kind="Signals", name="signals-fixed.csv", data=fixed)
    expect(page.get_by_role("heading", name="Ready to import")).to_be_visible()
    expect(page.locator("#import-errors tbody tr")).to_have_count(0)
    import_and_watch(page)
    expect(page.locator("#import-progress")).to_contain_text("being re-scored")
    job = ImportJob.objects.filter(kind="signals", status="done").get()
    assert job.rows_written == Signal.objects.filter(account=account).count() == 25

    # 3. The account's page: its signals, and a score from the re-score on the worker.
    for _ in range(60):
        if HealthScore.objects.filter(account=account, score__isnull=False).exists():
            break
        page.wait_for_timeout(500)
    page.goto(live_server.url + reverse("accounts:detail", args=[account.pk]))
    expect(page.get_by_role("heading", name="Nordwind Logistik GmbH")).to_be_visible()
    expect(page.locator(".fact__big").first).to_have_text(re.compile(r"^\d+$"))
    expect(page.get_by_text("No score", exact=True)).to_have_count(0)
    expect(page.locator("#signals, [id*=signals]").first).to_contain_text("Logins")
    page.screenshot(path=f"{SHOTS}/imports-browser-account.png", full_page=True)

    # The history lists both imports.
    page.goto(live_server.url + reverse("imports:history"))
    expect(page.locator(".im-history tbody tr")).to_have_count(2)
    assert problems == []
