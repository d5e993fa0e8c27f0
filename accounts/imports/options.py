"""How to read and write one import: the person's choices and the configured limits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class ImportOptions:
    """The choices of the person importing (the upload form's fields, the command's flags).

    `decimal_comma=None` decides from the file: decimal commas when the delimiter is a
    semicolon (as Danish, Polish or Indonesian Excel writes them). `encoding` and
    `delimiter` are detected when None. `mapping` maps a field to the file's header for
    the columns whose names are not recognised ({"account": "Kunde-Nr."}); an empty header
    leaves the field unmapped."""

    skip_bad_rows: bool = False
    day_first: bool = False
    decimal_comma: bool | None = None
    create_missing: bool = False
    source: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ImportOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass(frozen=True)
class Limits:
    """The configured limits (settings IMPORT_*); each refusal names the one it hit."""

    max_bytes: int
    max_rows: int
    max_field_chars: int
    max_errors: int
    batch_rows: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_bytes=settings.IMPORT_MAX_FILE_BYTES,
            max_rows=settings.IMPORT_MAX_ROWS,
            max_field_chars=settings.IMPORT_MAX_FIELD_CHARS,
            max_errors=settings.IMPORT_MAX_ERRORS,
            batch_rows=settings.IMPORT_BATCH_ROWS,
        )
