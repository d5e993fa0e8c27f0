from django.db import migrations

from accounts.catalogue import METRICS, SEGMENTS, STAGES


def seed_catalogue(apps, schema_editor):
    Metric = apps.get_model("accounts", "Metric")
    JourneyStage = apps.get_model("accounts", "JourneyStage")
    Segment = apps.get_model("accounts", "Segment")
    for key, name, unit, category, direction, description in METRICS:
        Metric.objects.update_or_create(
            key=key,
            defaults={"name": name, "unit": unit, "category": category,
                      "direction": direction, "description": description},
        )
    for order, (name, slug, target, description, practices) in enumerate(STAGES, start=1):
        JourneyStage.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "order": order, "target_days": target,
                      "description": description, "best_practices": practices},
        )
    for name, slug in SEGMENTS:
        Segment.objects.update_or_create(slug=slug, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed_catalogue, migrations.RunPython.noop)]
