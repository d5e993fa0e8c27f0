"""The header at 1280 px as an Admin, in every language: the navigation stays on one line
(the admin pages under one "Admin" menu), and at 390 px the menu still opens and leads to
its pages. Screenshots in var/screenshots/nav-admin-<language>.png."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from tests.i18n.test_language_browser import choose, log_in, shot, words

pytestmark = pytest.mark.browser


def _rows(page: Page) -> int:
    """How many lines the navigation's top-level items take."""
    tops = page.locator("nav.site-nav > ul > li").evaluate_all(
        "items => items.map(item => Math.round(item.getBoundingClientRect().top))"
    )
    return len(set(tops))


def test_the_admin_header_fits_one_line_at_1280_px_in_every_language(
    live_server, page: Page, password, admin_role_user
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server.url, admin_role_user.username, password)
    for language in ("en", "id", "da", "pl"):
        choose(page, language)
        menu = page.locator("nav.site-nav details")
        with translation.override(language):
            admin = translation.pgettext("navigation menu", "Admin")
        expect(menu.locator("summary")).to_have_text(admin)
        assert _rows(page) == 1, language
        # The user's bar (name, role, links, language, log out) is one line too.
        bar = page.locator(".site-header__bar").bounding_box()
        assert bar is not None and bar["height"] < 70, (language, bar)
        menu.locator("summary").click()
        expect(menu.get_by_role("link", name=words(language, "Audit log"))).to_be_visible()
        shot(page, f"nav-admin-{language}")
        menu.locator("summary").click()


def test_the_admin_menu_works_in_a_390_px_window(
    live_server, page: Page, password, admin_role_user
) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, live_server.url, admin_role_user.username, password)
    choose(page, "pl")
    menu = page.locator("nav.site-nav details")
    menu.locator("summary").click()
    link = menu.get_by_role("link", name=words("pl", "Audit log"))
    expect(link).to_be_visible()
    box = link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(page, "nav-admin-pl-390")
    link.click()
    page.wait_for_url(f"**{reverse('audit:log')}")
    # The menu says which section the page is in.
    expect(page.locator("nav.site-nav summary")).to_have_attribute("aria-current", "true")
