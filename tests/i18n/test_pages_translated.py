"""Every page, as each role, in Indonesian, Danish and Polish: no English left in what people
scan first (navigation, headings, buttons, table headers, band chips, chart titles), and
numbers in the language's format."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from accounts.models import Account
from tests.pages.test_reads_never_write import GETS, history, url_of  # noqa: F401 (a fixture)

LANGUAGES = ["id", "da", "pl"]
ROLES = ["csm", "manager", "admin_role"]

# Whole pages only (their first GET without HTMX headers), not exports or fragments.
PAGES = [
    name
    for name, asks in GETS.items()
    if not name.endswith("_csv")
    and name not in {"accounts:owner_options", "accounts:portfolio", "preferences:digest_preview"}
    and "?export" not in asks[0][0]
    and not asks[0][1]
]

# English words that must not be left in those places in another language. Product names,
# abbreviations the CS teams use as they are (ARR, CSM, NPS, CSAT, CES, AUC, CSV, API) and
# what users typed (account names, notes, their own metrics) are not on the list.
ENGLISH = [
    "Portfolio",
    "Journey",
    "Action lists",
    "My actions",
    "Weekly review",
    "Analytics",
    "Scorecards",
    "Imports",
    "Catalogue",
    "Audit log",
    "API tokens",
    "Log out",
    "Password",
    "Healthy",
    "At risk",
    "Unhealthy",
    "No data",
    "Export CSV",
    "Account",
    "Accounts",
    "Owner",
    "Score",
    "Health",
    "Renewal",
    "Segment",
    "Stage",
    "Weight",
    "Coverage",
    "Save",
    "Apply",
    "Clear",
    "Cancel",
    "Delete",
    "Create",
    "Show",
    "Search",
    "Filter",
    "Next",
    "Previous",
    "Status",
    "Created",
    "Published",
    "Version",
    "Measure",
    "Category",
    "Due",
    "Overdue",
    "Snooze",
    "Done",
    "Notes",
    "Signals",
    "Changes",
    "History",
    "Preview",
    "Upload",
    "Import",
    "Rules",
    "Playbooks",
    "Outcomes",
    "Name",
    "Total",
    "Trend",
    "What moved",
    "Why this score",
    "Calls to action",
    "Top movers",
]
WORDS = re.compile(r"\b(" + "|".join(re.escape(word) for word in ENGLISH) + r")\b")
# Where people scan first: these elements' text, and the band chips' words.
PLACES = {"nav", "h1", "h2", "h3", "button", "th", "summary", "legend", "label"}


class Scanned(HTMLParser):
    """The text inside PLACES and band chips, and the charts' titles."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.chip = 0
        self.texts: list[str] = []
        self.figures: list[dict] = []

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag in PLACES:
            self.depth += 1
        if "chip-label" in (attributes.get("class") or ""):
            self.chip += 1
        if attributes.get("data-plotly-figure"):
            self.figures.append(json.loads(attributes["data-plotly-figure"]))

    def handle_endtag(self, tag) -> None:
        if tag in PLACES and self.depth:
            self.depth -= 1
        if tag == "span" and self.chip:
            self.chip -= 1

    def handle_data(self, data) -> None:
        if self.depth or self.chip:
            self.texts.append(data)


def chart_titles(figure: dict) -> list[str]:
    layout = figure.get("layout") or {}
    titles = [layout.get("title")]
    titles += [
        value.get("title") for key, value in layout.items() if key.startswith(("xaxis", "yaxis"))
    ]
    titles += [trace.get("name") for trace in figure.get("data") or []]
    texts = [t.get("text") if isinstance(t, dict) else t for t in titles]
    return [text for text in texts if isinstance(text, str)]


# Words that are the same in the language: its locale/<code>/GLOSSARY.md keeps them as they are
# (the msgstr is the English word because that word is the language's own).
SAME_IN_LANGUAGE = {
    "id": {
        "Filter": "'filter' is the Indonesian word ('Filter lainnya')",
        "Status": "'status' is the Indonesian word",
        "Total": "'total' is the Indonesian word",
    },
    "da": {
        "Segment": "Danish CS teams say segment",
        "Status": "'status' is the Danish word",
        "Trend": "'trend' is the Danish word",
        "Score": "the glossary's 'score' (en score, scoren)",
        "Version": "'version' is the Danish word",
        "Import": "the glossary's 'import' (the button is 'Importér')",
        "Upload": "Danish says 'upload' ('Upload og forhåndsvis')",
        "Scorecards": "the glossary keeps 'scorecard' (scorecards)",
        "Playbooks": "the glossary keeps 'playbook' (playbooks)",
    },
    "pl": {
        "Segment": "the glossary's 'segment'",
        "Status": "'status' is the Polish word",
        "Trend": "the glossary's 'trend' ('Trend wyniku')",
        "Import": "the glossary's 'import' ('Import danych')",
    },
}


@pytest.fixture
def typed_names(history) -> list[str]:  # noqa: F811
    """What users typed (the test accounts are named "Account 00001 Ltd"): not English."""
    return sorted(Account.objects.values_list("name", flat=True), key=len, reverse=True)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_no_english_left_where_people_look(
    request,
    history,  # noqa: F811
    typed_names,
    role,
    language,
) -> None:
    client: Client = request.getfixturevalue(f"{role}_client")
    allowed = set(SAME_IN_LANGUAGE[language])
    left: dict[str, set[str]] = {}
    for name in PAGES:
        url = url_of(name, history) + GETS[name][0][0]
        response = client.get(url, headers={"accept-language": language})
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        assert response.headers["Content-Language"] == language
        page = Scanned()
        page.feed(response.content.decode())
        texts = page.texts + [t for figure in page.figures for t in chart_titles(figure)]
        for typed in typed_names:
            texts = [text.replace(typed, "") for text in texts]
        found = {match for text in texts for match in WORDS.findall(text)} - allowed
        if found:
            left[url] = found

    assert left == {}, f"English left in {language} as {role}: {left}"
