"""Numbers and dates in the reader's language (issue 15): grouping and decimal marks, the
percent sign where the language puts it, month names as a date writes them (Polish
"22 listopada", the genitive), on the pages that show them and in the one helper that
writes them (healthboard/lib/numbers.py)."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Account, ImportJob
from healthboard.lib.dates import day_text
from healthboard.lib.numbers import number_text, percent_text, share_text
from healthboard.pages.templatetags.healthboard import pct
from scoring.actions import sqltext
from tests.factories import HealthScoreFactory, ScoreRunFactory
from tests.pages.test_reads_never_write import history  # noqa: F401 (a fixture)

LANGUAGES = ["id", "da", "pl"]
NBSP = "\u00a0"

# ---------------------------------------------------------------- the helper


@pytest.mark.parametrize(
    ("language", "grouped", "decimal", "percent"),
    [
        ("en", "1,234,567", "1,234.5", "82.3%"),
        ("da", "1.234.567", "1.234,5", f"82,3{NBSP}%"),
        ("pl", f"1{NBSP}234{NBSP}567", f"1{NBSP}234,5", "82,3%"),
        ("id", "1.234.567", "1.234,5", "82,3%"),
    ],
)
def test_figures_in_each_language(language, grouped, decimal, percent) -> None:
    with translation.override(language):
        assert number_text(1234567) == grouped
        assert number_text(1234.5, 1) == decimal
        assert percent_text(82.34, 1) == percent
        assert share_text(0.8234, 1) == percent
        assert pct(82.34, 1) == percent


def test_figures_round_half_away_from_zero_and_keep_a_real_minus() -> None:
    with translation.override("da"):
        assert number_text(39.57, 1) == "39,6"  # rounded, not cut to 39,5
        assert number_text(2.5) == "3"
        assert number_text(-1234.5, 1) == "\u22121.234,5"
        assert number_text(-0.04, 1) == "0,0"  # no "−0,0"
        assert number_text("12.5", 1) == "12,5"


@pytest.mark.parametrize("value", [None, "", "n/a", float("nan"), float("inf"), True])
def test_no_figure_is_a_dash(value) -> None:
    assert number_text(value) == "\u2014"
    assert percent_text(value) == "\u2014"
    assert share_text(value) == "\u2014"


def test_days_in_sentences_use_the_month_a_date_writes() -> None:
    day = dt.date(2026, 12, 3)
    expected = {"en": "3 December 2026", "da": "3 december 2026", "pl": "3 grudnia 2026"}
    for language, text in expected.items():
        with translation.override(language):
            assert day_text(day) == text
    with translation.override("id"):
        assert day_text(day) == "3 Desember 2026"


# ---------------------------------------------------------------- the pages

ENGLISH_MONTHS = (
    "January February March April May June July August September October November December"
).split()
# The run of 22 November 2026 (a Sunday) as each language writes it in a sentence, and the
# words that must not appear: English month and day names the language does not share, and
# the Polish nominative ("listopad") where a date needs the genitive ("listopada").
DAY = {"id": "22 November 2026", "da": "22 november 2026", "pl": "22 listopada 2026"}
# Django's Polish catalogue capitalises day names ("Niedziela"); Danish writes them lower case.
WEEKDAY = {"id": "Minggu", "da": "søndag", "pl": "Niedziela"}
NOT_THERE = {
    "id": [m for m in ENGLISH_MONTHS if m not in {"April", "September", "November"}] + ["Sunday"],
    "da": ENGLISH_MONTHS + ["Sunday"],
    "pl": ENGLISH_MONTHS + ["Sunday", "listopad 2026"],
}
# 12,345 rows as the language groups them.
GROUPED = {"id": "12.345", "da": "12.345", "pl": f"12{NBSP}345"}


class Text(HTMLParser):
    """What a page says in words: its text, without scripts, styles or attributes (a chart's
    figure and a number in an attribute keep the machine's format on purpose)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in {"script", "style"}:
            self.skip += 1

    def handle_endtag(self, tag) -> None:
        if tag in {"script", "style"} and self.skip:
            self.skip -= 1

    def handle_data(self, data) -> None:
        if not self.skip:
            self.parts.append(data)


def text_of(client: Client, url: str, language: str) -> str:
    response = client.get(url, headers={"accept-language": language})
    assert response.status_code == 200, url
    assert response.headers["Content-Language"] == language
    parser = Text()
    parser.feed(response.content.decode())
    # Runs of ASCII whitespace as one space; no-break spaces stay (Polish groups with them).
    return re.sub(r"[ \t\r\n]+", " ", " ".join(parser.parts))


def assert_no_english_forms(text: str, language: str) -> None:
    for word in NOT_THERE[language]:
        assert not re.search(rf"\b{re.escape(word)}\b", text), (language, word)
    # English grouping ("12,345") and English decimals in a sentence ("0.5 s") are gone.
    assert not re.search(r"\b\d{1,3},\d{3}\b", text), language


@pytest.fixture
def big(history) -> dict:  # noqa: F811
    """The history of tests/pages/test_reads_never_write.py, plus an account with millions of
    ARR (the weekly review compares yesterday with a week before), a churned account, and a
    finished import of 12,345 rows."""
    account = Account.objects.get(pk=history["pk"])
    Account.objects.filter(pk=account.pk).update(arr=1_234_567)
    churned = Account.objects.filter(status=Account.Status.CHURNED).get()
    Account.objects.filter(pk=churned.pk).update(churn_date=dt.date(2026, 11, 22))
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.SIGNALS,
        status=ImportJob.Status.DONE,
        file_name="signals.csv",
        file_size=2_345_678,
        rows_read=12_345,
        rows_written=12_000,
        rows_unchanged=1_345,
    )
    return {**history, "job": job.pk, "churned": churned.pk}


def page_checks(page: str, language: str, big: dict) -> tuple[str, str, list[str]]:
    """Who reads `page`, its URL, and what it must say in `language`."""
    day = f"{WEEKDAY[language]} {DAY[language]}"
    return {
        # "scores of Sunday 22 November 2026"; $1.2M with a decimal comma, never "1.2M".
        "portfolio": ("manager", reverse("home") + "?owner=all", [day, "1,2"]),
        "account": ("csm", reverse("accounts:detail", args=[big["pk"]]), ["1,2"]),
        # "This account churned on 22 listopada 2026."
        "churned": ("csm", reverse("accounts:detail", args=[big["churned"]]), [DAY[language]]),
        "weekly": ("manager", reverse("scoring:weekly"), [day]),  # "Week ending …"
        # 12,345 rows read, grouped as the language groups.
        "import": ("admin_role", reverse("imports:job", args=[big["job"]]), [GROUPED[language]]),
    }[page]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("page", ["portfolio", "account", "churned", "weekly", "import"])
def test_pages_write_days_and_figures_in_the_language(request, big, page, language) -> None:
    role, url, expected = page_checks(page, language, big)
    text = text_of(request.getfixturevalue(f"{role}_client"), url, language)
    for words in expected:
        assert words in text, (page, words)
    assert "1.2M" not in text
    assert_no_english_forms(text, language)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("tab", ["backtest", "lifecycle", "surveys", "plays"])
def test_analytics_write_days_and_shares_in_the_language(
    big, manager_client, language, tab
) -> None:
    text = text_of(manager_client, reverse(f"analytics:{tab}"), language)
    # Stored results keep their days as ISO text: the page writes them out.
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), tab
    # Shares and AUCs with the language's decimal mark, never "41.2 %".
    assert not re.search(r"\b\d+\.\d+\s?%", text), tab
    assert_no_english_forms(text, language)


def test_the_same_pages_read_in_english_for_english_readers(big, manager_client) -> None:
    """The English control: the checks above would pass on a page that showed no figures."""
    text = text_of(manager_client, reverse("home") + "?owner=all", "en")
    assert "Sunday 22 November 2026" in text
    assert re.search(r"\$1\.2M", text)


@pytest.fixture
def december(db, time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC), tick=False)
    run = ScoreRunFactory(date=dt.date(2026, 12, 3))
    HealthScoreFactory(run=run, score=50)


def test_polish_dates_take_the_genitive_in_december(december, manager_client) -> None:
    text = text_of(manager_client, reverse("home") + "?owner=all", "pl")
    assert "Czwartek 3 grudnia 2026" in text
    assert not re.search(r"\bgrudzień\b", text, re.IGNORECASE)


@pytest.mark.parametrize(
    ("language", "written"), [("en", "(score 35.0, 2.5)"), ("pl", "(score 35,0, 2,5)")]
)
def test_texts_the_database_writes_take_the_decimal_mark(db, language, written) -> None:
    """Rule reasons and evidence are written by the query (scoring/actions/sqltext.py)."""
    with translation.override(language):
        sql, params = sqltext.text(
            "(score %(score).1f, %(ratio)g)", {"score": "35.04", "ratio": sqltext.param(2.5)}
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + sql, params)
        assert cursor.fetchone()[0] == written
