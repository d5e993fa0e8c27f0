from django.db import migrations

from healthboard.lib.roles import sync_role_groups
from scoring.actions import defaults


def seed(apps, schema_editor):
    sync_role_groups(apps)
    ActionRule = apps.get_model("scoring", "ActionRule")
    Outcome = apps.get_model("scoring", "Outcome")
    Playbook = apps.get_model("scoring", "Playbook")
    PlaybookStep = apps.get_model("scoring", "PlaybookStep")
    JourneyStage = apps.get_model("accounts", "JourneyStage")
    for order, (name, kind, parameters, cta_type, priority, due_days) in enumerate(defaults.RULES):
        ActionRule.objects.get_or_create(
            name=name,
            defaults=dict(
                kind=kind,
                parameters=parameters,
                cta_type=cta_type,
                priority=priority,
                due_days=due_days,
                order=order,
            ),
        )
    for order, (name, is_success) in enumerate(defaults.OUTCOMES):
        Outcome.objects.get_or_create(
            name=name, defaults=dict(is_success=is_success, order=order)
        )
    for stage in JourneyStage.objects.all():
        practices = [line.strip() for line in stage.best_practices.splitlines() if line.strip()]
        for band, opening in defaults.BAND_OPENING.items():
            playbook, created = Playbook.objects.get_or_create(
                stage=stage,
                band=band,
                defaults=dict(name=f"{stage.name}: {defaults.BAND_NAMES[band]}"),
            )
            if created:
                PlaybookStep.objects.bulk_create(
                    PlaybookStep(playbook=playbook, order=order, text=text[:300])
                    for order, text in enumerate(opening + practices)
                )


class Migration(migrations.Migration):
    dependencies = [("scoring", "0017_calls_to_action"), ("accounts", "0008_signal_checks_set_based")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
