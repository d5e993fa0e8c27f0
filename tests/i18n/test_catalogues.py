"""The translation catalogues: the committed .mo files are the .po files compiled (a fresh
machine needs no gettext), and the .po files hold every string the code marks (makemessages
would add nothing)."""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

from tests.conftest import require_service

ROOT = Path(settings.BASE_DIR)
LOCALES = [code for code, _name in settings.LANGUAGES if code != "en"]
# What makemessages reads: the code and the templates, not the tests or vendored files.
SOURCES = ("accounts", "scoring", "healthboard", "templates", "static/js", "manage.py")


def po_path(code: str) -> Path:
    return ROOT / "locale" / code / "LC_MESSAGES" / "django.po"


def po_catalog(po: polib.POFile) -> dict:
    """The .po file's translations keyed as Python's gettext keys a compiled catalogue:
    msgid, (msgid, n) for plural forms, "context\\x04msgid" with a context. Like msgfmt,
    untranslated and fuzzy entries are left out."""
    catalog: dict = {}
    for entry in po:
        if entry.obsolete or "fuzzy" in entry.flags or not entry.translated():
            continue
        msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt is not None else entry.msgid
        if entry.msgid_plural:
            for n, text in entry.msgstr_plural.items():
                catalog[(msgid, int(n))] = text
        else:
            catalog[msgid] = entry.msgstr
    return catalog


@pytest.mark.parametrize("code", LOCALES)
def test_the_compiled_catalogue_matches_its_po_file(code) -> None:
    po = polib.pofile(str(po_path(code)))
    with open(po_path(code).with_suffix(".mo"), "rb") as mo_file:
        compiled = dict(gettext.GNUTranslations(mo_file)._catalog)
    compiled.pop("", None)  # the header

    assert compiled == po_catalog(po), (
        f"locale/{code}/LC_MESSAGES/django.mo is not django.po compiled: run make compilemessages"
    )


@pytest.mark.parametrize("code", LOCALES)
def test_the_po_files_header_names_its_language_and_plural_forms(code) -> None:
    po = polib.pofile(str(po_path(code)))

    assert po.metadata["Language"] == code
    assert not po.metadata_is_fuzzy
    assert "nplurals=" in po.metadata["Plural-Forms"]


def ids(path: Path) -> set[tuple[str | None, str]]:
    """The (context, msgid) pairs a .po file holds."""
    return {(e.msgctxt, e.msgid) for e in polib.pofile(str(path)) if not e.obsolete}


def test_makemessages_finds_no_new_string(tmp_path) -> None:
    """makemessages, run on a copy of the code, finds exactly the committed msgids."""
    if not shutil.which("xgettext"):
        require_service("gettext", "xgettext is missing (apt-get install gettext)")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp_path / name)
    for code in LOCALES:
        target = tmp_path / "locale" / code / "LC_MESSAGES"
        target.mkdir(parents=True)
        shutil.copy2(po_path(code), target / "django.po")

    subprocess.run(
        [sys.executable, "manage.py", "makemessages", *(f"-l{code}" for code in LOCALES)]
        + ["--ignore=static/vendor", "--no-obsolete", "--add-location=file", "-v0"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DEBUG": "true"},
        check=True,
        capture_output=True,
    )

    for code in LOCALES:
        committed = ids(po_path(code))
        found = ids(tmp_path / "locale" / code / "LC_MESSAGES" / "django.po")
        assert found - committed == set(), f"{code}: new strings, run make messages"
        assert committed - found == set(), f"{code}: strings no longer in the code"


@pytest.mark.parametrize("code", LOCALES)
def test_every_string_is_translated_and_none_is_fuzzy(code) -> None:
    po = polib.pofile(str(po_path(code)))
    entries = [entry for entry in po if not entry.obsolete]
    untranslated = [entry.msgid for entry in entries if not entry.translated()]
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]

    assert entries
    assert untranslated == [], f"{code}: {len(untranslated)} untranslated, e.g. {untranslated[:3]}"
    assert fuzzy == [], f"{code}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:3]}"
