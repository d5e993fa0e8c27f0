"""Every model in the Django admin opens its list for a superuser (with scored accounts)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from scoring.models import ScorecardChange, ScorecardVersion
from scoring.pipeline import runs
from tests.factories import AccountFactory

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_the_admin_lists_every_model(superuser_client, model):
    AccountFactory.create_batch(2)
    runs.run_sync(as_of=runs.timezone.localdate())
    version = ScorecardVersion.objects.filter(status="active").first()
    ScorecardChange.objects.create(
        scorecard=version.scorecard,
        version=version,
        version_number=version.number,
        action=ScorecardChange.Action.PUBLISHED,
        summary="Published",
    )
    opts = model._meta
    response = superuser_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
