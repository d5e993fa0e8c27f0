from django.db import migrations

from healthboard.lib.roles import sync_role_groups


def sync_roles(apps, schema_editor):
    # Admins see login lockouts and unlock them (django-axes' admin).
    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0003_admins_manage_users_only"),
        ("axes", "0010_accessattemptexpiration"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
