"""The scorecards seeded on a fresh install (used by a data migration).

Thresholds are tuned to the demo data's scales (healthboard/demo/simulation.py) and to common
CS practice; admins are expected to tune them in the scorecard editor.

Measure labels and scorecard descriptions are marked with gettext_noop: stored in English,
shown in the reader's language while they are unchanged (accounts.i18n.builtin).
"""

from django.utils.translation import gettext_noop

from accounts.i18n import builtin_register

# name, category, metric, aggregation, window days, per seat, rule, direction, params, weight
# params: (red, green) for "threshold", (low, high) for "range", () for "percentile"
USAGE = [
    (
        gettext_noop("Logins per seat per week"),
        "usage",
        "logins",
        "mean",
        28,
        True,
        "threshold",
        1,
        (1.0, 3.5),
        1,
    ),
    (
        gettext_noop("Active users per seat"),
        "usage",
        "active_users",
        "mean",
        28,
        True,
        "threshold",
        1,
        (0.3, 0.75),
        1,
    ),
    (
        gettext_noop("Licence utilisation"),
        "usage",
        "licence_utilisation",
        "mean",
        28,
        False,
        "threshold",
        1,
        (35, 75),
        1,
    ),
    (
        gettext_noop("Feature adoption"),
        "usage",
        "feature_adoption",
        "last",
        90,
        False,
        "threshold",
        1,
        (25, 70),
        1,
    ),
]
ENGAGEMENT = [
    (
        gettext_noop("Meetings in 90 days"),
        "engagement",
        "meetings_held",
        "count",
        90,
        False,
        "threshold",
        1,
        (0, 5),
        1,
    ),
    (
        gettext_noop("E-mail open rate"),
        "engagement",
        "email_open_rate",
        "mean",
        28,
        False,
        "threshold",
        1,
        (15, 45),
        1,
    ),
    (
        gettext_noop("Expansion talks in 180 days"),
        "engagement",
        "expansion_talks",
        "count",
        180,
        False,
        "threshold",
        1,
        (0, 2),
        0.5,
    ),
]
SUPPORT = [
    (
        gettext_noop("Tickets per seat in 90 days"),
        "support",
        "support_tickets",
        "count",
        90,
        True,
        "threshold",
        -1,
        (0.09, 0.03),
        1,
    ),
    (
        gettext_noop("Average ticket severity"),
        "support",
        "support_tickets",
        "mean",
        90,
        False,
        "threshold",
        -1,
        (3.0, 1.5),
        0.5,
    ),
    (
        gettext_noop("Ticket resolution hours"),
        "support",
        "ticket_resolution_hours",
        "mean",
        90,
        False,
        "threshold",
        -1,
        (60, 12),
        1,
    ),
    (
        gettext_noop("Unresolved complaints"),
        "support",
        "unresolved_complaints",
        "last",
        30,
        False,
        "threshold",
        -1,
        (3, 0),
        1,
    ),
]
SENTIMENT = [
    (gettext_noop("NPS"), "sentiment", "nps", "nps", 180, False, "threshold", 1, (-20, 40), 1.5),
    (gettext_noop("CSAT"), "sentiment", "csat", "mean", 90, False, "threshold", 1, (3.0, 4.5), 1),
    (
        gettext_noop("Customer effort (CES)"),
        "sentiment",
        "ces",
        "mean",
        180,
        False,
        "threshold",
        1,
        (3.5, 6.0),
        0.5,
    ),
    (
        gettext_noop("Survey happiness"),
        "sentiment",
        "survey_happiness",
        "mean",
        180,
        False,
        "threshold",
        1,
        (5, 8.5),
        1,
    ),
]
FINANCIAL = [
    (
        gettext_noop("Worst invoice days late"),
        "financial",
        "invoice_days_late",
        "max",
        90,
        False,
        "threshold",
        -1,
        (30, 0),
        1,
    ),
    (gettext_noop("Spend trend"), "financial", "spend", "trend", 180, False, "percentile", 1, (), 0.5),
]
OUTCOMES = [
    (
        gettext_noop("KPI attainment"),
        "outcomes",
        "kpi_attainment",
        "last",
        180,
        False,
        "threshold",
        1,
        (60, 95),
        1,
    ),
]
ADVOCACY = [
    (
        gettext_noop("Referrals in a year"),
        "advocacy",
        "referrals",
        "count",
        365,
        False,
        "threshold",
        1,
        (0, 2),
        1,
    ),
    (gettext_noop("Review rating"), "advocacy", "reviews", "mean", 365, False, "threshold", 1, (2.5, 4.5), 1),
    (
        gettext_noop("Social mentions in 180 days"),
        "advocacy",
        "social_mentions",
        "count",
        180,
        False,
        "threshold",
        1,
        (0, 3),
        0.5,
    ),
]
ALL_MEASURES = USAGE + ENGAGEMENT + SUPPORT + SENTIMENT + FINANCIAL + OUTCOMES + ADVOCACY

SMB_SUPPORT = [
    # Small accounts open few tickets whatever their health: count them, not per seat.
    (
        gettext_noop("Tickets in 90 days"),
        "support",
        "support_tickets",
        "count",
        90,
        False,
        "threshold",
        -1,
        (6, 1),
        1,
    ),
] + SUPPORT[1:]

# name, description, segment slugs, is_default, category weights, measures, band settings
SCORECARDS = [
    (
        "Standard",
        gettext_noop("The default model for every account whose segment has no scorecard of its own."),
        [],
        True,
        {
            "usage": 30,
            "engagement": 15,
            "support": 20,
            "sentiment": 20,
            "financial": 10,
            "outcomes": 15,
            "advocacy": 5,
        },
        ALL_MEASURES,
        {"green_at": 70, "red_below": 40, "min_coverage": 0.5},
    ),
    (
        "Enterprise",
        gettext_noop("Large accounts: outcomes, sentiment and relationship weigh more than raw usage."),
        ["enterprise"],
        False,
        {
            "usage": 20,
            "engagement": 20,
            "support": 15,
            "sentiment": 20,
            "financial": 5,
            "outcomes": 25,
            "advocacy": 5,
        },
        ALL_MEASURES,
        {"green_at": 70, "red_below": 45, "min_coverage": 0.5},
    ),
    (
        "SMB",
        gettext_noop("Small accounts: product usage and paying on time are the strongest signals."),
        ["smb"],
        False,
        {
            "usage": 45,
            "engagement": 5,
            "support": 15,
            "sentiment": 15,
            "financial": 15,
            "outcomes": 5,
            "advocacy": 5,
        },
        USAGE + ENGAGEMENT + SMB_SUPPORT + SENTIMENT + FINANCIAL + OUTCOMES + ADVOCACY,
        {"green_at": 70, "red_below": 40, "min_coverage": 0.4},
    ),
]

builtin_register(m[0] for m in ALL_MEASURES + SMB_SUPPORT)
builtin_register(card[1] for card in SCORECARDS)
