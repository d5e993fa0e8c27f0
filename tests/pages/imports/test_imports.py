"""The import pages: upload, preview (row errors, nothing written), column mapping, commit
all or nothing or skipping bad rows, rejected rows, progress, history, roles, query counts."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from accounts.imports.jobs import rejects_path, upload_path
from accounts.models import Account, ImportJob, Signal
from healthboard.celery import app as celery_app
from tests.factories import AccountFactory, MetricFactory, UserFactory
from tests.pages.imports.uploads import upload
from tests.pages.test_reads_never_write import EXPORT_AUDIT

HTMX = {"HTTP_HX_REQUEST": "true"}
WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)

SIGNALS_WITH_ERRORS = (
    "account,metric,observed_at,value,external_id\n"
    "CRM-1,logins,2026-11-01,12,a\n"
    "NOPE-9,logins,2026-11-01,3,b\n"  # row 3: unknown account
    "CRM-1,logins,2026-02-30,4,c\n"  # row 4: impossible date
    "CRM-1,logins,2026-11-02,lots,d\n"  # row 5: not a number
    "CRM-1,logins,2026-11-03,7,e\n"
)


@pytest.fixture
def crm1(db):
    MetricFactory(key="logins")
    return AccountFactory(external_id="CRM-1")


def job_of(response) -> ImportJob:
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))


# ---------------------------------------------------------------- roles


def urls(job: ImportJob) -> list[tuple[str, str]]:
    return [
        ("get", reverse("imports:upload")),
        ("get", reverse("imports:history")),
        ("get", reverse("imports:job", args=[job.pk])),
        ("get", reverse("imports:rejects", args=[job.pk])),
        ("post", reverse("imports:remap", args=[job.pk])),
        ("post", reverse("imports:check", args=[job.pk])),
        ("post", reverse("imports:commit", args=[job.pk])),
        ("post", reverse("imports:discard", args=[job.pk])),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client, db) -> None:
    job = ImportJob.objects.create(kind="signals", file_name="x.csv")
    for method, url in urls(job):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client"])
def test_csms_and_managers_get_403_everywhere(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)
    job = ImportJob.objects.create(kind="signals", file_name="x.csv")
    for method, url in urls(job):
        assert getattr(client, method)(url).status_code == 403, url
    assert ImportJob.objects.filter(pk=job.pk).exists()
    html = client.get(reverse("home")).content.decode()
    assert ">Imports</a>" not in html


def test_admins_get_the_upload_form_and_the_nav_link(
    admin_role_client, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(8):
        response = admin_role_client.get(reverse("imports:upload"))

    assert response.status_code == 200
    html = response.content.decode()
    assert ">Imports</a>" in html and 'aria-current="page">Imports' in html
    for label in ("Accounts", "Metrics", "Signals", "Skip bad rows", "Dates are day-first"):
        assert label in html
    assert 'enctype="multipart/form-data"' in html


# ---------------------------------------------------------------- upload and preview


def test_the_preview_shows_every_row_error_and_writes_nothing(
    admin_role_client, crm1, django_assert_max_num_queries
) -> None:
    job = job_of(upload(admin_role_client, "signals", SIGNALS_WITH_ERRORS, name="tickets.csv"))

    with django_assert_max_num_queries(8):
        response = admin_role_client.get(reverse("imports:job", args=[job.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Not ready: nothing would be imported" in html
    assert "UTF-8" in html and "comma" in html
    errors = response.context["errors"].object_list
    assert [(e.row, e.column) for e in errors] == [
        (3, "account"),
        (4, "observed_at"),
        (5, "value"),
    ]
    assert "NOPE-9" in errors[0].reason
    for error in errors:
        assert escape(error.reason) in html
    # The good rows as parsed, nothing written, the file kept for the import.
    assert [row["row"] for row in response.context["preview"]["rows"]] == [2, 6]
    assert Signal.objects.count() == 0
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING and job.file_name == "tickets.csv"
    assert upload_path(job).read_text() == SIGNALS_WITH_ERRORS
    # No Import button for an all-or-nothing import that would import nothing.
    assert reverse("imports:commit", args=[job.pk]) not in html


def test_the_errors_page_through_as_an_htmx_fragment(admin_role_client, crm1) -> None:
    rows = "".join(f"NOPE-{i},logins,2026-11-01,1,x{i}\n" for i in range(120))
    header = "account,metric,observed_at,value,id\n"
    job = job_of(upload(admin_role_client, "signals", header + rows))

    response = admin_role_client.get(reverse("imports:job", args=[job.pk]) + "?page=3", **HTMX)

    html = response.content.decode()
    assert "<html" not in html and 'id="import-errors"' in html
    assert "101–120 of 120" in html
    assert [e.row for e in response.context["errors"].object_list] == list(range(102, 122))


def test_an_upload_over_the_size_limit_is_refused_with_the_limit(
    admin_role_client, settings, upload_dir
) -> None:
    settings.IMPORT_MAX_FILE_BYTES = 100
    response = upload(admin_role_client, "signals", "account,metric,observed_at,value\n" * 10)

    assert response.status_code == 400
    # Stopped as it arrived (healthboard.lib.uploads), and said so: not "choose a file".
    assert response.wsgi_request.upload_over_limit is True
    html = response.content.decode()
    assert "One import takes files up to 100\xa0bytes; this one is over that." in html
    assert "Choose a CSV file" not in html
    assert not ImportJob.objects.exists()
    assert not any(upload_dir.glob("*")) if upload_dir.exists() else True


def test_the_upload_checks_its_csrf_token(admin_role_user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_role_user)

    response = upload(client, "signals", "account,metric,observed_at,value\n")

    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_an_upload_without_kind_or_file_says_what_is_missing(admin_role_client) -> None:
    response = admin_role_client.post(reverse("imports:upload"), {})

    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose what the file holds" in html and "Choose a CSV file to upload." in html


def test_an_unreadable_file_is_previewed_as_refused_with_why(admin_role_client, db) -> None:
    job = job_of(upload(admin_role_client, "signals", "\n\n"))

    html = admin_role_client.get(reverse("imports:job", args=[job.pk])).content.decode()

    assert "The file is empty." in html
    # No header, so no columns to map (only another file can help).
    assert reverse("imports:remap", args=[job.pk]) not in html
    assert Signal.objects.count() == 0


# ---------------------------------------------------------------- the column mapping


def test_editing_the_mapping_fixes_a_misnamed_header_and_imports(admin_role_client, crm1) -> None:
    text = "Kunde,metric,observed_at,value,Ereignis\nCRM-1,logins,2026-11-01,12,e-1\n"
    job = job_of(upload(admin_role_client, "signals", text, source="crm"))

    page = admin_role_client.get(reverse("imports:job", args=[job.pk]))
    assert "lacks column(s) account" in page.content.decode()
    form = page.context["form"]
    assert [c[0] for c in form["map_account"].field.choices][1:] == [
        "Kunde",
        "metric",
        "observed_at",
        "value",
        "Ereignis",
    ]

    mapping = {f"map_{f}": h for f, h in page.context["preview"]["mapping"].items()}
    response = admin_role_client.post(
        reverse("imports:remap", args=[job.pk]),
        {**mapping, "map_account": "Kunde", "map_external_id": "Ereignis", "source": "crm"},
    )
    assert response.status_code == 302
    page = admin_role_client.get(reverse("imports:job", args=[job.pk]))
    assert page.context["can_import"] is True
    assert page.context["preview"]["mapping"]["account"] == "Kunde"
    assert Signal.objects.count() == 0

    admin_role_client.post(reverse("imports:commit", args=[job.pk]))

    signal = Signal.objects.get()
    assert (signal.account, signal.external_id, signal.source) == (crm1, "e-1", "crm")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.rows_written == 1
    assert not upload_path(job).exists()


def test_a_mapping_without_a_required_field_is_refused_field_by_field(
    admin_role_client, crm1
) -> None:
    job = job_of(upload(admin_role_client, "signals", SIGNALS_WITH_ERRORS))

    response = admin_role_client.post(
        reverse("imports:remap", args=[job.pk]),
        {"map_account": "", "map_metric": "value", "map_value": "value"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Account needs a column." in html
    assert "“value” is already read as Metric." in html
    job.refresh_from_db()
    assert job.options["mapping"] == {}


# ---------------------------------------------------------------- commit


def test_all_or_nothing_refuses_the_file_and_lists_every_error(admin_role_client, crm1) -> None:
    job = job_of(upload(admin_role_client, "signals", SIGNALS_WITH_ERRORS))

    response = admin_role_client.post(reverse("imports:commit", args=[job.pk]), follow=True)

    assert Signal.objects.count() == 0
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REFUSED
    html = response.content.decode()
    assert "Refused: nothing imported" in html
    assert [e.row for e in response.context["errors"].object_list] == [3, 4, 5]
    assert "Download the bad rows" in html
    assert 'hx-trigger="every 1s"' not in html
    assert not upload_path(job).exists()


def test_skipping_bad_rows_imports_the_good_ones_and_offers_the_rejects(
    admin_role_client, crm1
) -> None:
    job = job_of(
        upload(admin_role_client, "signals", SIGNALS_WITH_ERRORS, name="t.csv", skip_bad_rows=True)
    )
    preview = admin_role_client.get(reverse("imports:job", args=[job.pk]))
    assert preview.context["can_import"] is True
    assert "3 bad rows left out" in preview.content.decode()

    response = admin_role_client.post(reverse("imports:commit", args=[job.pk]), follow=True)

    assert sorted(Signal.objects.values_list("external_id", flat=True)) == ["a", "e"]
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.rows_written, job.rows_skipped) == ("done", 5, 2, 3)
    html = response.content.decode()
    assert "Download the skipped rows" in html
    rejects = admin_role_client.get(reverse("imports:rejects", args=[job.pk]))
    assert rejects["Content-Disposition"] == 'attachment; filename="t-rejected-rows.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(rejects.streaming_content).decode())))
    assert rows[0] == ["row", "errors", "account", "metric", "observed_at", "value", "external_id"]
    assert [r[0] for r in rows[1:]] == ["3", "4", "5"]
    assert rows[1][1].startswith("account: ") and "NOPE-9" in rows[1][1]
    assert rows[3][2:] == ["CRM-1", "logins", "2026-11-02", "lots", "d"]


def test_no_rejects_download_for_a_clean_import(admin_role_client, crm1) -> None:
    text = "account,metric,observed_at,value\nCRM-1,logins,2026-11-01,12\n"
    job = job_of(upload(admin_role_client, "signals", text))
    admin_role_client.post(reverse("imports:commit", args=[job.pk]))

    assert admin_role_client.get(reverse("imports:rejects", args=[job.pk])).status_code == 404
    assert not rejects_path(job).exists()


def test_an_accounts_file_creates_missing_segments_when_asked(admin_role_client, db) -> None:
    text = (
        "external id,name,segment,stage,start date\n"
        "NEW-1,Nordwind GmbH,Public sector,Adoption,2026-01-05\n"
    )
    refused = job_of(upload(admin_role_client, "accounts", text))
    html = admin_role_client.get(reverse("imports:job", args=[refused.pk])).content.decode()
    assert "Public sector" in html and "Not ready" in html

    job = job_of(upload(admin_role_client, "accounts", text, create_missing=True))
    admin_role_client.post(reverse("imports:commit", args=[job.pk]))

    account = Account.objects.get(external_id="NEW-1")
    assert (account.name, account.segment.name) == ("Nordwind GmbH", "Public sector")


def test_committing_twice_imports_once(admin_role_client, crm1) -> None:
    text = "account,metric,observed_at,value\nCRM-1,logins,2026-11-01,12\n"
    job = job_of(upload(admin_role_client, "signals", text))
    admin_role_client.post(reverse("imports:commit", args=[job.pk]))

    response = admin_role_client.post(reverse("imports:commit", args=[job.pk]), follow=True)

    assert "already sent to be imported" in response.content.decode()
    assert Signal.objects.count() == 1


def test_discarding_deletes_the_upload_and_its_job(admin_role_client, crm1) -> None:
    job = job_of(upload(admin_role_client, "signals", SIGNALS_WITH_ERRORS, name="oops.csv"))
    path = upload_path(job)

    response = admin_role_client.post(reverse("imports:discard", args=[job.pk]), follow=True)

    assert "“oops.csv” was discarded" in response.content.decode()
    assert not ImportJob.objects.filter(pk=job.pk).exists()
    assert not path.exists()


# ---------------------------------------------------------------- broker down


def test_with_the_queue_down_the_commit_says_so_and_keeps_the_file(
    admin_role_client, crm1, take_broker_down
) -> None:
    text = "account,metric,observed_at,value\nCRM-1,logins,2026-11-01,12\n"
    job = job_of(upload(admin_role_client, "signals", text))
    take_broker_down()

    response = admin_role_client.post(reverse("imports:commit", args=[job.pk]), follow=True)

    html = response.content.decode()
    assert "The import could not start: the task queue (Redis) does not answer" in html
    assert "your file is kept" in html
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING and "queued_at" not in job.result
    assert upload_path(job).exists() and Signal.objects.count() == 0
    # Still the preview, with its Import button, to try again.
    assert reverse("imports:commit", args=[job.pk]) in html


def test_with_the_queue_down_an_upload_is_kept_to_be_checked_later(
    admin_role_client, crm1, take_broker_down
) -> None:
    take_broker_down()
    response = upload(admin_role_client, "signals", SIGNALS_WITH_ERRORS)
    job = job_of(response)

    html = admin_role_client.get(response.url).content.decode()
    assert "could not be checked: the task queue (Redis) does not answer" in html
    assert reverse("imports:check", args=[job.pk]) in html
    assert upload_path(job).exists()

    # Redis is back.
    celery_app.conf.task_always_eager = True
    admin_role_client.post(reverse("imports:check", args=[job.pk]))
    page = admin_role_client.get(reverse("imports:job", args=[job.pk]))
    assert [e.row for e in page.context["errors"].object_list] == [3, 4, 5]


# ---------------------------------------------------------------- progress


def test_checking_a_file_polls_and_reloads_into_the_preview(admin_role_client, crm1) -> None:
    from accounts.imports import jobs as services

    job = job_of(upload(admin_role_client, "signals", SIGNALS_WITH_ERRORS))
    services.import_job_mark_checking(job=job, token="t")
    ImportJob.objects.filter(pk=job.pk).update(rows_read=20_000, bytes_read=job.file_size // 2)
    poll = {**HTMX, "HTTP_HX_TARGET": "import-checking"}

    html = admin_role_client.get(reverse("imports:job", args=[job.pk]), **poll).content.decode()
    assert html.lstrip().startswith('<article id="import-checking"')
    assert 'hx-trigger="every 1s"' in html and "20,000 rows so far" in html

    services.import_job_preview(job_id=job.pk, token="t")
    response = admin_role_client.get(reverse("imports:job", args=[job.pk]), **poll)
    assert response["HX-Refresh"] == "true"


def running_job(**values) -> ImportJob:
    values.setdefault("result", {"queued_at": "2026-11-01T10:00:00+00:00"})
    return ImportJob.objects.create(kind="signals", file_name="big.csv", file_size=1000, **values)


def test_the_progress_fragment_polls_while_the_import_runs(
    admin_role_client, django_assert_max_num_queries
) -> None:
    job = running_job(status=ImportJob.Status.READING, bytes_read=420, rows_read=12345)

    with django_assert_max_num_queries(6):
        response = admin_role_client.get(reverse("imports:job", args=[job.pk]), **HTMX)

    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<article id="import-progress"')
    assert 'hx-trigger="every 1s"' in html
    assert 'value="42"' in html and "12,345 rows" in html


def test_the_progress_fragment_stops_polling_when_the_import_is_done(admin_role_client) -> None:
    job = running_job(status=ImportJob.Status.PENDING)
    html = admin_role_client.get(reverse("imports:job", args=[job.pk]), **HTMX).content.decode()
    assert "Waiting for a worker" in html and 'hx-trigger="every 1s"' in html

    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE,
        rows_read=3,
        rows_written=2,
        rows_unchanged=1,
        result={"accounts": 2, "rescore_scheduled": False, "errors": []},
    )
    html = admin_role_client.get(reverse("imports:job", args=[job.pk]), **HTMX).content.decode()

    assert "hx-trigger" not in html
    assert "Imported" in html and "the nightly run will score them" in html.replace("The", "the")


# ---------------------------------------------------------------- history


def make_jobs(count: int, users) -> list[ImportJob]:
    return [
        ImportJob.objects.create(
            kind=["accounts", "metrics", "signals"][i % 3],
            user=users[i % len(users)],
            file_name=f"file-{i}.csv",
            status=ImportJob.Status.DONE if i % 4 else ImportJob.Status.REFUSED,
            rows_read=10 * i,
            rows_written=9 * i,
            rows_skipped=i,
            error_summary="3 problem(s) in 2 row(s): nothing imported.\nrow 2, value: bad",
        )
        for i in range(count)
    ]


def test_the_history_is_empty_at_first(admin_role_client) -> None:
    html = admin_role_client.get(reverse("imports:history")).content.decode()
    assert "No imports yet" in html


@pytest.mark.parametrize("count", [3, 30])
def test_the_history_lists_every_import_newest_first_in_bounded_queries(
    admin_role_client, admin_role_user, django_assert_max_num_queries, count
) -> None:
    users = [admin_role_user, UserFactory(first_name="Robin", last_name="Ops"), None]
    jobs = make_jobs(count, users)

    with django_assert_max_num_queries(8):
        response = admin_role_client.get(reverse("imports:history"))

    shown = list(response.context["page"].object_list)
    assert [j.pk for j in shown] == [j.pk for j in reversed(jobs)][:25]
    html = response.content.decode()
    assert reverse("imports:job", args=[jobs[-1].pk]) in html
    assert "Robin Ops" in html and "Refused: nothing imported" in html
    assert "3 problem(s) in 2 row(s)" in html
    if count > 25:
        assert "Page 1 of 2" in html
        second = admin_role_client.get(reverse("imports:history") + "?page=2", **HTMX)
        assert "<html" not in second.content.decode()
        assert [j.pk for j in second.context["page"].object_list] == [j.pk for j in jobs[:5]][::-1]


def test_no_get_of_the_import_pages_writes(admin_role_client, crm1) -> None:
    waiting = job_of(upload(admin_role_client, "signals", SIGNALS_WITH_ERRORS))
    done = job_of(upload(admin_role_client, "signals", SIGNALS_WITH_ERRORS, skip_bad_rows=True))
    admin_role_client.post(reverse("imports:commit", args=[done.pk]))
    gets = [
        (reverse("imports:upload"), {}),
        (reverse("imports:history"), {}),
        (reverse("imports:history") + "?page=2", HTMX),
        (reverse("imports:job", args=[waiting.pk]), {}),
        (reverse("imports:job", args=[waiting.pk]) + "?page=1", HTMX),
        (reverse("imports:job", args=[done.pk]), {}),
        (reverse("imports:job", args=[done.pk]), HTMX),
        (reverse("imports:rejects", args=[done.pk]), {}),
    ]
    for url, headers in gets:
        with CaptureQueriesContext(connection) as queries:
            response = admin_role_client.get(url, **headers)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200, url
        # The rejected rows' download is an export: its audit event is its one write.
        exported = response["Content-Type"].startswith("text/csv")
        writes = [
            q["sql"]
            for q in queries
            if WRITE.search(q["sql"]) and not (exported and q["sql"].startswith(EXPORT_AUDIT))
        ]
        assert writes == [], url


def test_a_finished_import_polls_until_its_rejected_rows_are_kept(admin_role_client) -> None:
    job = running_job(status=ImportJob.Status.REFUSED, error_count=3, result={})
    upload_path(job).parent.mkdir(parents=True, exist_ok=True)
    upload_path(job).write_text("account\n")  # the worker has not deleted it yet

    html = admin_role_client.get(reverse("imports:job", args=[job.pk]), **HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in html and "Keeping the rows left out" in html

    upload_path(job).unlink()
    html = admin_role_client.get(reverse("imports:job", args=[job.pk]), **HTMX).content.decode()
    assert "hx-trigger" not in html and "Refused: nothing imported" in html
