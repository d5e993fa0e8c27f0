"""Built-in data (seeded names and texts) shows in the reader's language; what people type
shows as typed (accounts.i18n.builtin and the `builtin` template filter)."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from accounts import i18n
from accounts.catalogue import METRICS, STAGES
from accounts.models import JourneyStage
from scoring.actions.defaults import BAND_OPENING, OUTCOMES, RULES, playbook_name
from scoring.bands import Band
from scoring.defaults import ALL_MEASURES


@pytest.fixture
def shouting(monkeypatch):
    """A stand-in catalogue that upper-cases every text: the real .po files are the
    translators' and may not hold a given text yet."""
    monkeypatch.setattr(i18n, "gettext", str.upper)


def test_it_translates_the_seeded_texts_only(shouting):
    assert i18n.builtin("Logins") == "LOGINS"
    assert i18n.builtin("Onboarding") == "ONBOARDING"
    assert i18n.builtin("Logins per seat per week") == "LOGINS PER SEAT PER WEEK"
    # Typed by people: as typed, even when a word of it is a built-in one.
    assert i18n.builtin("Logins (EU)") == "Logins (EU)"
    assert i18n.builtin("") == ""
    assert i18n.builtin(None) is None


def test_a_seeded_playbook_name_is_its_stage_and_band_words():
    """Seeded playbooks are named "<stage>: <band word>" (scoring.actions.defaults)."""
    with translation.override("pl"):
        assert i18n.builtin(playbook_name("Value realisation", Band.RED)) == (
            "Realizacja wartości: ratunek"
        )
        # A renamed stage or a typed name with a colon: as typed.
        assert i18n.builtin("Pilot: rescue") == "Pilot: rescue"
        assert i18n.builtin("Onboarding: call the CFO") == "Onboarding: call the CFO"


def test_every_seeded_text_is_registered():
    texts = [name for _key, name, *_rest in METRICS]
    texts += [description for *_head, description in METRICS]
    texts += [name for name, *_rest in STAGES]
    texts += [line for *_head, practices in STAGES for line in practices.split("\n")]
    texts += [measure[0] for measure in ALL_MEASURES]
    texts += [rule[0] for rule in RULES] + [name for name, _saves in OUTCOMES]
    texts += [step for steps in BAND_OPENING.values() for step in steps]
    missing = [text for text in texts if text not in i18n._BUILTIN]
    assert missing == []


def test_the_template_filter_and_the_practices(shouting):
    rendered = Template("{% load healthboard %}{{ a|builtin }} / {{ b|builtin }}").render(
        Context({"a": "Renewal", "b": "Our own stage"})
    )
    assert rendered == "RENEWAL / Our own stage"
    stage = JourneyStage(best_practices="Ask for referrals\nCall the CFO every Monday")
    assert stage.practices() == ["ASK FOR REFERRALS", "Call the CFO every Monday"]
