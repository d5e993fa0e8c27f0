"""Uploading a file as the upload form does."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse


def upload(client, kind: str, text: str, name: str = "file.csv", **choices):
    """POST a file to the upload page, as the form does. Signals files without a source
    column come from "crm" unless told otherwise."""
    if kind == "signals":
        choices.setdefault("source", "crm")
    data = {
        "kind": kind,
        "file": SimpleUploadedFile(name, text.encode(), content_type="text/csv"),
        **{k: "on" if v is True else v for k, v in choices.items() if v is not False},
    }
    return client.post(reverse("imports:upload"), data)
