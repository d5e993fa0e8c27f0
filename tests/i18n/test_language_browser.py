"""The language chooser in real Chromium: a CSM switches to Danish, and the choice survives
logging out and in again; the portfolio, an account page and its chart read in Danish. Polish
and Indonesian on one page each. A screenshot of each language's portfolio is kept in
var/screenshots/ (the issue's note shows them)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import Page, expect

from healthboard.lib.roles import CSM
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory, UserFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
# A Danish, Polish and Indonesian month on the trend chart's date axis (Plotly's locale).
MONTHS = {"da": "Okt", "pl": "Paź", "id": "Okt"}
MONEY = {"pl": re.compile(r"\d,\d\xa0mln\xa0\$"), "id": re.compile(r"\$\xa0\d,\d\xa0jt")}


def words(language: str, english: str) -> str:
    """`english` as the catalogue of `language` says it. That the catalogues leave nothing in
    English is tests/i18n/test_catalogues.py's check; this test checks that the pages use them."""
    with translation.override(language):
        return translation.gettext(english)


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(base + reverse("login"))
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form[action='/login/'] [type=submit]").click()
    page.wait_for_load_state("networkidle")


def choose(page: Page, language: str) -> None:
    # The chooser sends itself on change (healthboard.js): no button to press.
    page.locator("#language-choice").select_option(language)
    page.wait_for_load_state("networkidle")
    expect(page.locator("html")).to_have_attribute("lang", language)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def book(password):
    """A CSM with accounts scored every day for 90 days (October on the chart's axis)."""
    csm = UserFactory(username="lang-csm", first_name="Karen", password=password, role=CSM)
    accounts = [
        AccountFactory(name=f"Nordlys {i} A/S", owner=csm, arr=1_250_000 * (i + 1))
        for i in range(3)
    ]
    today = timezone.localdate()
    for back in range(90, -1, -3):
        run = ScoreRunFactory(date=today - dt.timedelta(days=back))
        for i, account in enumerate(accounts):
            HealthScoreFactory(account=account, run=run, score=20 + 30 * i + back % 7)
    return csm, accounts


def test_a_csm_reads_healthboard_in_danish_after_logging_in_again(
    live_server, page: Page, password, book
) -> None:
    csm, accounts = book
    base = live_server.url
    log_in(page, base, csm.username, password)
    expect(page.locator("html")).to_have_attribute("lang", "en")

    choose(page, "da")
    portfolio = words("da", "Portfolio")
    expect(page.get_by_role("heading", name=portfolio)).to_be_visible()

    # Out and in again, on a browser that asks for English: the saved Danish wins.
    page.locator(".logout-form button").click()
    page.context.clear_cookies()
    log_in(page, base, csm.username, password)
    expect(page.locator("html")).to_have_attribute("lang", "da")
    expect(page.get_by_role("heading", name=portfolio)).to_be_visible()
    nav = page.locator("nav.site-nav")
    for english in ("Portfolio", "Journey", "My actions"):
        expect(nav).to_contain_text(words("da", english))
    # Money and signed figures in Danish: "2,5 mio. $", decimal commas.
    expect(page.locator(".pf-table")).to_contain_text(re.compile(r"\d,\d\xa0mio\.\xa0\$"))
    shot(page, "portfolio-da")

    # The account page and its chart: Danish headings, Plotly's Danish locale and separators.
    page.goto(base + reverse("accounts:detail", args=[accounts[0].pk]))
    expect(page.get_by_role("heading", name=words("da", "Score trend"))).to_be_visible()
    expect(page.get_by_role("heading", name=words("da", "Why this score"))).to_be_visible()
    chart = page.locator("#trend .chart")
    expect(chart.locator(".main-svg").first).to_be_visible()
    drawn = chart.evaluate("el => [el._context.locale, el._fullLayout.separators]")
    assert drawn == ["da", ",."]
    expect(chart.locator(".xtick text").filter(has_text=MONTHS["da"]).first).to_be_attached()
    shot(page, "account-da")


@pytest.mark.parametrize("language", ["pl", "id"])
def test_polish_and_indonesian_portfolios(live_server, page: Page, password, book, language):
    csm, _accounts = book
    log_in(page, live_server.url, csm.username, password)

    choose(page, language)

    expect(page.get_by_role("heading", name=words(language, "Portfolio"))).to_be_visible()
    expect(page.locator("nav.site-nav")).to_contain_text(words(language, "Journey"))
    # Money as the language writes it: "2,5 mln $" in Polish, "$ 2,5 jt" in Indonesian.
    expect(page.locator(".pf-table")).to_contain_text(MONEY[language])
    shot(page, f"portfolio-{language}")
