from django.db import migrations

from healthboard.lib.roles import sync_role_groups


def sync_roles(apps, schema_editor):
    # Runs after every model exists, so each role gets its permissions on all of them.
    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0004_run_reference"), ("accounts", "0003_roles")]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
