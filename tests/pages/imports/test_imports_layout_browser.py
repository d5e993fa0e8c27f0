"""In Chromium at 1280 and 390 px: the import pages (upload, a file being checked, a preview
with row errors and a long file name, a result with skipped rows, a refused import, the
history empty and full) never make the page scroll sideways; screenshots to look at."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts import tasks
from accounts.imports import ImportOptions
from accounts.imports.jobs import import_job_create, import_job_mark_checking
from accounts.models import ImportJob
from tests.factories import AccountFactory, MetricFactory

pytestmark = pytest.mark.browser
SHOTS = "/tmp/hb-shots"
WIDTHS = (1280, 390)
LONG_NAME = "zendesk-and-product-analytics-export_all-signals_november-2026_FINAL-v3 (2).csv"
TEXT = (
    "account,metric,observed_at,value,external_id\n"
    "CRM-1,logins,2026-11-01,12,a\n"
    "NOPE-9,logins,2026-11-01,3,b\n"
    "CRM-1,logins,2026-02-30,4,c\n"
    "CRM-1,logins,2026-11-02,lots,d\n"
)


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"


def job(admin, *, name: str = LONG_NAME, check: bool = True, **options) -> ImportJob:
    created = import_job_create(
        kind="signals",
        chunks=[TEXT.encode()],
        file_name=name,
        options=ImportOptions(source="crm", **options),
        user=admin,
    )
    if check:
        tasks.import_job_check(job=created)  # in-process: tasks are eager here
    return created


def log_in(page: Page, live_server, user, password: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label(re.compile("username", re.I)).fill(user.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def look(page: Page, live_server, url: str, shot: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=f"{SHOTS}/imports-{shot}-{width}.png", full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{shot} at {width}px scrolls sideways by {overflow}px"


def test_the_import_pages_fit_wide_and_narrow_windows(
    live_server, page: Page, transactional_db, admin_role_user, password
) -> None:
    MetricFactory(key="logins")
    AccountFactory(external_id="CRM-1")
    log_in(page, live_server, admin_role_user, password)

    look(page, live_server, reverse("imports:upload"), "upload")
    look(page, live_server, reverse("imports:history"), "history-empty")
    expect(page.get_by_role("heading", name="No imports yet")).to_be_visible()

    checking = job(admin_role_user, check=False)
    import_job_mark_checking(job=checking, token="never-finishes")
    ImportJob.objects.filter(pk=checking.pk).update(rows_read=1_234_567, bytes_read=60)
    look(page, live_server, reverse("imports:job", args=[checking.pk]), "checking")
    expect(page.get_by_role("heading", name="Checking the file…")).to_be_visible()

    previewed = job(admin_role_user)
    look(page, live_server, reverse("imports:job", args=[previewed.pk]), "preview-errors")
    expect(page.locator("#import-errors tbody tr")).to_have_count(3)

    skipped = job(admin_role_user, name="tickets.csv", skip_bad_rows=True)
    tasks.import_job_enqueue(job=skipped)
    look(page, live_server, reverse("imports:job", args=[skipped.pk]), "job-skipped")
    expect(page.get_by_role("button", name=re.compile("Download the skipped rows"))).to_be_visible()

    refused = job(admin_role_user, name=LONG_NAME)
    tasks.import_job_enqueue(job=refused)
    look(page, live_server, reverse("imports:job", args=[refused.pk]), "job-refused")
    expect(page.get_by_role("heading", name="Refused: nothing imported")).to_be_visible()

    for i in range(30):
        ImportJob.objects.create(
            kind="accounts",
            user=admin_role_user,
            file_name=f"crm-accounts-{i}.csv",
            status="done",
            rows_read=1000 + i,
            rows_written=990,
            rows_skipped=i,
        )
    look(page, live_server, reverse("imports:history"), "history-full")
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
