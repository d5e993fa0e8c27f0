"""What can go wrong in an import, in words the person who sent the file can act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class RowError:
    """One problem with one row: its spreadsheet row number (the header is row 1), the
    column as the file names it, and why."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.reason}"


class ImportRefused(ValueError):
    """The whole file (or batch) cannot be imported; nothing was written. The message says
    why and what to do."""


class FileRefused(ImportRefused):
    """The file cannot be read: empty, too large, too many rows, an unknown encoding …"""


class MappingError(ImportRefused):
    """The columns do not match the kind: a required column is missing, a column is named
    twice, an explicit mapping names a column the file lacks."""


class TooManyErrors(ImportRefused):
    """More bad rows than IMPORT_MAX_ERRORS: the file is most likely mis-read (wrong
    delimiter, decimal or date format, mapping), so reading stops there."""
