"""factory_boy factories for the models tests build on.

The data migrations seed the catalogue (metrics, journey stages, segments) and the role
groups; the factories reuse those rows instead of inventing new ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Account, JourneyStage, Metric, Note, Segment, Signal
from healthboard.lib.roles import CSM

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A login user; `role="CSM" | "Manager" | "Admin"` puts them in that group."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs) -> None:
        if extracted and create:
            group, _ = Group.objects.get_or_create(name=extracted)
            self.groups.add(group)


class SegmentFactory(factory.django.DjangoModelFactory):
    """Defaults to the seeded Enterprise segment; any other slug is created on demand."""

    class Meta:
        model = Segment
        django_get_or_create = ("slug",)

    slug = "enterprise"
    name = factory.LazyAttribute(lambda s: s.slug.replace("-", " ").title())


class JourneyStageFactory(factory.django.DjangoModelFactory):
    """Defaults to the seeded Adoption stage; an unknown slug creates a stage at the end."""

    class Meta:
        model = JourneyStage
        django_get_or_create = ("slug",)

    slug = "adoption"
    name = factory.LazyAttribute(lambda s: s.slug.replace("-", " ").title())
    order = factory.Sequence(lambda n: 100 + n)


class MetricFactory(factory.django.DjangoModelFactory):
    """Defaults to the seeded `logins` metric; pass key= for another catalogue metric."""

    class Meta:
        model = Metric
        django_get_or_create = ("key",)

    key = "logins"
    name = factory.LazyAttribute(lambda m: m.key.replace("_", " ").capitalize())
    category = "Usage"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n:05d} Ltd")
    external_id = factory.Sequence(lambda n: f"TEST-{n:06d}")
    owner = factory.SubFactory(UserFactory, role=CSM)
    segment = factory.SubFactory(SegmentFactory)
    stage = factory.SubFactory(JourneyStageFactory)
    industry = "Software"
    plan = "Business"
    arr = Decimal("50000.00")
    seats = 50
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=400))
    renewal_date = factory.LazyAttribute(lambda a: a.start_date + dt.timedelta(days=730))
    stage_since = factory.LazyAttribute(lambda a: a.start_date)
    status = Account.Status.ACTIVE


class SignalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signal

    account = factory.SubFactory(AccountFactory)
    metric = factory.SubFactory(MetricFactory)
    observed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    value = 1.0
    source = "manual"
    external_id = None


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    account = factory.SubFactory(AccountFactory)
    author = factory.LazyAttribute(lambda n: n.account.owner)
    kind = Note.Kind.NOTE
    body = factory.Faker("sentence")


# ---------------------------------------------------------------- scoring
# Scorecard, ScorecardVersion, Measure, ScoreRun and HealthScore factories go here.

from scoring.models import HealthScore, ScorecardVersion, ScoreRun  # noqa: E402


class ScoreRunFactory(factory.django.DjangoModelFactory):
    """A finished run (readers only see done runs); one per date."""

    class Meta:
        model = ScoreRun
        django_get_or_create = ("date", "status")

    date = factory.LazyFunction(timezone.localdate)
    status = ScoreRun.Status.DONE


def _band_of(score: float | None) -> str:
    """The default scorecard's fixed bands: healthy from 70, unhealthy below 40."""
    if score is None:
        return "none"
    return "green" if score >= 70 else "red" if score < 40 else "yellow"


class HealthScoreFactory(factory.django.DjangoModelFactory):
    """An account's stored score in a run; the band follows the score unless given."""

    class Meta:
        model = HealthScore

    account = factory.SubFactory(AccountFactory)
    run = factory.SubFactory(ScoreRunFactory)
    date = factory.LazyAttribute(lambda s: s.run.date)
    version = factory.LazyFunction(
        lambda: (
            ScorecardVersion.objects.filter(status=ScorecardVersion.Status.ACTIVE)
            .order_by("pk")
            .first()
        )
    )
    score = 55.0
    band = factory.LazyAttribute(lambda s: _band_of(s.score))
    coverage = 1.0
    delta_7d = None
    details = factory.LazyFunction(dict)


# ---------------------------------------------------------------- calls to action

from scoring.models import (  # noqa: E402
    ActionRule,
    CallToAction,
    CtaStep,
    Outcome,
    Playbook,
    PlaybookStep,
)


class ActionRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    kind = "band_worse"
    parameters = factory.LazyFunction(lambda: {"band": "red"})
    cta_type = "risk"


class OutcomeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Outcome
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Outcome {n}")
    is_success = True


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Playbook
        django_get_or_create = ("stage", "band")

    stage = factory.SubFactory(JourneyStageFactory)
    band = "red"
    name = factory.LazyAttribute(lambda p: f"{p.stage.name}: {p.band}")


class PlaybookStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaybookStep

    playbook = factory.SubFactory(PlaybookFactory)
    order = factory.Sequence(int)
    text = factory.Sequence(lambda n: f"Step {n}")


class CallToActionFactory(factory.django.DjangoModelFactory):
    """An open CTA on an account, owned by the account's CSM, due in a week."""

    class Meta:
        model = CallToAction

    account = factory.SubFactory(AccountFactory)
    rule = factory.SubFactory(ActionRuleFactory)
    owner = factory.LazyAttribute(lambda c: c.account.owner)
    cta_type = "risk"
    title = factory.LazyAttribute(lambda c: c.rule.name if c.rule else "Follow up")
    reason = "The account turned unhealthy."
    opened_on = factory.LazyFunction(timezone.localdate)
    last_fired_on = factory.LazyAttribute(lambda c: c.opened_on)
    due_date = factory.LazyAttribute(lambda c: c.opened_on + dt.timedelta(days=7))


class CtaStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CtaStep

    cta = factory.SubFactory(CallToActionFactory)
    order = factory.Sequence(int)
    text = factory.Sequence(lambda n: f"Step {n}")
