"""In Chromium, under the enforced Content-Security-Policy: every page a GET reaches (the list
that tests/pages/test_reads_never_write.py keeps complete), as each role, with charts, bars,
htmx and polling at work, raises no `securitypolicyviolation` and logs no console error. So
do the login page, a refused page (403) and a missing one (404). Screenshots of the pages
with charts and bars go to /tmp/hb-shots/csp-*.png."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser, Page

from scoring.models import HealthScore
from tests.pages.test_account import n_measures
from tests.pages.test_reads_never_write import GETS, HTMX, TODAY, at, history, url_of

pytestmark = pytest.mark.browser
history = history  # the fixture: published runs, analyses, CTAs, imports, a draft

SHOTS = "/tmp/hb-shots"
# Listens before any of the page's own scripts run; a navigation starts a fresh list.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
    " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""
# Chromium logs a page answered 403 or 404 as a failed resource: expected there, nowhere else.
REFUSED = re.compile(r"Failed to load resource: the server responded with a status of 40[34]")
# Downloads, not pages.
EXPORTS = ("_csv", ":rejects", "digest_preview")
SCREENSHOTS = {
    "accounts:detail": "account",
    "accounts:journey": "journey",
    "scoring:weekly": "weekly",
    "analytics:backtest": "analytics-backtest",
    "analytics:lifecycle": "analytics-lifecycle",
    "analytics:surveys": "analytics-surveys",
    "scoring:scorecard_draft": "scorecard-editor",
}


def pages_to_visit(history: dict) -> list[tuple[str, str]]:
    """(URL name, URL) of every full page: the GETS list less its HTMX fragments and exports."""
    visits = []
    for name, gets in GETS.items():
        if name.endswith(EXPORTS):
            continue
        for query, headers in gets:
            if headers.get("HTTP_HX_REQUEST") == HTMX["HTTP_HX_REQUEST"] or "export=" in query:
                continue
            visits.append((name, url_of(name, history) + query))
    return visits


class Watcher:
    """Collects the page's CSP violations and console errors, page by page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.console: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def visit(self, url: str, *, live_server, expect_status: int | None = None) -> int:
        self.console.clear()
        response = self.page.goto(live_server.url + url, wait_until="load")
        status = response.status if response else 0
        self.settle()
        self.check(url, status)
        if expect_status is not None:
            assert status == expect_status, url
        return status

    def settle(self) -> None:
        """Let htmx's load triggers and plotly finish (polling pages never go idle)."""
        try:
            self.page.wait_for_load_state("networkidle", timeout=4_000)
        except Exception:  # a page that polls every second: its first answers are in
            pass
        self.page.wait_for_timeout(200)

    def check(self, url: str, status: int) -> None:
        for violation in self.page.evaluate("window.__csp || []"):
            self.problems.append(f"{url}: CSP {violation}")
        for text in self.console:
            if status in (403, 404) and REFUSED.search(text):
                continue
            self.problems.append(f"{url}: console {text}")
        self.console.clear()


def injected_styles(page: Page) -> list[str]:
    """<style> elements a script added (plotly.js, htmx): the policy refuses their rules."""
    return page.eval_on_selector_all("style", "els => els.map(e => e.outerHTML.slice(0, 120))")


def log_in(watcher: Watcher, live_server, user, password: str) -> None:
    watcher.visit(reverse("login"), live_server=live_server, expect_status=200)
    page = watcher.page
    page.get_by_label(re.compile("username", re.I)).fill(user.username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("load")
    watcher.settle()
    watcher.check("after login", 200)


@pytest.mark.parametrize("role", ["csm", "manager", "admin_role"])
def test_every_page_runs_under_the_policy_without_a_violation(
    request, live_server, browser: Browser, history, time_machine, password, role: str
) -> None:
    # The history froze the clock; the browser's session needs it to run.
    time_machine.move_to(at(TODAY, dt.time(9, 0)), tick=True)
    user = request.getfixturevalue(f"{role}_user")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watcher = Watcher(page)

    log_in(watcher, live_server, user, password)
    shown = 0
    for name, url in pages_to_visit(history):
        status = watcher.visit(url, live_server=live_server)
        assert status < 500, url
        shown += status == 200
        if role == "admin_role" and name in SCREENSHOTS and status == 200:
            page.screenshot(path=f"{SHOTS}/csp-{SCREENSHOTS[name]}.png", full_page=True)
    watcher.visit("/no-such-page/", live_server=live_server, expect_status=404)
    if role == "csm":
        watcher.visit(reverse("tokens:list"), live_server=live_server, expect_status=403)
    context.close()

    assert watcher.problems == []
    assert shown >= {"csm": 15, "manager": 20, "admin_role": 60}[role], shown


def test_charts_and_bars_are_drawn_under_the_policy(
    live_server, browser: Browser, history, time_machine, admin_role_user, password
) -> None:
    """Not only quiet: the account page's trend and sub-score bars, the journey's band bars
    and the weekly review's charts are there and have their size."""
    time_machine.move_to(at(TODAY, dt.time(9, 0)), tick=True)
    # The account's stored scores with a sub-score per measure (the factory stores none).
    for score in HealthScore.objects.filter(account=history["pk"]).select_related("version"):
        n = n_measures(score.version)
        score.details = {"raw": [2.5] * n, "sub": [(15 + 23 * i) % 100 for i in range(n)]}
        score.save(update_fields=["details"])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watcher = Watcher(page)
    log_in(watcher, live_server, admin_role_user, password)

    watcher.visit(url_of("accounts:detail", history), live_server=live_server)
    assert page.locator(".js-plotly-plot .main-svg").count() >= 1
    page.locator(".breakdown-table").first.scroll_into_view_if_needed()
    page.screenshot(path=f"{SHOTS}/csp-account-breakdown.png", full_page=True)
    widths = page.eval_on_selector_all(
        ".subbar__fill", "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert len(widths) > 1 and len(set(widths)) > 1, widths  # drawn, at their own lengths
    # plotly.css is in force (plotly.js injected nothing): its plots' SVG sits absolutely.
    assert (
        page.evaluate(
            "getComputedStyle(document.querySelector('.js-plotly-plot .main-svg')).position"
        )
        == "absolute"
    )
    assert injected_styles(page) == []

    watcher.visit(url_of("accounts:journey", history), live_server=live_server)
    grows = page.eval_on_selector_all(
        ".band-bar__segment", "els => els.map(e => [e.dataset.grow, e.style.flexGrow])"
    )
    assert grows and all(data == style for data, style in grows), grows

    watcher.visit(url_of("scoring:weekly", history), live_server=live_server)
    assert page.locator(".js-plotly-plot .main-svg").count() >= 1
    assert injected_styles(page) == []

    # The lockouts page with someone locked out, at a desktop's width and a phone's.
    for _ in range(5):
        Client().post(
            reverse("login"),
            {"username": "a-rather-long-username-someone-mistyped@example.com", "password": "x"},
            REMOTE_ADDR="2001:db8:85a3::8a2e:370:7334",
        )
    watcher.visit(reverse("audit:lockouts"), live_server=live_server)
    assert page.get_by_role("button", name="Unlock").count() == 2
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{SHOTS}/csp-lockouts-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()

    assert watcher.problems == []


def test_the_django_admin_and_the_api_docs_run_under_it_too(
    live_server, browser: Browser, admin_user
) -> None:
    """Django's admin (superusers) and the API's Swagger page are pages too."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # Django's admin pages link no icon, so Chromium asks for /favicon.ico, which the app
    # does not serve (its pages carry theirs inline): a 404 in the console, not the policy's.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    watcher = Watcher(page)
    watcher.visit(reverse("admin:login"), live_server=live_server, expect_status=200)
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")  # pytest-django's admin_user
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state("load")

    for url in (
        reverse("admin:index"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_change", args=[admin_user.pk]),
        reverse("admin:accounts_auditevent_changelist"),
        reverse("api:openapi-view"),
    ):
        assert watcher.visit(url, live_server=live_server) == 200, url
    context.close()

    assert watcher.problems == []
