"""The seeded catalogue: metrics, journey stages and segments (used by a data migration)."""

# key, name, unit, category, direction (1 more is better, -1 more is worse), description
METRICS = [
    ("logins", "Logins", "logins/week", "Usage", 1, "Weekly user logins."),
    ("active_users", "Active users", "users", "Usage", 1, "Distinct active users in the week."),
    (
        "licence_utilisation",
        "Licence utilisation",
        "%",
        "Usage",
        1,
        "Active users as a share of purchased seats.",
    ),
    (
        "feature_adoption",
        "Feature adoption",
        "%",
        "Usage",
        1,
        "Share of key features in regular use.",
    ),
    (
        "support_tickets",
        "Support tickets",
        "severity 1–4",
        "Support",
        -1,
        "One signal per ticket: value is its severity (4 = critical), category its subject.",
    ),
    (
        "ticket_resolution_hours",
        "Ticket resolution time",
        "hours",
        "Support",
        -1,
        "Hours from a ticket's opening to its resolution.",
    ),
    (
        "unresolved_complaints",
        "Unresolved complaints",
        "complaints",
        "Support",
        -1,
        "Open complaints at the time of observation.",
    ),
    ("csat", "CSAT", "1–5", "Sentiment", 1, "Customer satisfaction survey answer."),
    (
        "nps",
        "NPS answer",
        "0–10",
        "Sentiment",
        1,
        "Likelihood to recommend; aggregated as % promoters − % detractors.",
    ),
    (
        "ces",
        "Customer effort (CES)",
        "1–7",
        "Sentiment",
        1,
        "How easy it was to get things done (7 = very easy).",
    ),
    (
        "survey_happiness",
        "Survey happiness",
        "1–10",
        "Sentiment",
        1,
        "Overall happiness from periodic surveys.",
    ),
    (
        "invoice_days_late",
        "Invoice days late",
        "days",
        "Financial",
        -1,
        "Days an invoice was paid after its due date.",
    ),
    ("spend", "Spend", "currency", "Financial", 1, "Monthly invoiced amount."),
    (
        "email_open_rate",
        "E-mail open rate",
        "%",
        "Engagement",
        1,
        "Share of CS e-mails opened in the week.",
    ),
    (
        "meetings_held",
        "Meetings held",
        "meetings",
        "Engagement",
        1,
        "Calls and meetings with the customer.",
    ),
    (
        "expansion_talks",
        "Expansion talks",
        "conversations",
        "Engagement",
        1,
        "'Future talk': conversations about expansion or new use cases.",
    ),
    (
        "kpi_attainment",
        "KPI / ROI attainment",
        "%",
        "Outcomes",
        1,
        "Share of the customer's agreed success KPIs reached.",
    ),
    ("referrals", "Referrals", "referrals", "Advocacy", 1, "Referrals made by the customer."),
    ("reviews", "Reviews", "rating 1–5", "Advocacy", 1, "Public reviews; value is the rating."),
    (
        "social_mentions",
        "Social mentions",
        "mentions",
        "Advocacy",
        1,
        "Positive public mentions of the product.",
    ),
]

# name, slug, target days, description, best practices (one per line)
STAGES = [
    (
        "Onboarding",
        "onboarding",
        45,
        "From signature to first value: set-up, integrations, first users trained.",
        "Kick-off call within 5 days of signature\nAgree success criteria and KPIs in writing\n"
        "Track set-up milestones weekly\nTrain admins and champions",
    ),
    (
        "Adoption",
        "adoption",
        90,
        "Users make the product part of their daily work.",
        "Watch licence utilisation and active users weekly\nRun enablement for low-use teams\n"
        "Promote the key features they have not adopted\nFind a second champion",
    ),
    (
        "Value realisation",
        "value",
        180,
        "The customer sees the outcomes they bought the product for.",
        "Review KPIs against the success plan every quarter\nRun an executive business review\n"
        "Share ROI evidence with the economic buyer\nLog expansion conversations",
    ),
    (
        "Renewal",
        "renewal",
        90,
        "The last 90 days before the contract renews.",
        "Start the renewal conversation 90 days out\nResolve open complaints and tickets first\n"
        "Confirm budget and decision makers\nPrepare a renewal proposal with usage evidence",
    ),
    (
        "Advocacy",
        "advocacy",
        365,
        "Healthy, renewed customers who recommend the product.",
        "Ask for a review or a case study\nInvite to the customer advisory board\n"
        "Ask for referrals\nKeep them close to the roadmap",
    ),
]

SEGMENTS = [("Enterprise", "enterprise"), ("Mid-market", "mid-market"), ("SMB", "smb")]

# The CSM's own judgement (accounts.models.Sentiment writes its signals): added to the
# catalogue later than the metrics above, by its own migration.
CSM_SENTIMENT = (
    "csm_sentiment",
    "CSM sentiment",
    "0–100",
    "Sentiment",
    1,
    "The account's CSM's own judgement: 100 healthy, 50 at risk, 0 unhealthy; no data once it "
    "expires or is withdrawn. Weigh it with the aggregation 'last value' (any window as long "
    "as the longest expiry, e.g. 365 days).",
)
