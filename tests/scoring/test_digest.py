"""The e-mail digest: what it says (new and overdue CTAs, band changes, links, text and HTML),
who gets it when (daily, weekly, never, time zone, hour), and that each user gets it once per
local day however often, or however concurrently, the beat runs."""

from __future__ import annotations

import datetime as dt
import re
import threading
import zoneinfo

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connections
from django.utils import timezone

from healthboard.celery import app as celery_app
from healthboard.lib.roles import CSM, MANAGER
from scoring import tasks
from scoring.digest.content import digest_content, digest_window, run_latest
from scoring.digest.send import digests_send
from scoring.models import CallToAction
from scoring.models.digest import Digest, DigestPreference
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    HealthScoreFactory,
    ScoreRunFactory,
    UserFactory,
)

TODAY = dt.date(2026, 12, 3)  # a Thursday
YESTERDAY = TODAY - dt.timedelta(days=1)
# The first beat after 07:00 in the server's time zone (UTC in tests): the defaults' hour.
NOW = dt.datetime(2026, 12, 3, 7, 5, tzinfo=dt.UTC)
SITE = "https://health.example.com"


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


@pytest.fixture(autouse=True)
def _site(settings) -> None:
    settings.SITE_URL = SITE + "/"  # a trailing slash is not doubled


@pytest.fixture
def csm(db):
    return UserFactory(
        role=CSM, username="dana", first_name="Dana", last_name="Reyes", email="dana@example.com"
    )


@pytest.fixture
def book(csm) -> dict:
    """Dana's three accounts scored yesterday and today (one got worse, one better, one
    stayed) and her CTAs: one overdue, one new since yesterday's beat, one neither, one done."""
    slipping = AccountFactory(owner=csm, name="Acme Anvils")
    recovering = AccountFactory(owner=csm, name="Globex")
    steady = AccountFactory(owner=csm, name="Initech")
    before, after = ScoreRunFactory(date=YESTERDAY), ScoreRunFactory(date=TODAY)
    for account, then, now in ((slipping, 75, 30), (recovering, 50, 80), (steady, 90, 88)):
        HealthScoreFactory(account=account, run=before, score=then)
        HealthScoreFactory(account=account, run=after, score=now)
    return {
        "accounts": (slipping, recovering, steady),
        "overdue": CallToActionFactory(
            account=slipping,
            title="Call Acme about the renewal",
            created_at=NOW - days(6),
            due_date=TODAY - days(3),
        ),
        "new": CallToActionFactory(
            account=recovering,
            title="Ask Globex for a case study",
            cta_type="expansion",
            created_at=NOW - dt.timedelta(hours=3),
            due_date=TODAY + days(7),
        ),
        "older": CallToActionFactory(
            account=steady, title="Quarterly check-in", created_at=NOW - days(3), due_date=TODAY
        ),
        "closed": CallToActionFactory(
            account=steady,
            title="Long done",
            status=CallToAction.Status.DONE,
            created_at=NOW - dt.timedelta(hours=1),
            due_date=TODAY - days(9),
        ),
    }


def parts(message: EmailMultiAlternatives) -> tuple[str, str]:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


# ---------------------------------------------------------------- content


def test_it_sends_the_new_and_overdue_ctas_and_the_band_changes_with_links(book) -> None:
    assert digests_send(now=NOW) == 1

    [message] = mail.outbox
    assert message.to == ["dana@example.com"]
    assert message.subject == ("Healthboard digest: 1 overdue, 1 new CTAs, 2 accounts changed band")
    assert message.extra_headers["List-Unsubscribe"] == f"<{SITE}/preferences/digest/>"
    text, html = parts(message)
    slipping, recovering, steady = book["accounts"]
    for body in (text, html):
        assert "Call Acme about the renewal" in body
        assert "3 days overdue" in body
        assert "Ask Globex for a case study" in body
        # Neither new nor overdue, or closed: not in the digest.
        assert "Quarterly check-in" not in body
        assert "Long done" not in body
        # Each CTA links to its page and its account's; the band changes to the accounts.
        for cta in (book["overdue"], book["new"]):
            assert f"{SITE}/actions/{cta.pk}/" in body
            assert f"{SITE}/accounts/{cta.account_id}/" in body
        assert f"{SITE}/accounts/{slipping.pk}/" in body
        assert f"{SITE}/accounts/{recovering.pk}/" in body
        assert f"{SITE}/actions/" in body  # My actions
        assert f"{SITE}/preferences/digest/" in body
    assert "- Acme Anvils: Healthy → Unhealthy (75 → 30), worse" in text
    assert "- Globex: At risk → Healthy (50 → 80), better" in text
    assert "Initech:" not in text
    # Worse first.
    assert text.index("Acme Anvils: Healthy") < text.index("Globex: At risk")
    assert "Hello Dana," in text
    # The HTML part is one self-contained page: inline styles, no style sheet, no images.
    assert "<!doctype html>" in html
    assert "<img" not in html and "<link" not in html and "<style" not in html
    # Band changes: the one that got worse, and the one that got better, not the steady one.
    assert "Acme Anvils (worse) ● Healthy → ■ Unhealthy score 75 → 30" in visible(html)
    assert "Globex (better) ▲ At risk → ● Healthy score 50 → 80" in visible(html)

    digest = Digest.objects.get()
    assert (digest.status, digest.day) == (Digest.Status.SENT, TODAY)
    assert (digest.new_ctas, digest.overdue_ctas, digest.band_changes) == (1, 1, 2)
    assert (digest.compared_from, digest.scores_date) == (YESTERDAY, TODAY)


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_user_with_nothing_to_report_gets_no_email(csm) -> None:
    AccountFactory(owner=csm)
    CallToActionFactory(account=AccountFactory(owner=csm), created_at=NOW - days(3))

    assert digests_send(now=NOW) == 0

    assert mail.outbox == []
    # The day is done all the same: the next beat does not look again.
    assert Digest.objects.get(user=csm).status == Digest.Status.EMPTY
    assert digests_send(now=NOW + dt.timedelta(minutes=15)) == 0
    assert Digest.objects.count() == 1


def test_the_next_digest_starts_where_the_last_one_ended(book, csm) -> None:
    digests_send(now=NOW)
    mail.outbox.clear()
    slipping, recovering, _steady = book["accounts"]
    tomorrow = NOW + days(1)
    # Tomorrow's run: Globex slips back to yellow; Acme stays red.
    run = ScoreRunFactory(date=TODAY + days(1))
    HealthScoreFactory(account=slipping, run=run, score=25)
    HealthScoreFactory(account=recovering, run=run, score=60)
    CallToActionFactory(
        account=slipping, title="Escalate to the sponsor", created_at=NOW + dt.timedelta(hours=5)
    )

    digests_send(now=tomorrow)

    [message] = mail.outbox
    text, _html = parts(message)
    assert "Escalate to the sponsor" in text
    assert "Ask Globex for a case study" not in text  # told yesterday
    assert "Call Acme about the renewal" in text  # still overdue: said again
    assert "- Globex: Healthy → At risk (80 → 60), worse" in text
    assert "Acme Anvils: " not in text  # red both days
    assert Digest.objects.filter(user=csm).count() == 2


def test_a_manager_also_gets_the_teams_overdue_ctas(book) -> None:
    manager = UserFactory(role=MANAGER, email="mia@example.com", first_name="Mia")
    other = UserFactory(role=CSM, first_name="Omar", last_name="Lind")
    for _ in range(2):
        CallToActionFactory(account=AccountFactory(owner=other), due_date=TODAY - days(1))

    digests_send(now=NOW)

    [message] = [m for m in mail.outbox if m.to == ["mia@example.com"]]
    text, html = parts(message)
    assert message.subject == "Healthboard digest: 3 overdue in your team"
    # The longest overdue first, each linking to the owner's inbox; the heading to the team page.
    dana = book["overdue"].owner
    assert (
        "- Dana Reyes: 1 overdue, the oldest due Mon 30 Nov\n"
        f"  {SITE}/actions/?owner={dana.pk}\n\n"
        f"- Omar Lind: 2 overdue, the oldest due Wed 2 Dec\n  {SITE}/actions/?owner={other.pk}"
    ) in text
    assert f"OVERDUE CALLS TO ACTION (3): {SITE}/actions/team/" in text
    assert f'href="{SITE}/actions/?owner={other.pk}"' in html
    assert f'href="{SITE}/actions/team/"' in html
    # Dana, a CSM, is told of her own only.
    [dana] = [m for m in mail.outbox if m.to == ["dana@example.com"]]
    assert "team" not in dana.subject
    assert manager.digests.get().status == Digest.Status.SENT


def test_long_lists_are_cut_and_counted(csm) -> None:
    account = AccountFactory(owner=csm)
    CallToActionFactory.create_batch(23, account=account, due_date=TODAY - days(2), rule=None)

    digests_send(now=NOW)

    text, html = parts(mail.outbox[0])
    assert "OVERDUE CALLS TO ACTION (23)" in text
    assert f"… and 3 more: {SITE}/actions/" in text
    assert f'… and 3 more in <a href="{SITE}/actions/"' in html


def test_the_content_takes_a_bounded_number_of_queries(
    book, csm, django_assert_max_num_queries
) -> None:
    for _ in range(30):
        account = AccountFactory(owner=csm)
        CallToActionFactory(account=account, due_date=TODAY - days(1), rule=None)
        HealthScoreFactory(account=account, run=ScoreRunFactory(date=TODAY), score=90)
    preference = DigestPreference.defaults_for(csm)
    latest = run_latest()

    # The last digest and the run compared with, the new and overdue CTAs, the band changes,
    # the user's role.
    with django_assert_max_num_queries(6):
        window = digest_window(user=csm, preference=preference, now=NOW, latest=latest)
        content = digest_content(user=csm, today=TODAY, window=window)

    assert content.overdue_total == 31
    assert content.moves_total == 2


# ---------------------------------------------------------------- once per user per day


def test_it_sends_once_per_user_per_day_when_the_task_runs_twice(book, time_machine) -> None:
    time_machine.move_to(NOW, tick=False)
    assert tasks.send_digests.delay().get() == 1
    assert tasks.send_digests.delay().get() == 0
    # Later the same day, with more to say: still tomorrow's news.
    CallToActionFactory(account=book["accounts"][0], created_at=NOW + dt.timedelta(hours=1))
    assert digests_send(now=NOW + dt.timedelta(hours=2)) == 0

    assert len(mail.outbox) == 1
    assert Digest.objects.count() == 1


@pytest.mark.postgres
def test_two_beats_at_the_same_moment_send_once(transactional_db) -> None:
    csm = UserFactory(role=CSM, email="dana@example.com")
    CallToActionFactory(account=AccountFactory(owner=csm), due_date=TODAY - days(1))
    start = threading.Barrier(2)
    sent: list[int] = []

    def beat() -> None:
        try:
            start.wait()
            sent.append(digests_send(now=NOW))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(sent) == [0, 1]
    assert len(mail.outbox) == 1
    assert Digest.objects.get().status == Digest.Status.SENT


def test_a_failed_send_releases_the_day_and_the_next_beat_sends_it(book, monkeypatch) -> None:
    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("the SMTP server is down")

    with monkeypatch.context() as patched:
        patched.setattr(EmailMultiAlternatives, "send", refuse)
        assert digests_send(now=NOW) == 0
    assert not Digest.objects.exists()

    assert digests_send(now=NOW + dt.timedelta(minutes=15)) == 1
    assert len(mail.outbox) == 1
    # What the failed beat would have said, and nothing lost.
    assert "Ask Globex for a case study" in mail.outbox[0].body


def test_one_users_failure_does_not_stop_the_others(book, monkeypatch) -> None:
    other = UserFactory(role=CSM, email="zed@example.com")
    CallToActionFactory(account=AccountFactory(owner=other), due_date=TODAY - days(1))
    real_send = EmailMultiAlternatives.send

    def refuse_dana(self, fail_silently=False):
        if self.to == ["dana@example.com"]:
            raise OSError("mailbox unavailable")
        return real_send(self, fail_silently)

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse_dana)
    assert digests_send(now=NOW) == 1

    assert [m.to for m in mail.outbox] == [["zed@example.com"]]
    assert list(Digest.objects.values_list("user__email", flat=True)) == ["zed@example.com"]


# ---------------------------------------------------------------- who, when


def prefer(user, **fields) -> DigestPreference:
    values = {"time_zone": "UTC", **fields}
    return DigestPreference.objects.create(user=user, **values)


def overdue_for(user) -> None:
    CallToActionFactory(account=AccountFactory(owner=user), due_date=TODAY - days(1))


@pytest.mark.parametrize(
    ("at", "sends"),
    [
        (dt.datetime(2026, 12, 3, 6, 59, tzinfo=dt.UTC), False),
        (dt.datetime(2026, 12, 3, 7, 0, tzinfo=dt.UTC), True),
        (dt.datetime(2026, 12, 3, 23, 59, tzinfo=dt.UTC), True),  # a late beat still sends
    ],
)
def test_it_waits_for_the_users_hour(csm, time_machine, at, sends) -> None:
    overdue_for(csm)
    time_machine.move_to(at, tick=False)

    tasks.send_digests.delay().get()

    assert len(mail.outbox) == int(sends)


@pytest.mark.parametrize(
    ("utc", "sends", "day"),
    [
        # 06:30 in Tokyo on the 3rd: not yet.
        (dt.datetime(2026, 12, 2, 21, 30, tzinfo=dt.UTC), False, None),
        # 07:30 in Tokyo on the 3rd, still the 2nd in UTC: the day is Tokyo's.
        (dt.datetime(2026, 12, 2, 22, 30, tzinfo=dt.UTC), True, dt.date(2026, 12, 3)),
    ],
)
def test_it_follows_the_users_time_zone(csm, time_machine, utc, sends, day) -> None:
    prefer(csm, time_zone="Asia/Tokyo")
    overdue_for(csm)
    time_machine.move_to(utc, tick=False)

    digests_send()

    assert len(mail.outbox) == int(sends)
    if sends:
        assert Digest.objects.get().day == day


def test_the_chosen_hour_in_a_zone_west_of_utc(csm, time_machine) -> None:
    prefer(csm, time_zone="America/New_York", hour=9)
    overdue_for(csm)
    zone = zoneinfo.ZoneInfo("America/New_York")
    time_machine.move_to(dt.datetime(2026, 12, 3, 8, 45, tzinfo=zone), tick=False)
    digests_send()
    assert mail.outbox == []

    time_machine.move_to(dt.datetime(2026, 12, 3, 9, 0, tzinfo=zone), tick=False)  # 14:00 UTC
    digests_send()
    assert len(mail.outbox) == 1


def test_never_means_never(csm, time_machine) -> None:
    prefer(csm, frequency=DigestPreference.Frequency.NEVER)
    overdue_for(csm)
    time_machine.move_to(NOW + dt.timedelta(hours=5), tick=False)

    digests_send()

    assert mail.outbox == []
    assert not Digest.objects.exists()


def test_weekly_goes_on_the_chosen_weekday_only(csm, time_machine) -> None:
    prefer(csm, frequency=DigestPreference.Frequency.WEEKLY, weekday=4)  # Fridays
    overdue_for(csm)
    time_machine.move_to(NOW, tick=False)  # a Thursday
    digests_send()
    assert mail.outbox == []

    time_machine.move_to(NOW + days(1), tick=False)
    digests_send()
    assert len(mail.outbox) == 1
    assert Digest.objects.get().day == TODAY + days(1)


def test_weekly_band_changes_compare_with_a_week_before(csm) -> None:
    prefer(csm, frequency=DigestPreference.Frequency.WEEKLY, weekday=3)  # Thursdays
    account = AccountFactory(owner=csm, name="Umbrella")
    for day, score in ((TODAY - days(7), 80), (YESTERDAY, 20), (TODAY, 55)):
        HealthScoreFactory(account=account, run=ScoreRunFactory(date=day), score=score)

    digests_send(now=NOW)

    # Green a week ago, yellow today: yesterday's red is not what a weekly reader compares.
    assert "- Umbrella: Healthy → At risk (80 → 55), worse" in mail.outbox[0].body


def test_users_without_an_email_address_or_a_role_get_nothing(db) -> None:
    no_address = UserFactory(role=CSM, email="")
    no_role = UserFactory(email="norole@example.com")
    for user in (no_address, no_role):
        overdue_for(user)

    assert digests_send(now=NOW) == 0
    assert not Digest.objects.exists()


def test_next_at_says_when_the_next_digest_is_due() -> None:
    weekly = DigestPreference(
        frequency=DigestPreference.Frequency.WEEKLY, weekday=0, time_zone="Europe/Berlin", hour=8
    )
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    # Thursday 3 December → Monday 7 December, 08:00 in Berlin.
    assert weekly.next_at(NOW) == dt.datetime(2026, 12, 7, 8, 0, tzinfo=berlin)
    daily = DigestPreference(time_zone="Europe/Berlin", hour=8)
    # 06:05 in Berlin: today at 08:00; 08:05: tomorrow.
    early = NOW - dt.timedelta(hours=2)
    assert daily.next_at(early) == dt.datetime(2026, 12, 3, 8, 0, tzinfo=berlin)
    assert daily.next_at(NOW) == dt.datetime(2026, 12, 4, 8, 0, tzinfo=berlin)
    never = DigestPreference(frequency=DigestPreference.Frequency.NEVER, time_zone="UTC")
    assert never.next_at(NOW) is None


# ---------------------------------------------------------------- the schedule


def test_the_beat_runs_the_digests_every_quarter_of_an_hour() -> None:
    entry = celery_app.conf.beat_schedule["email-digests"]

    assert entry["task"] == tasks.send_digests.name
    assert entry["schedule"].minute == {0, 15, 30, 45}


@pytest.mark.postgres
def test_the_scheduled_task_sends_on_a_real_worker(real_celery_worker) -> None:
    csm = UserFactory(role=CSM, email="dana@example.com")
    # Due whatever the time now (no time travel next to a worker's sockets and timeouts).
    prefer(csm, hour=0)
    today = timezone.localdate()
    CallToActionFactory(account=AccountFactory(owner=csm), due_date=today - days(1))

    # What the beat sends, through Redis to the worker; twice, as a doubled beat would.
    assert tasks.send_digests.delay().get(timeout=30) == 1
    assert tasks.send_digests.delay().get(timeout=30) == 0

    assert len(mail.outbox) == 1
    assert Digest.objects.get(user=csm, day=today).status == Digest.Status.SENT
