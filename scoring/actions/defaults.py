"""The rules, outcomes and playbook openings a new install starts with (seeded by a data
migration; Admins edit them in the app afterwards).

Rule and outcome names and the opening steps are marked with gettext_noop: stored in English,
shown in the reader's language while they are unchanged (accounts.i18n.builtin)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from accounts.i18n import builtin_register
from scoring.bands import Band
from scoring.models.actions import CtaType, Priority

# name, kind, parameters, CTA type, priority, due in days
RULES = [
    (
        gettext_noop("Turned unhealthy"),
        "band_worse",
        {"band": "red"},
        CtaType.RISK,
        Priority.HIGH,
        3,
    ),
    (
        gettext_noop("Turned at risk"),
        "band_worse",
        {"band": "yellow"},
        CtaType.RISK,
        Priority.MEDIUM,
        7,
    ),
    (
        gettext_noop("Score fell 15 points in a week"),
        "score_drop",
        {"points": 15, "days": 7},
        CtaType.RISK,
        Priority.MEDIUM,
        7,
    ),
    (
        gettext_noop("At risk before renewal"),
        "renewal_at_risk",
        {"days": 90},
        CtaType.RISK,
        Priority.HIGH,
        7,
    ),
    (
        gettext_noop("Complaint unresolved for two weeks"),
        "complaint_open",
        {"days": 14, "metric": "unresolved_complaints"},
        CtaType.RISK,
        Priority.MEDIUM,
        3,
    ),
    (
        gettext_noop("Invoice 30 days late"),
        "invoice_late",
        {"days": 30, "metric": "invoice_days_late"},
        CtaType.LIFECYCLE,
        Priority.MEDIUM,
        7,
    ),
    (
        gettext_noop("No login for 30 days"),
        "no_login",
        {"days": 30, "metric": "logins"},
        CtaType.RISK,
        Priority.MEDIUM,
        7,
    ),
    (
        gettext_noop("Healthy promoter"),
        "promoter_healthy",
        {"minimum": 9, "days": 180, "metric": "nps"},
        CtaType.EXPANSION,
        Priority.LOW,
        14,
    ),
]

# name, counts as a save
OUTCOMES = [
    (gettext_noop("Back on track"), True),
    (gettext_noop("Renewed"), True),
    (gettext_noop("Expanded"), True),
    (gettext_noop("Advocacy secured"), True),
    (gettext_noop("Escalated"), False),
    (gettext_noop("No response from the customer"), False),
    (gettext_noop("Customer is leaving"), False),
    (gettext_noop("Not needed"), False),
]

# The steps a playbook opens with per band, before the stage's own best practices.
BAND_OPENING = {
    Band.RED: [
        gettext_noop("Call the customer within two days and hear what went wrong"),
        gettext_noop("Agree a rescue plan with dates and owners on both sides"),
        gettext_noop("Tell your manager and the executive sponsor"),
    ],
    Band.YELLOW: [
        gettext_noop("Reach out this week and ask how things are going"),
        gettext_noop("Open 'Why this score' and address the measure that fell"),
    ],
    Band.GREEN: [],
}
builtin_register(rule[0] for rule in RULES)
builtin_register(name for name, _saves in OUTCOMES)
builtin_register(step for steps in BAND_OPENING.values() for step in steps)

# What a playbook is for in each band: the second half of its name (a playbook's name).
BAND_NAMES = {
    Band.RED: gettext_noop("rescue"),
    Band.YELLOW: gettext_noop("recovery"),
    Band.GREEN: gettext_noop("best practice"),
}
builtin_register(BAND_NAMES.values())


def playbook_name(stage_name: str, band: str) -> str:
    """A new playbook's name, as the seeded ones read ("Onboarding: rescue")."""
    return f"{stage_name}: {BAND_NAMES[band]}"
