"""The rules, outcomes and playbook openings a new install starts with (seeded by a data
migration; Admins edit them in the app afterwards)."""

from __future__ import annotations

from scoring.bands import Band
from scoring.models.actions import CtaType, Priority

# name, kind, parameters, CTA type, priority, due in days
RULES = [
    ("Turned unhealthy", "band_worse", {"band": "red"}, CtaType.RISK, Priority.HIGH, 3),
    ("Turned at risk", "band_worse", {"band": "yellow"}, CtaType.RISK, Priority.MEDIUM, 7),
    (
        "Score fell 15 points in a week",
        "score_drop",
        {"points": 15, "days": 7},
        CtaType.RISK,
        Priority.MEDIUM,
        7,
    ),
    ("At risk before renewal", "renewal_at_risk", {"days": 90}, CtaType.RISK, Priority.HIGH, 7),
    (
        "Complaint unresolved for two weeks",
        "complaint_open",
        {"days": 14, "metric": "unresolved_complaints"},
        CtaType.RISK,
        Priority.MEDIUM,
        3,
    ),
    (
        "Invoice 30 days late",
        "invoice_late",
        {"days": 30, "metric": "invoice_days_late"},
        CtaType.LIFECYCLE,
        Priority.MEDIUM,
        7,
    ),
    (
        "No login for 30 days",
        "no_login",
        {"days": 30, "metric": "logins"},
        CtaType.RISK,
        Priority.MEDIUM,
        7,
    ),
    (
        "Healthy promoter",
        "promoter_healthy",
        {"minimum": 9, "days": 180, "metric": "nps"},
        CtaType.EXPANSION,
        Priority.LOW,
        14,
    ),
]

# name, counts as a save
OUTCOMES = [
    ("Back on track", True),
    ("Renewed", True),
    ("Expanded", True),
    ("Advocacy secured", True),
    ("Escalated", False),
    ("No response from the customer", False),
    ("Customer is leaving", False),
    ("Not needed", False),
]

# The steps a playbook opens with per band, before the stage's own best practices.
BAND_OPENING = {
    Band.RED: [
        "Call the customer within two days and hear what went wrong",
        "Agree a rescue plan with dates and owners on both sides",
        "Tell your manager and the executive sponsor",
    ],
    Band.YELLOW: [
        "Reach out this week and ask how things are going",
        "Open 'Why this score' and address the measure that fell",
    ],
    Band.GREEN: [],
}
BAND_NAMES = {Band.RED: "rescue", Band.YELLOW: "recovery", Band.GREEN: "best practice"}


def playbook_name(stage_name: str, band: str) -> str:
    """A new playbook's name, as the seeded ones read ("Onboarding: rescue")."""
    return f"{stage_name}: {BAND_NAMES[band]}"
