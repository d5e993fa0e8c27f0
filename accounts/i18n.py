"""Built-in data in the reader's language.

The catalogue, journey stages, segments, scorecards and playbooks that a fresh install seeds
are stored in the database in English (migrations and seed commands write them once, for every
user). Their texts are marked with gettext_noop where they are written (accounts/catalogue.py,
scoring/defaults.py, scoring/actions/defaults.py) and registered here; `builtin()` shows a
stored value in the active language only when it is exactly such a built-in text, so what
people type themselves (their own metrics, renamed stages, notes) shows as typed.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext

_BUILTIN: set[str] = set()


def builtin_register(texts: Iterable[str]) -> None:
    """Declare seeded texts (each also marked with gettext_noop where it is written)."""
    _BUILTIN.update(t for t in texts if t)


def builtin(value):
    """`value` in the active language if it is a built-in text, otherwise as stored. Two
    built-in texts joined by ": " are one too: a seeded playbook's name is its stage's and
    its band's ("Onboarding: rescue")."""
    if not isinstance(value, str):
        return value
    if value in _BUILTIN:
        return gettext(value)
    first, colon, second = value.partition(": ")
    if colon and first in _BUILTIN and second in _BUILTIN:
        # Translators: a playbook's name, e.g. "Onboarding: rescue" (stage: band's play).
        return gettext("%(first)s: %(second)s") % {
            "first": gettext(first),
            "second": gettext(second),
        }
    return value


def in_sentence(name: str) -> str:
    """A name (a metric's, a stage's) as it reads inside a sentence: "Unresolved complaints"
    becomes "unresolved complaints"; an abbreviation ("NPS", "CSAT") stays as it is."""
    return name[:1].lower() + name[1:] if name[1:2].islower() else name
