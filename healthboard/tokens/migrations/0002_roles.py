from django.db import migrations

from healthboard.lib.roles import sync_role_groups


def sync_roles(apps, schema_editor):
    # Admins make, list and revoke API tokens.
    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0001_initial"),
        ("accounts", "0003_roles"),
        ("scoring", "0005_sync_roles"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
