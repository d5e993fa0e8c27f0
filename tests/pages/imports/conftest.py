"""Fixtures of the import pages' tests: uploads land in a temporary directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR
