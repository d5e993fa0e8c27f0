"""The demo's words: company names, the texts signals carry, and the notes CSMs write.

Signals carry their category and text as codes into STRING_TABLE (code 0 is ""), so the
generator works on integer columns and the writer looks the strings up once per chunk.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- company names

# industry: words a company in it is named after
INDUSTRIES = [
    ("Logistics", ["Logistics", "Freight", "Shipping", "Supply Chain"]),
    ("Software", ["Software", "Systems", "Labs", "Digital"]),
    ("Healthcare", ["Health", "Medical", "Care", "Clinics"]),
    ("Financial services", ["Capital", "Financial", "Payments", "Wealth"]),
    ("Manufacturing", ["Manufacturing", "Industries", "Works", "Components"]),
    ("Retail", ["Retail", "Stores", "Outfitters", "Market"]),
    ("Education", ["Learning", "Academy", "Education", "Schools"]),
    ("Energy", ["Energy", "Power", "Solar", "Utilities"]),
    ("Media", ["Media", "Studios", "Publishing", "Broadcasting"]),
    ("Professional services", ["Consulting", "Advisors", "Partners", "Associates"]),
    ("Telecommunications", ["Telecom", "Networks", "Communications", "Connect"]),
    ("Hospitality", ["Hotels", "Hospitality", "Travel", "Resorts"]),
    ("Insurance", ["Insurance", "Assurance", "Underwriters", "Mutual"]),
    ("Construction", ["Construction", "Builders", "Engineering", "Infrastructure"]),
    ("Food & beverage", ["Foods", "Brewing", "Kitchens", "Farms"]),
    ("Biotech", ["Biotech", "Therapeutics", "Biosciences", "Genomics"]),
]
NAME_HEADS = (
    "North South East West Blue Silver Golden Red Iron Bright Clear Green High Summit Stone Oak "
    "Pine River Lake Sun Star Cloud Harbor Granite Maple Cedar Falcon Eagle Crystal Swift"
).split()
NAME_TAILS = (
    "wind peak field bridge gate point line wave path ridge view crest brook haven light water "
    "ford mark"
).split()
SURNAMES = (
    "Hartley Morgan Fischer Okafor Lindqvist Tanaka Moreau Castillo Novak Brennan Whitaker "
    "Ashford Kowalski Delgado Vandenberg Sorensen Abernathy Rossi Mbeki Hollis"
).split()
LEGAL_FORMS = [""] * 5 + "Inc. Ltd GmbH Group Co. LLC AG S.A. B.V. plc Holdings AB Oy".split()
LONG_TAILS = [
    "International Holdings",
    "Worldwide Services Group",
    "Global Operations & Consulting",
    "International Holdings Corporation",
    "Group of Companies (Europe, Middle East & Africa)",
]
REGIONS = "EMEA Americas APAC Nordics DACH UK Benelux Iberia LATAM ANZ".split()


def company_names(rng: np.random.Generator, industry: np.ndarray) -> list[str]:
    """One unique name per account: a regional contract of a company already named gets
    the region (or a number) after its name."""
    n = industry.size
    head = rng.integers(0, len(NAME_HEADS), n)
    tail = rng.integers(0, len(NAME_TAILS), n)
    surname = rng.integers(0, len(SURNAMES), (2, n))
    style = rng.random(n)
    core = rng.integers(0, 4, (2, n))
    legal = rng.integers(0, len(LEGAL_FORMS), n)
    long_tail = rng.integers(0, len(LONG_TAILS), n)
    long = rng.random(n) < 0.04
    seen: dict[str, int] = {}
    names = []
    for i in range(n):
        if style[i] < 0.7:
            prefix = NAME_HEADS[head[i]] + NAME_TAILS[tail[i]]
        elif style[i] < 0.9:
            prefix = SURNAMES[surname[0, i]]
        else:
            prefix = f"{SURNAMES[surname[0, i]]} & {SURNAMES[surname[1, i]]}"
        words = INDUSTRIES[industry[i]][1]
        if long[i]:
            second = words[(core[0, i] + 1 + core[1, i] % 3) % 4]
            name = f"{prefix} {words[core[0, i]]} & {second} {LONG_TAILS[long_tail[i]]}"
        else:
            name = f"{prefix} {words[core[0, i]]} {LEGAL_FORMS[legal[i]]}".rstrip()
        count = seen.get(name, 0)
        seen[name] = count + 1
        if count:  # the same company again: another regional contract
            name += f" ({REGIONS[count - 1]})" if count <= len(REGIONS) else f" {count + 1}"
        names.append(name)
    return names


# ---------------------------------------------------------------- signal texts

TICKET_SUBJECTS = {
    "bug": [
        "Export to CSV fails for large reports",
        "Dashboard widgets show stale data",
        "Error 500 when saving a filter",
        "Notifications sent twice",
    ],
    "how-to": [
        "How do I set up SSO for a new team?",
        "Where can I change the fiscal year?",
        "How to bulk-import users",
        "Question about report scheduling",
    ],
    "access": [
        "User locked out after password reset",
        "New admin cannot see billing",
        "Request to remove a leaver's access",
        "SSO login loop for some users",
    ],
    "performance": [
        "Reports take minutes to load",
        "Search is slow since last release",
        "Timeouts on the API in the morning",
        "Mobile app slow to sync",
    ],
    "integration": [
        "Salesforce sync stopped overnight",
        "Webhook deliveries failing",
        "Slack integration posts to the wrong channel",
        "API rate limit questions",
    ],
    "billing": [
        "Invoice shows the wrong number of seats",
        "Question about VAT on the invoice",
        "Please update our billing contact",
        "Credit note for unused seats",
    ],
}
TICKET_CATEGORIES = list(TICKET_SUBJECTS)
TICKET_CATEGORY_SHARES = [0.28, 0.25, 0.14, 0.13, 0.12, 0.08]
NPS_COMMENTS = {
    "detractor": [
        "Too many bugs lately.",
        "Support takes too long to answer.",
        "Hard to get my team to use it.",
        "Not sure we get value for the price.",
    ],
    "passive": [
        "Does the job.",
        "Good, but reporting could be better.",
        "Fine for now; the mobile app needs work.",
    ],
    "promoter": [
        "Our team loves it.",
        "Great support, quick answers.",
        "Saves us hours every week.",
        "Could not run our process without it.",
    ],
}
MEETING_KINDS = ["call", "meeting", "qbr"]
REVIEW_SITES = ["G2", "Capterra", "TrustRadius", "Gartner Peer Insights"]
REVIEW_TITLES = {
    1: "Disappointing",
    2: "Not there yet",
    3: "Decent tool",
    4: "Solid and reliable",
    5: "Indispensable for our team",
}
SOCIAL_CHANNELS = ["LinkedIn", "X", "Reddit", "YouTube", "Blog"]
EXPANSION_TOPICS = [
    "Adding the finance team",
    "More seats for the EMEA office",
    "Upgrade to the next plan",
    "New use case: partner portal",
    "Rolling out to a second business unit",
]

# ---------------------------------------------------------------- notes

CONTACTS = (
    "Anna Ben Chloé David Elif Farah George Hiro Ines Jamal Katja Liam Maya Nils Olga Pedro "
    "Rosa Samir Tess Yusuf"
).split()
CONTACT_ROLES = [
    "VP Operations",
    "IT admin",
    "Head of Customer Support",
    "CFO",
    "COO",
    "project lead",
    "Head of Sales Ops",
    "CTO",
]
FEATURES = [
    "the reporting module",
    "SSO",
    "the API",
    "automated workflows",
    "the mobile app",
    "dashboards",
    "the Salesforce integration",
]
TEAMS = ["finance", "support", "sales", "operations", "marketing", "the EMEA office"]
ISSUES = [
    "slow reports",
    "a billing error",
    "open support tickets",
    "the failed data sync",
    "low adoption in their sales team",
    "the price increase",
]
NOTE_TEMPLATES = {
    ("call", "good"): [
        "Check-in call with {contact} ({role}). Rollout on track; they want to try {feature} "
        "next quarter.",
        "Call with {contact}: very happy with {feature}. Asked about adding {team}.",
    ],
    ("call", "mid"): [
        "Call with {contact} ({role}). Usage is steady; agreed an enablement session on "
        "{feature} for {team}.",
        "Quick call with {contact} about {issue}; a fix is planned, will confirm by e-mail.",
    ],
    ("call", "bad"): [
        "Call with {contact} ({role}): frustrated about {issue}. Agreed a recovery plan, "
        "follow-up in two weeks.",
        "{contact} did not join the scheduled call again. Left a voicemail about {issue}.",
    ],
    ("meeting", "good"): [
        "Quarterly business review with {contact} and team. KPIs ahead of plan; discussed "
        "expanding to {team}.",
        "On-site workshop with {contact} ({role}) on {feature}. Strong engagement.",
    ],
    ("meeting", "mid"): [
        "Business review with {contact} ({role}). Half of the success KPIs met; next step: "
        "{feature} for {team}.",
    ],
    ("meeting", "bad"): [
        "Escalation meeting with {contact} ({role}) about {issue}. Their sponsor asked for a "
        "weekly status update.",
        "Business review with {contact}: KPIs behind plan, renewal at risk unless {issue} is "
        "solved.",
    ],
    ("note", "good"): [
        "{contact} shared positive feedback from {team} about {feature}.",
        "{contact} ({role}) agreed to be a reference customer.",
    ],
    ("note", "mid"): [
        "{contact} asked for training material on {feature}.",
        "New {role} at the customer: {contact}. Intro call to be scheduled.",
    ],
    ("note", "bad"): [
        "Risk: {contact} mentioned a budget review; usage in {team} has dropped. Plan: "
        "enablement on {feature}.",
        "Champion left the company. {contact} ({role}) is the new contact; relationship to "
        "rebuild.",
    ],
}


def note_body(kind: str, mood: str, picks: np.ndarray) -> str:
    """A note of this kind ("note", "call", "meeting") and mood ("good", "mid", "bad"); six
    random integers pick the template, contact, role, feature, team and issue."""
    templates = NOTE_TEMPLATES[(kind, mood)]
    return templates[picks[0] % len(templates)].format(
        contact=CONTACTS[picks[1] % len(CONTACTS)],
        role=CONTACT_ROLES[picks[2] % len(CONTACT_ROLES)],
        feature=FEATURES[picks[3] % len(FEATURES)],
        team=TEAMS[picks[4] % len(TEAMS)],
        issue=ISSUES[picks[5] % len(ISSUES)],
    )


# ---------------------------------------------------------------- codes of the signal texts


class _Strings:
    """Category and text columns as codes into one table of strings (code 0 is "")."""

    def __init__(self) -> None:
        self.table = [""]
        self.codes: dict[str, int] = {"": 0}

    def code(self, text: str) -> int:
        if text not in self.codes:
            self.codes[text] = len(self.table)
            self.table.append(text)
        return self.codes[text]

    def codes_for(self, texts: list[str]) -> np.ndarray:
        return np.array([self.code(text) for text in texts], dtype=np.int64)


STRINGS = _Strings()
TICKET_CATEGORY_CODES = STRINGS.codes_for(TICKET_CATEGORIES)
TICKET_SUBJECT_CODES = np.array(
    [STRINGS.codes_for(TICKET_SUBJECTS[cat]) for cat in TICKET_CATEGORIES]
)  # category × 4 subjects
NPS_COMMENT_CODES = {key: STRINGS.codes_for(texts) for key, texts in NPS_COMMENTS.items()}
MEETING_CODES = STRINGS.codes_for(MEETING_KINDS)
REVIEW_SITE_CODES = STRINGS.codes_for(REVIEW_SITES)
REVIEW_TITLE_CODES = STRINGS.codes_for([REVIEW_TITLES[rating] for rating in range(1, 6)])
SOCIAL_CODES = STRINGS.codes_for(SOCIAL_CHANNELS)
EXPANSION_CODES = STRINGS.codes_for(EXPANSION_TOPICS)
STRING_TABLE = np.array(STRINGS.table, dtype=object)
