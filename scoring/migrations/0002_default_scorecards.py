from django.db import migrations
from django.utils import timezone

from scoring.defaults import SCORECARDS


def seed_scorecards(apps, schema_editor):
    Scorecard = apps.get_model("scoring", "Scorecard")
    Version = apps.get_model("scoring", "ScorecardVersion")
    CategoryWeight = apps.get_model("scoring", "CategoryWeight")
    Measure = apps.get_model("scoring", "Measure")
    Metric = apps.get_model("accounts", "Metric")
    Segment = apps.get_model("accounts", "Segment")
    metrics = {m.key: m for m in Metric.objects.all()}
    for name, description, segments, is_default, categories, measures, bands in SCORECARDS:
        if Scorecard.objects.filter(name=name).exists():
            continue
        card = Scorecard.objects.create(name=name, description=description, is_default=is_default)
        card.segments.set(Segment.objects.filter(slug__in=segments))
        version = Version.objects.create(
            scorecard=card, number=1, status="active", published_at=timezone.now(),
            notes="Seeded on install.", **bands,
        )
        for category, weight in categories.items():
            CategoryWeight.objects.create(version=version, category=category, weight=weight)
        for order, spec in enumerate(measures):
            label, category, metric, agg, window, per_seat, rule, direction, params, weight = spec
            fields = dict(zip(("red", "green") if rule == "threshold" else ("low", "high"), params))
            Measure.objects.create(
                version=version, name=label, category=category, metric=metrics[metric],
                aggregation=agg, window_days=window, per_seat=per_seat, rule=rule,
                direction=direction, weight=weight, order=order, **fields,
            )


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial"), ("accounts", "0002_catalogue")]
    operations = [migrations.RunPython(seed_scorecards, migrations.RunPython.noop)]
