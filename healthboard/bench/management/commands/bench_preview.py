"""manage.py bench_preview: how long the scorecard editor's what-if preview takes.

Uses the benchmark data set (scoring.bench.dataset, PostgreSQL). Everything the benchmark
changes to measure (every bench account scored by one scorecard, a draft, today's run for
the "stored scores" case, a login session) happens in one transaction that is rolled back.
"""

import dataclasses
import json
import os
import resource
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Segment
from healthboard.bench import dataset
from healthboard.bench.editor import editor_post_data
from healthboard.bench.scoring import raw_aggregate_s
from healthboard.pages.scorecards.forms import DraftForms
from scoring import services
from scoring.editor.preview import preview_draft
from scoring.models import HealthScore, Scorecard, ScoreRun
from scoring.pipeline import runs
from scoring.specs import active_versions


class Rollback(Exception):
    pass


def _draft_of(card: Scorecard):
    """The active version with its first measure's weight doubled, as an unsaved draft."""
    active = next(v for v in active_versions() if v.scorecard_id == card.pk)
    first = active.measures[0]
    heavier = dataclasses.replace(
        first, spec=dataclasses.replace(first.spec, weight=first.spec.weight * 2)
    )
    return dataclasses.replace(
        active, id=-1, number=active.number + 1, measures=(heavier, *active.measures[1:])
    )


def _best(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), times, result


class Command(BaseCommand):
    help = (
        "Time the scorecard what-if preview on PostgreSQL for --accounts bench accounts, all "
        "scored by one scorecard: the computation with the active version computed too, with "
        "today's stored scores as 'before', and the whole HTMX endpoint. Stores nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=10_000)
        parser.add_argument("--signals-per-account", type=int, default=100)
        parser.add_argument("--scorecard", default="", help="Name (default: the default one).")
        parser.add_argument("--repeat", type=int, default=3, help="Best of N (default 3).")
        parser.add_argument("--rebuild", action="store_true", help="Rebuild the data set.")
        parser.add_argument("--json", action="store_true", help="End with one JSON line.")

    def handle(self, *args, accounts, signals_per_account, scorecard, repeat, rebuild, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_preview measures PostgreSQL: set DATABASE_URL.")
        if accounts < 1 or signals_per_account < 1 or repeat < 1:
            raise CommandError("--accounts, --signals-per-account and --repeat must be ≥ 1.")
        card = (
            Scorecard.objects.filter(name=scorecard).first()
            if scorecard
            else Scorecard.objects.filter(is_default=True).first()
        )
        if card is None:
            raise CommandError(f"No scorecard named {scorecard!r}.")
        as_of = timezone.localdate()
        expected = accounts * signals_per_account
        if (
            rebuild
            or dataset.existing(accounts) != accounts
            or abs(dataset.signal_count() - expected) > expected * 0.01
        ):
            self.stdout.write(f"Building {accounts:,} accounts × {signals_per_account} signals …")
            started = time.perf_counter()
            dataset.build(accounts=accounts, signals_per_account=signals_per_account, as_of=as_of)
            self.stdout.write(f"  built in {time.perf_counter() - started:.1f} s")
        counts = (HealthScore.objects.count(), ScoreRun.objects.count())
        figures: dict = {}
        try:
            with transaction.atomic():
                figures = self._measure(card, as_of, repeat)
                raise Rollback
        except Rollback:
            pass
        assert (HealthScore.objects.count(), ScoreRun.objects.count()) == counts
        figures.update(
            signals=dataset.signal_count(),
            load_average=round(os.getloadavg()[0], 2),
            peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        )
        self.stdout.write(
            f"what-if preview of “{card.name}” for {figures['accounts']:,} accounts "
            f"({figures['signals']:,} signals), best of {repeat}:\n"
            f"  no run today (both versions from signals): {figures['preview_computed_s']:6.3f} s  "
            f"(draft {figures['draft_s']:.3f}, active {figures['before_s']:.3f}, "
            f"compare {figures['compare_s']:.3f})\n"
            f"  after today's run (stored values reused):  {figures['preview_stored_s']:6.3f} s  "
            f"({figures['stored_reused_measures']} measures reused, "
            f"{figures['stored_exact_accounts']} accounts re-read at a cut-off)\n"
            f"  the whole HTMX endpoint, after the run:    {figures['endpoint_s']:6.3f} s  "
            f"(form, preview, chart, template)\n"
            f"  floor: one raw SQL aggregation of the same signals: {figures['raw_floor_s']:.3f} s\n"
            + (
                f"  a sample of {figures['sampled']:,} accounts, scaled to all: "
                f"± {figures['changed_margin']:,} accounts changing band (95 %)\n"
                if figures["sampled"]
                else ""
            )
            + f"  {figures['changed']:,} accounts change band; peak RSS {figures['peak_rss_mb']} MB; "
            f"load average {figures['load_average']} on {os.cpu_count()} cores"
        )
        if options["json"]:
            self.stdout.write(json.dumps(figures))

    def _measure(self, card: Scorecard, as_of, repeat: int) -> dict:
        # Every bench account is scored by this scorecard (rolled back afterwards).
        Scorecard.segments.through.objects.exclude(scorecard=card).delete()
        if not card.is_default:
            card.segments.set(Segment.objects.all())
        draft = _draft_of(card)
        preview_draft(draft=draft, as_of=as_of, use_stored=False)  # warm the cache
        computed_s, _, preview = _best(
            lambda: preview_draft(draft=draft, as_of=as_of, use_stored=False), repeat
        )
        if not preview.accounts:
            raise CommandError(f"“{card.name}” scores no bench account.")
        if preview.error:
            raise CommandError(preview.error)

        floor_s = min(raw_aggregate_s(as_of)[0] for _ in range(repeat))
        runs.run_sync(as_of=as_of, trigger="bench")
        stored_s, _, stored = _best(lambda: preview_draft(draft=draft, as_of=as_of), repeat)
        if not stored.before_source.startswith("today's published"):
            raise CommandError("The stored-scores case did not use the stored scores.")
        return {
            "scorecard": card.name,
            "accounts": preview.accounts,
            "repeat": repeat,
            "preview_computed_s": round(computed_s, 3),
            "preview_stored_s": round(stored_s, 3),
            "raw_floor_s": round(floor_s, 3),
            "endpoint_s": round(self._endpoint_s(card, repeat), 3),
            **{k: round(v, 3) for k, v in preview.stats.items()},
            **{f"stored_{k}": round(v, 3) for k, v in stored.stats.items()},
            "changed": preview.changed,
            "changed_stored": stored.changed,
            # Accounts scored when the preview is a sample's (0: every account).
            "sampled": preview.sampled,
            "changed_margin": preview.changed_margin,
        }

    def _endpoint_s(self, card: Scorecard, repeat: int) -> float:
        """The preview as the editor asks for it: POST the unsaved form, get the fragment."""
        user, _ = get_user_model().objects.get_or_create(
            username="bench-preview-admin", defaults={"is_superuser": True}
        )
        draft = services.scorecard_draft_create(scorecard=card, user=user)
        client = Client(SERVER_NAME="localhost")
        client.force_login(user)
        address = reverse("scoring:scorecard_preview", args=[card.pk, draft.number])
        data = {**editor_post_data(DraftForms(draft)), "cw-w_usage": "60"}

        def post():
            response = client.post(address, data, HTTP_HX_REQUEST="true")
            if response.status_code != 200 or b"Accounts changing band" not in response.content:
                raise CommandError(f"The preview endpoint answered {response.status_code}.")

        post()
        best, _, _ = _best(post, repeat)
        return best
