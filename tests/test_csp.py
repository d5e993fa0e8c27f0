"""The Content-Security-Policy: enforced on every answer, strict (no inline script or style),
and the templates hold nothing it would refuse. That every page then runs in Chromium
without a violation: tests/pages/test_csp_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# E-mails are read in mail clients, which ignore the page's policy and need inline styles.
NOT_PAGES = {"email"}


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = [part.strip().split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


@pytest.mark.django_db
def test_the_login_page_is_served_with_the_strict_policy_enforced(client) -> None:
    response = client.get(reverse("login"))

    assert "Content-Security-Policy-Report-Only" not in response.headers
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]


def test_no_directive_allows_inline_code_or_eval() -> None:
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    loose = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "https:"}
    for name in ("default-src", "script-src", "style-src"):
        assert not loose & set(directives[name]), name
    assert not getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)


def test_signed_in_pages_and_error_pages_carry_it_too(csm_client) -> None:
    for url in (reverse("home"), "/no-such-page/"):
        response = csm_client.get(url)
        assert policy(response)["script-src"] == ["'self'"], url


def page_templates() -> list[Path]:
    return [
        path
        for path in sorted(TEMPLATES.rglob("*.html"))
        if path.relative_to(TEMPLATES).parts[0] not in NOT_PAGES
    ]


INLINE = [
    ("a style attribute", re.compile(r"\sstyle\s*=", re.I)),
    ("an inline event handler", re.compile(r"\son[a-z]+\s*=", re.I)),
    ("a <style> element", re.compile(r"<style[\s>]", re.I)),
    ("an inline <script>", re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I)),
    ("hx-on (needs eval)", re.compile(r"\shx-on", re.I)),
]


@pytest.mark.parametrize("path", page_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_a_page_template_holds_nothing_the_policy_refuses(path: Path) -> None:
    text = path.read_text()
    # Comments are not sent to the browser.
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", text, flags=re.S)
    text = re.sub(r"{#.*?#}", "", text)
    found = [what for what, pattern in INLINE if pattern.search(text)]
    assert not found, f"{path.relative_to(TEMPLATES)}: {', '.join(found)}"


def test_plotly_finds_every_stylesheet_it_would_inject_already_linked() -> None:
    """plotly.js injects a <style> unless an element with the same id is in the document:
    after an update of the bundle, its ids must still be those the page links."""
    bundle = (Path(settings.BASE_DIR) / "static/vendor/plotly.min.js").read_text()
    linked = (TEMPLATES / "components/plotly_js.html").read_text()
    ids = set(re.findall(r'getElementById\("([0-9a-f]{64})"\)', bundle))
    ids.add("plotly.js-style-global")

    assert ids and all(f'id="{id_}"' in linked for id_ in ids), ids
    assert 'class="no-inline-styles"' in linked
