"""Every page, as each role, in Indonesian, Danish and Polish: no English left in what people
scan first (navigation, headings, buttons, table headers, band chips, chart titles), and
numbers in the language's format."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client

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


# Known to fail (issue 15 is open): strings not yet marked or not shown through the catalogue —
# form labels Django derives from field names (Name, Owner, Status, Category), the "Accounts" /
# "Outcomes" words some views still show raw, the import preview's field names; and words that
# are the same in the language (Status, Segment, Trend, Total, Filter, Import, Version…) need a
# per-language allowance. Strict: once a case passes, this mark must go.
@pytest.mark.xfail(strict=True, reason="English left on some pages; see the comment above")
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_no_english_left_where_people_look(request, history, role, language) -> None:  # noqa: F811
    client: Client = request.getfixturevalue(f"{role}_client")
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
        found = {match for text in texts for match in WORDS.findall(text)}
        if found:
            left[url] = found

    assert left == {}, f"English left in {language} as {role}: {left}"
