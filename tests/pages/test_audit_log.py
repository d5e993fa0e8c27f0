"""The audit log page: Admins only, filters (event, user, dates), pages, the CSV export,
a bounded number of queries, and the HTMX fragment."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("audit:log")
T = AuditEvent.Type
# session, user, role, permissions (2), the navigation's count of calls to action, the
# users for the filter, the count and the page: whatever the number of events.
MAX_QUERIES = 9


def mine(response) -> list[AuditEvent]:
    """The page's events but the client fixture's own sign-in (admin-tester) and the roles
    the factories give their users (recorded too: role changes made in code, by no one)."""
    return [
        e
        for e in response.context["page"].object_list
        if e.actor_label != "admin-tester" and not (e.type == T.ROLE_CHANGED and e.actor_id is None)
    ]


def event(type, *, actor=None, day=dt.date(2026, 11, 20), **fields) -> AuditEvent:
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))
    fields.setdefault("actor_label", actor.username if actor else "")
    return AuditEvent.objects.create(type=type, actor=actor, at=at, **fields)


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["csm_client", "manager_client"])
def test_csms_and_managers_get_403(request, role):
    client = request.getfixturevalue(role)
    assert client.get(URL).status_code == 403
    assert client.get(reverse("audit:log_csv")).status_code == 403


def test_admins_see_the_events_newest_first(admin_role_client):
    casey = UserFactory(username="casey")
    event(T.LOGIN, actor=casey, ip="10.0.0.1", day=dt.date(2026, 11, 19))
    event(T.LOGIN_FAILED, actor_label="=cmd|x", ip="10.0.0.2")

    response = admin_role_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Audit log" in html and 'href="/audit/"' in html
    assert [e.type for e in mine(response)] == [T.LOGIN_FAILED, T.LOGIN]
    assert "Sign-in refused" in html and "10.0.0.1" in html and "casey" in html


def test_the_filters_narrow_by_event_user_and_dates(admin_role_client):
    casey, morgan = UserFactory(username="casey"), UserFactory(username="morgan")
    event(T.LOGIN, actor=casey, day=dt.date(2026, 11, 1))
    wanted = event(T.LOGIN, actor=casey, day=dt.date(2026, 11, 10))
    event(T.LOGIN, actor=morgan, day=dt.date(2026, 11, 10))
    event(T.EXPORT, actor=casey, day=dt.date(2026, 11, 10))

    response = admin_role_client.get(
        URL, {"type": "login", "user": casey.pk, "since": "2026-11-05", "until": "2026-11-10"}
    )

    assert mine(response) == [wanted]


def test_bad_filters_are_named_and_dropped(admin_role_client):
    event(T.LOGIN)
    response = admin_role_client.get(URL, {"type": "nope", "since": "2026-13-01"})

    assert response.status_code == 200
    assert len(mine(response)) == 1
    html = response.content.decode()
    assert "Ignored: type" in html and "Ignored: since" in html


def test_an_empty_filter_says_so(admin_role_client):
    response = admin_role_client.get(URL, {"type": "locked_out"})
    assert "No events match these filters" in response.content.decode()


def test_queries_do_not_grow_with_events(admin_role_client, django_assert_max_num_queries):
    users = UserFactory.create_batch(5)
    for i in range(120):
        event(T.LOGIN, actor=users[i % 5], ip="10.0.0.1")

    with django_assert_max_num_queries(MAX_QUERIES):
        response = admin_role_client.get(URL, {"page": "2"})

    page = response.context["page"]
    assert page.number == 2 and len(page.object_list) == 50
    assert "Page 2 of 3" in response.content.decode()


def test_the_pages_keep_the_filters(admin_role_client):
    for _ in range(60):
        event(T.EXPORT)

    html = admin_role_client.get(URL, {"type": "export", "page": "2"}).content.decode()

    assert "Page 2 of 2" in html
    assert 'href="?type=export&amp;page=1"' in html and "← Newer" in html
    assert "Older →" not in html


def test_htmx_gets_the_events_only(admin_role_client):
    event(T.LOGIN)
    response = admin_role_client.get(URL, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="audit-events"')
    assert "<nav" not in html.split('id="audit-events"')[0]


def test_the_export_follows_the_filters_and_is_itself_recorded(admin_role_client):
    event(T.LOGIN_FAILED, actor_label="=HYPERLINK(1)", ip="10.0.0.2")
    event(T.LOGIN, actor_label="casey")

    response = admin_role_client.get(reverse("audit:log_csv"), {"type": "login_failed"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert rows[0][:3] == ["When", "Event", "User"]
    assert [r[1:4] for r in rows[1:]] == [["Sign-in refused", "'=HYPERLINK(1)", "10.0.0.2"]]
    assert AuditEvent.objects.filter(type=T.EXPORT).count() == 1


def test_the_export_link_follows_the_filters_in_the_fragment(admin_role_client):
    event(T.LOCKED_OUT, actor_label="mallory")
    response = admin_role_client.get(URL, {"type": "locked_out"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert f'href="{reverse("audit:log_csv")}?type=locked_out"' in html
    assert "1 event matches these filters." in html
