"""The run for a date: scores every active account once, publishes atomically, repeats safely."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, Metric, Signal
from scoring.aggregates import window_end
from scoring.models import HealthScore, ScoreChunk, ScoreRun
from scoring.pipeline import backfill_runs, runs
from tests.factories import AccountFactory, SegmentFactory

TODAY = timezone.localdate()


def add_signals(account, health: float, as_of=TODAY):
    """A few weeks of signals on the scales the default scorecards expect."""
    metrics = {m.key: m for m in Metric.objects.all()}
    end = window_end(as_of)
    rows = []
    for week in range(8):
        at = end - dt.timedelta(days=7 * week + 1)
        seats = account.seats
        rows += [
            Signal(
                account=account,
                metric=metrics["logins"],
                observed_at=at,
                value=seats * (0.5 + 4.5 * health),
            ),
            Signal(
                account=account,
                metric=metrics["active_users"],
                observed_at=at,
                value=seats * (0.15 + 0.8 * health),
            ),
            Signal(
                account=account,
                metric=metrics["licence_utilisation"],
                observed_at=at,
                value=100 * (0.15 + 0.8 * health),
            ),
            Signal(
                account=account,
                metric=metrics["email_open_rate"],
                observed_at=at,
                value=10 + 55 * health,
            ),
            Signal(account=account, metric=metrics["csat"], observed_at=at, value=1 + 4 * health),
            Signal(
                account=account, metric=metrics["nps"], observed_at=at, value=round(10 * health)
            ),
            Signal(
                account=account,
                metric=metrics["kpi_attainment"],
                observed_at=at,
                value=30 + 80 * health,
            ),
            Signal(
                account=account,
                metric=metrics["spend"],
                observed_at=at,
                value=1000 + 10 * week * (0.5 - health),
            ),
        ]
    Signal.objects.bulk_create(rows)


@pytest.fixture
def portfolio(db):
    mid = SegmentFactory(slug="mid-market")
    healthy = AccountFactory(name="Healthy Co", segment=mid)
    sick = AccountFactory(name="Sick Co", segment=mid)
    silent = AccountFactory(name="Silent Co", segment=mid)
    add_signals(healthy, 0.9)
    add_signals(sick, 0.1)
    return {"healthy": healthy, "sick": sick, "silent": silent}


def read_all(run):
    """The first pass of a run over every chunk, and the references taken after it."""
    for chunk in run.chunks.all():
        runs.run_chunk_aggregate(chunk_id=chunk.pk)
    runs.run_references(run_id=run.pk)


def scores_by_name(run):
    return {
        s.account.name: s for s in HealthScore.objects.filter(run=run).select_related("account")
    }


def test_a_run_scores_every_active_account_once(portfolio):
    run = runs.run_sync(as_of=TODAY)
    assert run.status == ScoreRun.Status.DONE
    scores = scores_by_name(run)
    assert set(scores) == {"Healthy Co", "Sick Co", "Silent Co"}
    assert scores["Healthy Co"].band == "green" and scores["Healthy Co"].score >= 70
    assert scores["Sick Co"].band == "red" and scores["Sick Co"].score < 40
    # No signals at all is "no data", never red.
    assert scores["Silent Co"].band == "none" and scores["Silent Co"].score is None


def test_snapshots_keep_raw_values_and_sub_scores_in_measure_order(portfolio):
    run = runs.run_sync(as_of=TODAY)
    score = scores_by_name(run)["Healthy Co"]
    n_measures = score.version.measures.count()
    assert len(score.details["raw"]) == len(score.details["sub"]) == n_measures
    assert score.version.status == "active"
    assert 0 < score.coverage < 1


def test_running_the_same_date_twice_replaces_the_day(portfolio):
    first = runs.run_sync(as_of=TODAY)
    second = runs.run_sync(as_of=TODAY)
    assert HealthScore.objects.filter(date=TODAY).count() == 3
    assert not HealthScore.objects.filter(run=first).exists()
    first.refresh_from_db()
    assert first.status == ScoreRun.Status.SUPERSEDED
    assert ScoreRun.objects.filter(date=TODAY, status="done").get() == second


def test_a_second_run_for_the_same_date_cannot_start_while_one_runs(portfolio):
    running = runs.run_start(as_of=TODAY)
    with pytest.raises(runs.RunInProgress):
        runs.run_start(as_of=TODAY)
    # The first still completes, alone.
    read_all(running)
    for chunk in running.chunks.all():
        runs.run_chunk(chunk_id=chunk.pk)
    runs.run_finalize(run_id=running.pk)
    assert HealthScore.objects.filter(date=TODAY).count() == 3


def test_a_chunk_delivered_twice_writes_once(portfolio):
    run = runs.run_start(as_of=TODAY, chunk_size=2)
    chunk = run.chunks.order_by("first_account_id").first()
    assert runs.run_chunk_aggregate(chunk_id=chunk.pk) == 2
    assert runs.run_chunk_aggregate(chunk_id=chunk.pk) == 0
    read_all(run)
    assert runs.run_chunk(chunk_id=chunk.pk) == 2
    assert runs.run_chunk(chunk_id=chunk.pk) == 0
    run.refresh_from_db()
    assert run.accounts_done == 2 and run.chunks_done == 1


def test_a_run_loads_its_scorecard_versions_once_per_process_not_per_chunk(portfolio):
    # One chunk per account: each of the three reads and scores with the run's versions.
    run = runs.run_start(as_of=TODAY, chunk_size=1)
    first, *rest = run.chunks.order_by("first_account_id")
    runs.run_chunk_aggregate(chunk_id=first.pk)
    with CaptureQueriesContext(connection) as later:
        for chunk in rest:
            runs.run_chunk_aggregate(chunk_id=chunk.pk)
    assert not [q for q in later.captured_queries if "scoring_measure" in q["sql"]]
    runs.run_references(run_id=run.pk)
    for chunk in run.chunks.all():
        runs.run_chunk(chunk_id=chunk.pk)
    runs.run_finalize(run_id=run.pk)
    assert HealthScore.objects.filter(run=run).count() == 3
    # Another run loads them again: its versions may be others.
    assert runs.run_sync(as_of=TODAY).accounts_done == 3


def test_no_chunk_is_scored_before_every_chunk_is_read(portfolio):
    run = runs.run_start(as_of=TODAY, chunk_size=2)
    first, second = run.chunks.order_by("first_account_id")
    runs.run_chunk_aggregate(chunk_id=first.pk)
    # A percentile rank needs the whole population: the second chunk is not read yet.
    with pytest.raises(RuntimeError, match="not read"):
        runs.run_references(run_id=run.pk)
    with pytest.raises(RuntimeError, match="before every chunk is read"):
        runs.run_chunk(chunk_id=first.pk)
    runs.run_chunk_aggregate(chunk_id=second.pk)
    runs.run_references(run_id=run.pk)
    assert runs.run_chunk(chunk_id=first.pk) == 2


def test_a_published_run_keeps_no_raw_values(portfolio):
    run = runs.run_sync(as_of=TODAY, chunk_size=2)
    assert not run.chunks.filter(raw__isnull=False).exists()
    failing = runs.run_start(as_of=TODAY, chunk_size=2)
    read_all(failing)
    runs.run_fail(run_id=failing.pk, error="worker lost")
    assert not failing.chunks.filter(raw__isnull=False).exists()


def test_unfinished_runs_are_invisible_and_failed_ones_leave_nothing(portfolio):
    published = runs.run_sync(as_of=TODAY)
    run = runs.run_start(as_of=TODAY, chunk_size=2)
    read_all(run)
    runs.run_chunk(chunk_id=run.chunks.order_by("first_account_id").first().pk)
    # Readers see exactly the published day while the new run is half done.
    visible = HealthScore.objects.filter(date=TODAY, run__status="done")
    assert visible.count() == 3 and set(visible.values_list("run", flat=True)) == {published.pk}
    runs.run_fail(run_id=run.pk, error="worker lost")
    assert not HealthScore.objects.filter(run=run).exists()
    assert runs.latest_done_run(TODAY) == published


def test_an_abandoned_run_does_not_block_the_date_forever(portfolio):
    stuck = runs.run_start(as_of=TODAY)
    ScoreRun.objects.filter(pk=stuck.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=2))
    run = runs.run_sync(as_of=TODAY)
    stuck.refresh_from_db()
    assert stuck.status == ScoreRun.Status.FAILED and run.status == ScoreRun.Status.DONE


def test_churned_and_future_accounts_are_not_scored(portfolio):
    AccountFactory(
        name="Gone Co", status=Account.Status.CHURNED, churn_date=TODAY - dt.timedelta(days=3)
    )
    AccountFactory(name="Future Co", start_date=TODAY + dt.timedelta(days=3))
    run = runs.run_sync(as_of=TODAY)
    assert "Gone Co" not in scores_by_name(run) and "Future Co" not in scores_by_name(run)
    # But a back-filled day before the churn did score it.
    past = runs.run_sync(as_of=TODAY - dt.timedelta(days=5))
    assert "Gone Co" in scores_by_name(past)


def test_week_over_week_change(portfolio):
    runs.run_sync(as_of=TODAY - dt.timedelta(days=7))
    add_signals(portfolio["sick"], 0.9)  # it recovered
    run = runs.run_sync(as_of=TODAY)
    sick = scores_by_name(run)["Sick Co"]
    assert sick.delta_7d is not None and sick.delta_7d > 10


def test_percentile_measures_rank_against_the_whole_population_not_the_chunk(portfolio):
    one_chunk = scores_by_name(runs.run_sync(as_of=TODAY))
    many_chunks = scores_by_name(runs.run_sync(as_of=TODAY, chunk_size=1))
    for name in one_chunk:
        assert one_chunk[name].details == many_chunks[name].details
        assert one_chunk[name].score == many_chunks[name].score


def test_percentile_bands_split_the_population(portfolio):
    from scoring.models import ScorecardVersion

    for i in range(8):
        add_signals(AccountFactory(name=f"Extra {i}", segment=portfolio["healthy"].segment), i / 8)
    ScorecardVersion.objects.filter(status="active").update(band_mode="percentile")
    run = runs.run_sync(as_of=TODAY, chunk_size=3)
    bands = list(
        HealthScore.objects.filter(run=run).exclude(band="none").values_list("band", flat=True)
    )
    assert len(bands) == 10
    assert bands.count("green") == 3 and bands.count("red") == 3  # 25 % of 10, rounded


def test_account_rescore_updates_todays_snapshot(portfolio):
    runs.run_sync(as_of=TODAY)
    add_signals(portfolio["silent"], 0.8)
    score = runs.account_rescore(account_id=portfolio["silent"].pk)
    assert score.band == "green"
    assert HealthScore.objects.filter(date=TODAY, account=portfolio["silent"]).count() == 1


def test_account_rescore_bands_by_the_runs_percentile_cut_offs(portfolio):
    from scoring.models import ScorecardVersion

    for i in range(8):
        add_signals(AccountFactory(name=f"Extra {i}", segment=portfolio["healthy"].segment), i / 8)
    ScorecardVersion.objects.filter(status="active").update(band_mode="percentile")
    run = runs.run_sync(as_of=TODAY)
    version_id = scores_by_name(run)["Healthy Co"].version_id
    red_max, green_min = run.reference["band_cuts"][str(version_id)]
    # Alone, the account cannot be ranked: it is banded by where today's population was cut.
    add_signals(portfolio["silent"], 0.95)
    score = runs.account_rescore(account_id=portfolio["silent"].pk)
    assert score.score >= green_min and score.band == "green"
    add_signals(portfolio["sick"], 0.0)
    score = runs.account_rescore(account_id=portfolio["sick"].pk)
    assert score.score <= red_max and score.band == "red"


def test_account_rescore_waits_for_the_nightly_run_when_today_has_none(portfolio):
    assert runs.account_rescore(account_id=portfolio["sick"].pk) is None
    assert not HealthScore.objects.exists()


def test_chunks_are_recorded(portfolio):
    run = runs.run_start(as_of=TODAY, chunk_size=2)
    assert ScoreChunk.objects.filter(run=run).count() == 2
    assert run.accounts_total == 3


def test_a_new_signal_rescores_its_account(portfolio, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    cache.clear()
    runs.run_sync(as_of=TODAY)
    metrics = {m.key: m for m in Metric.objects.all()}
    silent = portfolio["silent"]
    with django_capture_on_commit_callbacks(execute=True):
        for key, value in [
            ("logins", silent.seats * 4),
            ("csat", 5),
            ("nps", 10),
            ("licence_utilisation", 90),
            ("active_users", silent.seats * 0.9),
            ("kpi_attainment", 100),
        ]:
            Signal.objects.create(
                account=silent, metric=metrics[key], observed_at=timezone.now(), value=value
            )
    score = HealthScore.objects.get(date=TODAY, account=silent)
    assert score.band == "green"


@pytest.mark.parametrize("band_mode", ["fixed", "percentile"])
def test_a_backfill_stores_what_a_run_per_day_stores(portfolio, monkeypatch, band_mode):
    from scoring.models import ScorecardVersion
    from scoring.rollups.snapshots import run_bands, run_columns

    first, last = TODAY - dt.timedelta(days=9), TODAY
    churned = AccountFactory(
        name="Gone Co", status=Account.Status.CHURNED, churn_date=TODAY - dt.timedelta(days=4)
    )
    add_signals(churned, 0.2, as_of=TODAY - dt.timedelta(days=5))
    for i in range(4):
        add_signals(AccountFactory(name=f"Extra {i}", segment=portfolio["healthy"].segment), i / 4)
    ScorecardVersion.objects.filter(status="active").update(band_mode=band_mode)
    # A day published before the range: the first week's change reads it.
    before = runs.run_sync(as_of=first - dt.timedelta(days=3))

    def published():
        done = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__gte=first)
        scores = {
            (s.date, s.account_id): (s.score, s.band, s.coverage, s.delta_7d, s.details)
            for s in HealthScore.objects.filter(run__in=done)
        }
        days = {}
        for run in done:
            columns = run_columns(run=run)
            # Who claimed it, and a back-fill's span (for the pages' progress), differ by design.
            reference = {k: v for k, v in run.reference.items() if k not in ("claim", "backfill")}
            kept = [None if x != x else x for x in columns.scores.tolist()]  # NaN ≠ NaN
            columns = (columns.account_ids.tolist(), columns.bands.tolist(), kept)
            days[run.date] = (reference, run.accounts_done, columns)
        totals = {day: kept for _id, day, kept in run_bands(runs=done, count_missing=False)}
        return scores, days, totals

    for i in range(10):
        runs.run_sync(as_of=first + dt.timedelta(days=i))
    daily = published()
    ScoreRun.objects.exclude(pk=before.pk).delete()
    # Small blocks so the test crosses block edges of days, accounts and writes.
    monkeypatch.setattr(backfill_runs, "BACKFILL_DAYS_PER_BLOCK", 4)
    monkeypatch.setattr(backfill_runs, "BACKFILL_ACCOUNTS_PER_BLOCK", 2)
    monkeypatch.setattr(backfill_runs, "BACKFILL_ROWS_PER_WRITE", 12)
    done = backfill_runs.run_backfill(first=first, last=last)
    assert len(done) == 10 and all(r.status == ScoreRun.Status.DONE for r in done)
    filled = published()
    assert filled[0].keys() == daily[0].keys()
    for key, score in daily[0].items():
        assert filled[0][key] == score, key
    assert filled[1] == daily[1]
    assert filled[2] == daily[2]
    if band_mode == "percentile":
        assert any(r.reference["band_cuts"] for r in done)


def test_a_backfill_over_published_days_replaces_them(portfolio):
    first = TODAY - dt.timedelta(days=2)
    old = backfill_runs.run_backfill(first=first, last=TODAY)
    new = backfill_runs.run_backfill(first=first, last=TODAY)
    assert set(ScoreRun.objects.filter(status=ScoreRun.Status.DONE)) == set(new)
    assert {r.status for r in ScoreRun.objects.filter(pk__in=[r.pk for r in old])} == {
        ScoreRun.Status.SUPERSEDED
    }
    assert HealthScore.objects.count() == 3 * 3
    assert not HealthScore.objects.filter(run__in=old).exists()


def test_a_backfill_that_fails_publishes_nothing_and_frees_its_days(portfolio, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("engine broke")

    monkeypatch.setattr(backfill_runs, "_score_day", broken)
    with pytest.raises(RuntimeError):
        backfill_runs.run_backfill(first=TODAY - dt.timedelta(days=2), last=TODAY)
    assert set(ScoreRun.objects.values_list("status", flat=True)) == {ScoreRun.Status.FAILED}
    assert not HealthScore.objects.exists()
    monkeypatch.undo()
    assert len(backfill_runs.run_backfill(first=TODAY - dt.timedelta(days=2), last=TODAY)) == 3


def test_accounts_rescore_scores_a_batch_of_accounts_at_once(portfolio):
    run = runs.run_sync(as_of=TODAY)
    add_signals(portfolio["silent"], 0.8)
    add_signals(portfolio["sick"], 0.95)
    nightly = scores_by_name(run)
    before = nightly["Healthy Co"]
    scored = runs.accounts_rescore(account_ids=[portfolio["silent"].pk, portfolio["sick"].pk])
    assert scored == 2
    scores = scores_by_name(run)
    assert nightly["Silent Co"].band == "none" and scores["Silent Co"].band == "green"
    assert scores["Sick Co"].score > nightly["Sick Co"].score
    # The account between them in id order was read, not re-scored.
    assert scores["Healthy Co"].pk == before.pk
    assert HealthScore.objects.filter(date=TODAY).count() == 3


def test_of_two_racing_reads_of_a_chunk_the_first_keeps_its_values(portfolio):
    """run_chunk_aggregate's write, as two deliveries that both read the chunk reach it."""
    run = runs.run_start(as_of=TODAY, chunk_size=2)
    chunk = run.chunks.order_by("first_account_id").first()
    with transaction.atomic():
        assert runs._values_keep(chunk.pk, b"first raw \x00\xff", b"first ranked") == 1
    with transaction.atomic():
        assert runs._values_keep(chunk.pk, b"second raw", b"second ranked") == 0
    chunk.refresh_from_db()
    assert (bytes(chunk.raw), bytes(chunk.ranked)) == (b"first raw \x00\xff", b"first ranked")


@pytest.mark.django_db
def test_a_chunks_values_are_stored_uncompressed():
    """They live for minutes: compressing 880 KB cost a tenth of the chunk's read."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage setting")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = "
            "'scoring_scorechunk'::regclass AND attname IN ('raw', 'ranked') ORDER BY attname"
        )
        assert cursor.fetchall() == [("ranked", "e"), ("raw", "e")]
