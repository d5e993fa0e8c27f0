"""seed_demo: deterministic demo data from a seed, checked arguments, hidden health → signals."""

from __future__ import annotations

import datetime as dt
import json
import re
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Avg, Count, F, Max
from django.utils import timezone

from accounts.models import Account, Note, Signal, StageChange
from healthboard.demo.seed import generate
from healthboard.demo.texts import TICKET_CATEGORIES
from healthboard.demo.users import DEMO_PASSWORDS
from healthboard.demo.writers import demo_accounts
from healthboard.lib.roles import ADMIN, CSM, MANAGER
from tests.factories import AccountFactory, SignalFactory

END = dt.date(2025, 3, 31)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def development_mode(settings):
    """seed_demo runs in development (DEBUG on); pytest-django turns DEBUG off."""
    settings.DEBUG = True


@pytest.fixture
def truth_file(tmp_path):
    return tmp_path / "var" / "demo_truth.json"


def seed_demo(truth_file, *args, **options) -> str:
    out = StringIO()
    defaults = {
        "accounts": 20,
        "days": 60,
        "seed": 7,
        "end_date": END.isoformat(),
        "truth_file": str(truth_file),
    }
    # None leaves an option out (to its default, or to what *args say).
    options = {key: value for key, value in {**defaults, **options}.items() if value is not None}
    call_command("seed_demo", *args, stdout=out, **options)
    return out.getvalue()


def snapshot() -> tuple[list, set, set, set]:
    """The rows the demo writes for its accounts (ids aside), comparable between runs."""
    accounts = list(
        Account.objects.order_by("external_id").values_list(
            "external_id",
            "name",
            "industry",
            "arr",
            "plan",
            "seats",
            "segment__slug",
            "owner__username",
            "stage__slug",
            "stage_since",
            "status",
            "start_date",
            "renewal_date",
            "churn_date",
        )
    )
    signals = set(
        Signal.objects.values_list(
            "external_id", "metric__key", "value", "observed_at", "category", "text"
        )
    )
    notes = set(
        Note.objects.values_list(
            "account__external_id", "author__username", "kind", "body", "created_at"
        )
    )
    stage_changes = set(
        StageChange.objects.values_list(
            "account__external_id",
            "from_stage__slug",
            "to_stage__slug",
            "changed_at",
            "changed_by__username",
        )
    )
    return accounts, signals, notes, stage_changes


def signal_table_schema() -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, Signal._meta.db_table)


def test_same_seed_gives_the_same_data(truth_file):
    output = seed_demo(truth_file)
    first, truth = snapshot(), truth_file.read_bytes()
    schema = signal_table_schema()
    seed_demo(truth_file, reset=True)  # empties the signal table, rebuilds its indexes
    assert snapshot() == first
    assert truth_file.read_bytes() == truth
    assert signal_table_schema() == schema
    accounts, signals, notes, stage_changes = first
    assert len(accounts) == 20 and len(signals) > 20 * 50
    assert len(notes) >= 20 and len(stage_changes) == 20
    assert "signals/s" in output

    seed_demo(truth_file, reset=True, seed=8)
    other_accounts, other_signals, other_notes, _ = snapshot()
    assert [row[1] for row in other_accounts] != [row[1] for row in accounts]
    assert other_signals != signals
    assert other_notes != notes
    assert truth_file.read_bytes() != truth


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (["--accounts", "-5"], {}, "--accounts must be between 1 and 1000000 (got -5)"),
        ([], {"accounts": 0}, "--accounts must be between 1 and 1000000 (got 0)"),
        ([], {"accounts": 1_000_001}, "--accounts must be between 1 and 1000000 (got 1000001)"),
        ([], {"days": 0}, "--days must be between 1 and 3650 (got 0)"),
        ([], {"days": 3651}, "--days must be between 1 and 3650 (got 3651)"),
        ([], {"seed": -1}, "--seed must be 0 or more (got -1)"),
        ([], {"signals_per_account": 0}, "--signals-per-account must be between 1 and"),
        ([], {"end_date": "2025-02-30"}, "--end-date must be a date like 2025-06-30"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(truth_file, args, options, message):
    if args:  # as typed on the command line
        options = {"accounts": None, **options}
    with pytest.raises(CommandError, match=re.escape(message)):
        seed_demo(truth_file, *args, **options)
    assert not Account.objects.exists()
    assert not truth_file.exists()


def test_refuses_to_run_outside_debug_without_force(truth_file, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match=r"DEBUG is off.*--force"):
        seed_demo(truth_file)
    assert not Account.objects.exists()
    assert not get_user_model().objects.exists()
    assert not truth_file.exists()

    seed_demo(truth_file, force=True)
    assert Account.objects.count() == 20


def test_refuses_to_run_twice_without_reset(truth_file):
    seed_demo(truth_file)
    counts = Account.objects.count(), Signal.objects.count()
    with pytest.raises(CommandError, match="pass --reset"):
        seed_demo(truth_file, seed=8)
    assert (Account.objects.count(), Signal.objects.count()) == counts


def test_if_empty_seeds_only_a_database_without_accounts(truth_file):
    """make run's second start: no second seed, no error."""
    seed_demo(truth_file, if_empty=True)
    counts = Account.objects.count(), Signal.objects.count()
    assert counts[0] == 20
    output = seed_demo(truth_file, seed=8, if_empty=True)
    assert "already present: not seeding" in output
    assert (Account.objects.count(), Signal.objects.count()) == counts


def test_bulk_load_leaves_the_signal_table_as_it_was(truth_file):
    """Into an empty table the signals go in without indexes, rebuilt before COMMIT."""
    before = signal_table_schema()
    output = seed_demo(truth_file)
    assert "rebuilt" in output
    assert signal_table_schema() == before
    assert len(before) >= 4  # primary key, unique (source, external_id), the two indexes


def test_reset_deletes_only_demo_accounts(truth_file):
    seed_demo(truth_file)
    own = AccountFactory(external_id="ACME-1", name="Our own customer")
    kept = SignalFactory(account=own, source="crm", external_id="crm-1")
    before = signal_table_schema()
    output = seed_demo(truth_file, reset=True, accounts=5)
    assert "rebuilt" not in output  # the table was not empty: rows go into its indexes
    assert signal_table_schema() == before
    assert Account.objects.filter(pk=own.pk).exists()
    assert demo_accounts().count() == 5
    demo_ids = demo_accounts().values("id")
    assert list(Signal.objects.exclude(account_id__in=demo_ids)) == [kept]
    assert Note.objects.filter(account_id__in=demo_ids).exists()
    assert StageChange.objects.filter(account_id__in=demo_ids).count() == 5


def test_demo_users_have_their_roles_and_the_printed_passwords(truth_file):
    output = seed_demo(truth_file)
    User = get_user_model()
    expected = {"admin": ADMIN, "manager": MANAGER} | {f"csm{i}": CSM for i in range(1, 7)}
    for username, role in expected.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.check_password(DEMO_PASSWORDS[role])
        assert user.first_name and user.last_name
        assert re.search(rf"{username}\s+/ {DEMO_PASSWORDS[role]}", output)
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.get(username="csm1").is_staff
    owners = set(Account.objects.values_list("owner__username", flat=True))
    assert owners <= {f"csm{i}" for i in range(1, 7)} | {None}

    # A second run keeps the users (and their passwords) as they are.
    User.objects.filter(username="csm1").update(first_name="Renamed")
    output = seed_demo(truth_file, reset=True)
    assert User.objects.get(username="csm1").first_name == "Renamed"
    assert "already existed" in output


def test_accounts_are_realistic(truth_file):
    seed_demo(truth_file, accounts=200, days=30)
    accounts = list(Account.objects.select_related("segment", "stage"))
    assert len({a.external_id for a in accounts}) == 200
    assert len({a.name for a in accounts}) == 200
    seats = {"enterprise": (200, 2000), "mid-market": (50, 300), "smb": (5, 50)}
    for account in accounts:
        low, high = seats[account.segment.slug]
        assert low <= account.seats <= high
        assert account.arr > 0
        assert account.start_date <= END
        if account.status == Account.Status.ACTIVE:
            assert END < account.renewal_date <= END + dt.timedelta(days=366)
            assert (account.renewal_date.month, account.renewal_date.day) == (
                account.start_date.month,
                account.start_date.day,
            ) or account.start_date.day == 29
        if account.stage.slug == "renewal":
            assert account.days_to_renewal(END) <= 90
        assert account.start_date <= account.stage_since <= END
    segments = Account.objects.values("segment__slug").annotate(n=Count("id"))
    assert {row["segment__slug"] for row in segments} == set(seats)
    # ARR grows with seats within a segment.
    smb = sorted((a.seats, float(a.arr)) for a in accounts if a.segment.slug == "smb")
    assert np.corrcoef(*zip(*smb, strict=True))[0, 1] > 0.8


@pytest.fixture
def history(truth_file):
    """Enough accounts and days for some to churn."""
    seed_demo(truth_file, accounts=120, days=120, seed=3)
    return json.loads(truth_file.read_text())


def test_churned_accounts_stop_emitting_signals(history):
    churned = Account.objects.filter(status=Account.Status.CHURNED)
    assert churned.exists()
    for account in churned:
        assert history[account.external_id]["churned"] is True
        assert history[account.external_id]["churn_date"] == account.churn_date.isoformat()
    assert not Signal.objects.filter(observed_at__date__gt=F("account__churn_date")).exists()
    # And they did emit signals up to the end.
    last = churned.annotate(last=Max("signals__observed_at")).values_list("last", "churn_date")
    assert all((churn_date - seen.date()).days <= 14 for seen, churn_date in last)
    active = Account.objects.active()
    assert not active.filter(churn_date__isnull=False).exists()
    assert sum(entry["churned"] for entry in history.values()) == churned.count()


def test_low_hidden_health_means_lower_usage(history):
    since = timezone.make_aware(dt.datetime.combine(END - dt.timedelta(days=27), dt.time()))
    rows = (
        Signal.objects.filter(
            metric__key="licence_utilisation",
            observed_at__gte=since,
            account__status=Account.Status.ACTIVE,
        )
        .values("account__external_id")
        .annotate(mean=Avg("value"))
    )
    usage = {row["account__external_id"]: row["mean"] for row in rows}
    health = np.array([history[ext_id]["health_now"] for ext_id in usage])
    used = np.array(list(usage.values()))
    assert len(usage) > 100
    assert np.corrcoef(health, used)[0, 1] > 0.6
    assert used[health < 0.4].mean() < used[health > 0.7].mean() - 20


def test_truth_file_holds_every_accounts_hidden_health(history):
    assert set(history) == set(Account.objects.values_list("external_id", flat=True))
    for entry in history.values():
        assert set(entry) >= {"health_now", "health_min_90d", "churned", "churn_date"}
        assert 0 <= entry["health_min_90d"] <= entry["health_now"] <= 1


def test_signals_are_tagged_and_unique(truth_file):
    seed_demo(truth_file)
    signals = Signal.objects.all()
    assert set(signals.values_list("source", flat=True)) == {"demo"}
    ext_ids = list(signals.values_list("external_id", flat=True))
    assert len(ext_ids) == len(set(ext_ids))
    assert all(re.fullmatch(r"demo-CRM-\d{6}-[a-z_]+-\d+", ext_id) for ext_id in ext_ids)
    tickets = signals.filter(metric__key="support_tickets")
    assert tickets.exists()
    assert set(tickets.values_list("category", flat=True)) <= set(TICKET_CATEGORIES)
    assert set(tickets.values_list("value", flat=True)) <= {1.0, 2.0, 3.0, 4.0}
    first = timezone.make_aware(dt.datetime.combine(END - dt.timedelta(days=59), dt.time()))
    last = timezone.make_aware(dt.datetime.combine(END + dt.timedelta(days=1), dt.time()))
    assert not signals.exclude(observed_at__gte=first, observed_at__lt=last).exists()


def test_signals_per_account_scales_the_frequencies(truth_file):
    result = generate(
        accounts=40, days=90, seed=1, end_date=END, signals_per_account=30, truth_path=None
    )
    assert 20 <= result.signals / result.accounts <= 40
    assert result.truth and result.truth_path is None
    assert Signal.objects.count() == result.signals


def test_history_ends_now_by_default(truth_file):
    seed_demo(truth_file, accounts=5, days=3, end_date=None)
    assert Account.objects.count() == 5
    assert not Signal.objects.filter(observed_at__gt=timezone.now()).exists()
    assert not Account.objects.filter(start_date__gt=timezone.localdate()).exists()
