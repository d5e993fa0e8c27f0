from django.db import migrations

from healthboard.lib.roles import sync_role_groups


def sync_roles(apps, schema_editor):
    # Admins manage users but no longer the groups' permissions (healthboard/pages/admin.py).
    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0002_roles"),
        ("accounts", "0008_signal_checks_set_based"),
        ("scoring", "0019_email_digests"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
