"""The seeded catalogue: metrics, journey stages and segments (used by a data migration).

The texts people read are marked with gettext_noop: stored in English, shown in the reader's
language while they are unchanged (accounts.i18n.builtin)."""

from django.utils.translation import gettext_noop

from accounts.i18n import builtin_register


def _lines(*practices: str) -> str:
    """Best practices are stored one a line; each line is its own text to translate."""
    return "\n".join(practices)


# key, name, unit, category, direction (1 more is better, -1 more is worse), description
METRICS = [
    ("logins", gettext_noop("Logins"), gettext_noop("logins/week"), gettext_noop("Usage"), 1, gettext_noop("Weekly user logins.")),
    ("active_users", gettext_noop("Active users"), gettext_noop("users"), gettext_noop("Usage"), 1, gettext_noop("Distinct active users in the week.")),
    (
        "licence_utilisation",
        gettext_noop("Licence utilisation"),
        "%",
        gettext_noop("Usage"),
        1,
        gettext_noop("Active users as a share of purchased seats."),
    ),
    (
        "feature_adoption",
        gettext_noop("Feature adoption"),
        "%",
        gettext_noop("Usage"),
        1,
        gettext_noop("Share of key features in regular use."),
    ),
    (
        "support_tickets",
        gettext_noop("Support tickets"),
        gettext_noop("severity 1–4"),
        gettext_noop("Support"),
        -1,
        gettext_noop("One signal per ticket: value is its severity (4 = critical), category its subject."),
    ),
    (
        "ticket_resolution_hours",
        gettext_noop("Ticket resolution time"),
        gettext_noop("hours"),
        gettext_noop("Support"),
        -1,
        gettext_noop("Hours from a ticket's opening to its resolution."),
    ),
    (
        "unresolved_complaints",
        gettext_noop("Unresolved complaints"),
        gettext_noop("complaints"),
        gettext_noop("Support"),
        -1,
        gettext_noop("Open complaints at the time of observation."),
    ),
    ("csat", gettext_noop("CSAT"), "1–5", gettext_noop("Sentiment"), 1, gettext_noop("Customer satisfaction survey answer.")),
    (
        "nps",
        gettext_noop("NPS answer"),
        "0–10",
        gettext_noop("Sentiment"),
        1,
        gettext_noop("Likelihood to recommend; aggregated as % promoters − % detractors."),
    ),
    (
        "ces",
        gettext_noop("Customer effort (CES)"),
        "1–7",
        gettext_noop("Sentiment"),
        1,
        gettext_noop("How easy it was to get things done (7 = very easy)."),
    ),
    (
        "survey_happiness",
        gettext_noop("Survey happiness"),
        "1–10",
        gettext_noop("Sentiment"),
        1,
        gettext_noop("Overall happiness from periodic surveys."),
    ),
    (
        "invoice_days_late",
        gettext_noop("Invoice days late"),
        gettext_noop("days"),
        gettext_noop("Financial"),
        -1,
        gettext_noop("Days an invoice was paid after its due date."),
    ),
    ("spend", gettext_noop("Spend"), gettext_noop("currency"), gettext_noop("Financial"), 1, gettext_noop("Monthly invoiced amount.")),
    (
        "email_open_rate",
        gettext_noop("E-mail open rate"),
        "%",
        gettext_noop("Engagement"),
        1,
        gettext_noop("Share of CS e-mails opened in the week."),
    ),
    (
        "meetings_held",
        gettext_noop("Meetings held"),
        gettext_noop("meetings"),
        gettext_noop("Engagement"),
        1,
        gettext_noop("Calls and meetings with the customer."),
    ),
    (
        "expansion_talks",
        gettext_noop("Expansion talks"),
        gettext_noop("conversations"),
        gettext_noop("Engagement"),
        1,
        gettext_noop("'Future talk': conversations about expansion or new use cases."),
    ),
    (
        "kpi_attainment",
        gettext_noop("KPI / ROI attainment"),
        "%",
        gettext_noop("Outcomes"),
        1,
        gettext_noop("Share of the customer's agreed success KPIs reached."),
    ),
    ("referrals", gettext_noop("Referrals"), gettext_noop("referrals"), gettext_noop("Advocacy"), 1, gettext_noop("Referrals made by the customer.")),
    ("reviews", gettext_noop("Reviews"), gettext_noop("rating 1–5"), gettext_noop("Advocacy"), 1, gettext_noop("Public reviews; value is the rating.")),
    (
        "social_mentions",
        gettext_noop("Social mentions"),
        gettext_noop("mentions"),
        gettext_noop("Advocacy"),
        1,
        gettext_noop("Positive public mentions of the product."),
    ),
]

# name, slug, target days, description, best practices (one per line)
STAGES = [
    (
        gettext_noop("Onboarding"),
        "onboarding",
        45,
        gettext_noop("From signature to first value: set-up, integrations, first users trained."),
        _lines(
            gettext_noop("Kick-off call within 5 days of signature"),
            gettext_noop("Agree success criteria and KPIs in writing"),
            gettext_noop("Track set-up milestones weekly"),
            gettext_noop("Train admins and champions"),
        ),
    ),
    (
        gettext_noop("Adoption"),
        "adoption",
        90,
        gettext_noop("Users make the product part of their daily work."),
        _lines(
            gettext_noop("Watch licence utilisation and active users weekly"),
            gettext_noop("Run enablement for low-use teams"),
            gettext_noop("Promote the key features they have not adopted"),
            gettext_noop("Find a second champion"),
        ),
    ),
    (
        gettext_noop("Value realisation"),
        "value",
        180,
        gettext_noop("The customer sees the outcomes they bought the product for."),
        _lines(
            gettext_noop("Review KPIs against the success plan every quarter"),
            gettext_noop("Run an executive business review"),
            gettext_noop("Share ROI evidence with the economic buyer"),
            gettext_noop("Log expansion conversations"),
        ),
    ),
    (
        gettext_noop("Renewal"),
        "renewal",
        90,
        gettext_noop("The last 90 days before the contract renews."),
        _lines(
            gettext_noop("Start the renewal conversation 90 days out"),
            gettext_noop("Resolve open complaints and tickets first"),
            gettext_noop("Confirm budget and decision makers"),
            gettext_noop("Prepare a renewal proposal with usage evidence"),
        ),
    ),
    (
        gettext_noop("Advocacy"),
        "advocacy",
        365,
        gettext_noop("Healthy, renewed customers who recommend the product."),
        _lines(
            gettext_noop("Ask for a review or a case study"),
            gettext_noop("Invite to the customer advisory board"),
            gettext_noop("Ask for referrals"),
            gettext_noop("Keep them close to the roadmap"),
        ),
    ),
]

SEGMENTS = [("Enterprise", "enterprise"), ("Mid-market", "mid-market"), ("SMB", "smb")]

# The CSM's own judgement (accounts.models.Sentiment writes its signals): added to the
# catalogue later than the metrics above, by its own migration.
CSM_SENTIMENT = (
    "csm_sentiment",
    gettext_noop("CSM sentiment"),
    "0–100",
    gettext_noop("Sentiment"),
    1,
    gettext_noop(
        "The account's CSM's own judgement: 100 healthy, 50 at risk, 0 unhealthy; no data once it "
        "expires or is withdrawn. Weigh it with the aggregation 'last value' (any window as long "
        "as the longest expiry, e.g. 365 days)."
    ),
)


# Segment names and metric keys are names people type and match on, not translated.
builtin_register(
    text
    for key, name, unit, category, direction, description in [*METRICS, CSM_SENTIMENT]
    for text in (name, unit, category, description)
)
builtin_register(
    text
    for name, slug, target, description, practices in STAGES
    for text in (name, description, *practices.split("\n"))
)
